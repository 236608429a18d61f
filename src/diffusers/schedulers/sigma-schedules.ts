// Inference sigma schedules diffusers' discrete schedulers build from the training table (numpy float64
// arithmetic, as diffusers computes them): Karras et al.'s rho-schedule, the exponential (log-uniform)
// schedule, Lu et al.'s uniform-lambda schedule, and the interpolation from a sigma back to a
// (fractional) training timestep.

import { dexp, dlog, dpow } from "../../math/detmath.ts";
import { npLinspace } from "./numpy.ts";

/**
 * Karras et al. 2022 (EDM) eq. 5: sigma_i = (sigma_max^(1/rho) + i/(n-1) (sigma_min^(1/rho) -
 * sigma_max^(1/rho)))^rho, descending from sigmaMax to sigmaMin (diffusers' _convert_to_karras).
 */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, n: number, rho = 7): Float64Array {
  const ramp = npLinspace(0, 1, n);
  const lo = dpow(sigmaMin, 1 / rho);
  const hi = dpow(sigmaMax, 1 / rho);
  return ramp.map((r) => dpow(hi + r * (lo - hi), rho));
}

/** exp(linspace(log sigmaMax, log sigmaMin, n)): uniform steps in log sigma (diffusers' _convert_to_exponential). */
export function exponentialSigmas(sigmaMin: number, sigmaMax: number, n: number): Float64Array {
  return npLinspace(dlog(sigmaMax), dlog(sigmaMin), n).map((v) => dexp(v));
}

/**
 * Lu et al. 2022 (DPM-Solver, sec. 3.3): steps uniform in lambda = -log sigma. diffusers'
 * _convert_to_lu takes the ends from the float32 log-sigma table (lambdaMax = its largest log sigma) and
 * returns exp of the float64 linspace between them.
 */
export function luSigmas(logSigmaMin: number, logSigmaMax: number, n: number): Float64Array {
  return npLinspace(logSigmaMax, logSigmaMin, n).map((v) => dexp(v));
}

/** The float32 log of a float32 sigma table, as np.log of a float32 array gives it. */
export function logSigmaTable(sigmas: Float32Array): Float64Array {
  return Float64Array.from(sigmas, (s) => Math.fround(dlog(s)));
}

/**
 * diffusers' _sigma_to_t: the fractional timestep whose table log sigma is log(sigma), by linear
 * interpolation in log sigma between the two neighbouring entries of the ascending `logSigmas`,
 * clamped to the table's ends.
 */
export function sigmaToT(sigma: number, logSigmas: ArrayLike<number>): number {
  const ls = dlog(Math.max(sigma, 1e-10));
  const n = logSigmas.length;
  // the last index whose log sigma is <= log(sigma) (0 when there is none), at most n - 2
  let lo = 0;
  for (let i = 0; i < n; i++) if (ls - logSigmas[i] >= 0) lo = i;
  lo = Math.min(lo, n - 2);
  const low = logSigmas[lo];
  const high = logSigmas[lo + 1];
  const w = Math.min(1, Math.max(0, (low - ls) / (low - high)));
  return (1 - w) * lo + w * (lo + 1);
}
