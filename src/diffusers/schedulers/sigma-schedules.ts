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

/** log Gamma(x) for x > 0 (Lanczos' approximation, g = 7, 9 terms; ~1e-15 relative). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  const z = x - 1;
  let s = c[0];
  for (let i = 1; i < 9; i++) s += c[i] / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(s);
}

/** The regularized incomplete beta function I_x(a, b), by its continued fraction (modified Lentz). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  // the fraction converges fast for x < (a + 1) / (a + b + 2); use the symmetry I_x(a, b) = 1 - I_{1-x}(b, a) above
  if (x > (a + 1) / (a + b + 2)) return 1 - incompleteBeta(1 - x, b, a);
  const front = Math.exp(a * Math.log(x) + b * Math.log1p(-x) - (logGamma(a) + logGamma(b) - logGamma(a + b))) / a;
  const tiny = 1e-300;
  let f = 1;
  let C = 1;
  let D = 0;
  for (let i = 0; i <= 400; i++) {
    const m = Math.floor(i / 2);
    let num: number;
    if (i === 0) num = 1;
    else if (i % 2 === 0) num = (m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m));
    else num = -((a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1));
    D = 1 + num * D;
    if (Math.abs(D) < tiny) D = tiny;
    D = 1 / D;
    C = 1 + num / C;
    if (Math.abs(C) < tiny) C = tiny;
    const cd = C * D;
    f *= cd;
    if (Math.abs(1 - cd) < 1e-16) break;
  }
  return front * (f - 1);
}

/** scipy.stats.beta.ppf(q, a, b): the q quantile of Beta(a, b), by bisection to the last bit. */
export function betaQuantile(q: number, a: number, b: number): number {
  if (q <= 0) return 0;
  if (q >= 1) return 1;
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 200; i++) {
    const mid = 0.5 * (lo + hi);
    if (mid === lo || mid === hi) break;
    if (incompleteBeta(mid, a, b) < q) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

/**
 * Lee et al. 2024 ("Beta Sampling is All You Need"), diffusers' _convert_to_beta: sigma_i = sigmaMin +
 * ppf(1 - i/(n-1); alpha, beta) (sigmaMax - sigmaMin), descending from sigmaMax to sigmaMin; more steps
 * at both ends of the schedule for alpha = beta = 0.6.
 */
export function betaSigmas(sigmaMin: number, sigmaMax: number, n: number, alpha = 0.6, beta = 0.6): Float64Array {
  return npLinspace(0, 1, n).map((r) => sigmaMin + betaQuantile(1 - r, alpha, beta) * (sigmaMax - sigmaMin));
}
