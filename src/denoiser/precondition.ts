// How a network F becomes a Denoiser, and what it is trained to output: the preconditioning of EDM
// (Karras et al. 2022, eq. 7 and Table 1) written for every parameterization,
//
//   D(x; sigma) = c_skip(sigma) x + c_out(sigma) F(c_in(sigma) x; c_noise(sigma))
//
// in VE space x = x0 + sigma n. The loss uses the same coefficients: F's regression target is
// (x0 - c_skip x) / c_out, so training and sampling cannot drift apart.
//
// A VP model (eps, x0 or v) sees x_vp = alpha x, alpha = 1/sqrt(1 + sigma^2), and its output converts to
// x0 = cx x_vp + cp F (conversions.ts, vpToX0): c_in = alpha, c_skip = cx alpha, c_out = cp. For eps that
// is x0 = x - sigma eps; for v, x0 = alpha x_vp - sigma_vp v (Salimans & Ho 2022).
// EDM:   c_skip = sd^2/(s^2+sd^2), c_out = s sd / sqrt(s^2+sd^2), c_in = 1/sqrt(s^2+sd^2), c_noise = ln(s)/4.
// A VP model's c_noise is its time t: the discrete timestep (1..T) or continuous t at that log-SNR.
// A flow model (rectified flow, velocity v = eps - x0) sees x_t = x / (1 + sigma) at t = sigma / (1 + sigma)
// and x0 = x_t - t v: c_in = 1 / (1 + sigma), c_skip = c_in, c_out = -t, c_noise = t. Its loss target
// (x0 - c_skip x) / c_out is then eps - x0, the flow-matching regression (Lipman et al. 2023; SD3).

import { dlog } from "../math/detmath.ts";
import type { Schedule } from "../schedule/types.ts";
import { ArgumentError, oneOf, positive } from "../validate.ts";
import { flowToX0, vpToX0 } from "./conversions.ts";

export type Parameterization = "eps" | "x0" | "v" | "edm" | "flow";
export const PARAMETERIZATIONS: readonly Parameterization[] = ["eps", "x0", "v", "edm", "flow"];

export interface Coefficients {
  cSkip: number;
  cOut: number;
  cIn: number;
  cNoise: number;
}

export interface Preconditioner {
  readonly parameterization: Parameterization;
  /** The coefficients at a VE-space sigma > 0. */
  at(sigma: number): Coefficients;
  /** Smallest and largest sigma the model is trained on. */
  readonly sigmaMin: number;
  readonly sigmaMax: number;
  /** Description for checkpoints. */
  toJSON(): object;
}

/** A VP parameterization (eps, x0 or v) over a VP schedule whose time becomes c_noise. */
export function vpPreconditioner(parameterization: "eps" | "x0" | "v", schedule: Schedule): Preconditioner {
  oneOf("parameterization", parameterization, ["eps", "x0", "v"] as const);
  if (!schedule.variancePreserving) throw new ArgumentError("schedule", `must be variance-preserving for ${parameterization}, got ${schedule.name}`);
  const tLo = schedule.discrete ? 1 : schedule.tMin + 1e-3 * (schedule.tMax - schedule.tMin);
  const sMin = schedule.sigma(tLo) / schedule.alpha(tLo);
  const sMax = schedule.sigma(schedule.tMax) / schedule.alpha(schedule.tMax);
  return {
    parameterization,
    sigmaMin: sMin,
    sigmaMax: sMax,
    at(sigma: number): Coefficients {
      positive("sigma", sigma);
      const { alpha, cx, cp } = vpToX0(parameterization, sigma);
      return { cSkip: cx * alpha, cOut: cp, cIn: alpha, cNoise: schedule.tOfLogSnr(-2 * dlog(sigma)) };
    },
    toJSON: () => ({ parameterization, schedule: schedule.name }),
  };
}

/** EDM preconditioning with data standard deviation sigmaData. */
export function edmPreconditioner(sigmaData = 0.5, sigmaMin = 0.002, sigmaMax = 80): Preconditioner {
  positive("sigmaData", sigmaData);
  positive("sigmaMin", sigmaMin);
  if (!(sigmaMax > sigmaMin)) throw new ArgumentError("sigmaMax", `must be > sigmaMin (${sigmaMin}), got ${sigmaMax}`);
  const sd2 = sigmaData * sigmaData;
  return {
    parameterization: "edm",
    sigmaMin,
    sigmaMax,
    at(sigma: number): Coefficients {
      positive("sigma", sigma);
      const s2 = sigma * sigma;
      const r = Math.sqrt(s2 + sd2);
      return { cSkip: sd2 / (s2 + sd2), cOut: (sigma * sigmaData) / r, cIn: 1 / r, cNoise: dlog(sigma) / 4 };
    },
    toJSON: () => ({ parameterization: "edm", sigmaData, sigmaMin, sigmaMax }),
  };
}

/**
 * A rectified-flow velocity model (x_t = (1 - t) x0 + t eps, v = eps - x0) trained on t in [tMin, tMax]:
 * the coefficients come from conversions.ts (flowToX0), c_noise is t itself.
 */
export function flowPreconditioner(tMin = 1e-3, tMax = 1 - 1e-3): Preconditioner {
  if (!(tMin > 0 && tMax < 1 && tMax > tMin)) throw new ArgumentError("tMax", `must satisfy 0 < tMin < tMax < 1, got tMin ${tMin}, tMax ${tMax}`);
  return {
    parameterization: "flow",
    sigmaMin: tMin / (1 - tMin),
    sigmaMax: tMax / (1 - tMax),
    at(sigma: number): Coefficients {
      positive("sigma", sigma);
      const { alpha, sigma: t, cx, cp } = flowToX0("flow", sigma);
      return { cSkip: cx * alpha, cOut: cp, cIn: alpha, cNoise: t };
    },
    toJSON: () => ({ parameterization: "flow", tMin, tMax }),
  };
}
