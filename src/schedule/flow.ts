// The rectified-flow path (Liu et al. 2023, "Flow straight and fast"; Lipman et al. 2023, flow matching
// with the optimal-transport path; Esser et al. 2024, SD3): x_t = (1 - t) x0 + t eps, t in [0, 1], i.e.
// alpha(t) = 1 - t, sigma(t) = t. Neither variance preserving (alpha^2 + sigma^2 < 1 inside) nor
// exploding: it interpolates linearly from the data (t = 0) to pure noise (t = 1).
//
// In VE space (design.md sec. 1) the same point is x_ve = x_t / (1 - t) at sigma_ve = t / (1 - t), so
// t = sigma_ve / (1 + sigma_ve): every VE sampler runs a flow model, and t = 1 is sigma_ve = Infinity.

import { dexp, dlog } from "../math/detmath.ts";
import { ArgumentError, inRange } from "../validate.ts";
import type { Schedule } from "./types.ts";

/** alpha = 1 - t, sigma = t on [0, 1]; log SNR = 2 log((1 - t) / t), +Infinity at 0 and -Infinity at 1. */
export class RectifiedFlow implements Schedule {
  readonly name = "rectified-flow";
  readonly discrete = false;
  readonly variancePreserving = false;
  readonly tMin = 0;
  readonly tMax = 1;

  private checkT(t: number): number {
    return inRange("t", t, 0, 1);
  }
  alpha(t: number): number {
    return 1 - this.checkT(t);
  }
  sigma(t: number): number {
    return this.checkT(t);
  }
  logSnr(t: number): number {
    this.checkT(t);
    return 2 * (dlog(1 - t) - dlog(t));
  }
  /** The inverse in closed form: t = 1 / (1 + e^(lambda / 2)) (a logistic function of -lambda / 2). */
  tOfLogSnr(lambda: number): number {
    if (Number.isNaN(lambda)) throw new ArgumentError("lambda", "must not be NaN");
    if (lambda === Infinity) return 0;
    if (lambda === -Infinity) return 1;
    return 1 / (1 + dexp(0.5 * lambda));
  }
}

/** sigma_ve = t / (1 - t): the VE noise level of flow time t (Infinity at t = 1). */
export function flowVeSigma(t: number): number {
  inRange("t", t, 0, 1);
  return t === 1 ? Infinity : t / (1 - t);
}

/** t = sigma_ve / (1 + sigma_ve): the flow time of a VE noise level (1 at Infinity). */
export function flowTOfVeSigma(sigmaVe: number): number {
  if (Number.isNaN(sigmaVe) || sigmaVe < 0) throw new ArgumentError("sigmaVe", `must be >= 0, got ${sigmaVe}`);
  return sigmaVe === Infinity ? 1 : sigmaVe / (1 + sigmaVe);
}
