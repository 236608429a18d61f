// The alternative sigma spacings diffusers' discrete schedulers offer (use_karras_sigmas,
// use_exponential_sigmas, use_beta_sigmas, use_flow_sigmas) and the map back from a sigma to a
// fractional training timestep (_sigma_to_t), in numpy's float64 as diffusers computes them. The range
// is the whole training table [sigma(t = 0), sigma(t = T - 1)], as diffusers takes it.

import { dexp, dlog, dpow } from "../../math/detmath.ts";
import { npLinspace } from "./numpy.ts";

/** Karras et al. 2022 (EDM) eq. 5, rho = 7: n sigmas from sigmaMax down to sigmaMin, equally spaced in sigma^(1/rho). */
export function karrasSpacing(sigmaMin: number, sigmaMax: number, n: number, rho = 7): Float64Array {
  const ramp = npLinspace(0, 1, n);
  const lo = dpow(sigmaMin, 1 / rho);
  const hi = dpow(sigmaMax, 1 / rho);
  return ramp.map((r) => dpow(hi + r * (lo - hi), rho));
}

/** n sigmas from sigmaMax to sigmaMin equally spaced in log sigma. */
export function exponentialSpacing(sigmaMin: number, sigmaMax: number, n: number): Float64Array {
  return npLinspace(dlog(sigmaMax), dlog(sigmaMin), n).map((l) => dexp(l));
}

/**
 * "Beta Sampling is All You Need" (Lee et al. 2024): sigma_i = sigmaMin + ppf(1 - i / (n - 1)) (sigmaMax -
 * sigmaMin), ppf the quantile function of Beta(alpha, beta) (diffusers: 0.6, 0.6).
 */
export function betaSpacing(sigmaMin: number, sigmaMax: number, n: number, alpha = 0.6, beta = 0.6): Float64Array {
  return npLinspace(0, 1, n).map((u) => sigmaMin + betaPpf(1 - u, alpha, beta) * (sigmaMax - sigmaMin));
}

/**
 * Rectified-flow sigmas with a shift (SD3, Esser et al. 2024 eq. 23): s = 1 - linspace(1, 1/T, n + 1),
 * shifted s' = shift s / (1 + (shift - 1) s), reversed, the last (0) dropped: n values, descending.
 */
export function flowSpacing(numTrain: number, n: number, shift: number): Float64Array {
  const alphas = npLinspace(1, 1 / numTrain, n + 1);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = 1 - alphas[n - i];
    out[i] = (shift * s) / (1 + (shift - 1) * s);
  }
  return out;
}

/**
 * diffusers' _sigma_to_t: the fractional timestep whose log sigma interpolates `sigma` linearly between
 * the two neighbouring entries of logSigmas (ascending in t), clamped to the table.
 */
export function sigmaToT(sigma: number, logSigmas: ArrayLike<number>): number {
  const ls = dlog(Math.max(sigma, 1e-10));
  const n = logSigmas.length;
  // low = the last index whose log sigma is <= ls (0 when none), at most n - 2
  let low = 0;
  for (let i = 0; i < n; i++) if (ls - logSigmas[i] >= 0) low = i;
  low = Math.min(low, n - 2);
  const lo = logSigmas[low];
  const hi = logSigmas[low + 1];
  const w = Math.min(1, Math.max(0, (lo - ls) / (lo - hi)));
  return (1 - w) * low + w * (low + 1);
}

// ---- the Beta distribution's quantile function (scipy.stats.beta.ppf), in float64 ----

/** log Gamma(x) for x > 0: Lanczos' approximation (g = 7, 9 terms), relative error ~1e-15. */
function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
    -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return dlog(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let s = c[0];
  for (let i = 1; i < 9; i++) s += c[i] / (z + i);
  const t = z + 7.5;
  return 0.5 * dlog(2 * Math.PI) + (z + 0.5) * dlog(t) - t + dlog(s);
}

/** The continued fraction of the incomplete beta function (modified Lentz), for x < (a + 1) / (a + b + 2). */
function betaFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let f = d;
  for (let m = 1; m <= 10_000; m++) {
    const m2 = 2 * m;
    let num = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + num * d;
    c = 1 + num / c;
    if (Math.abs(d) < tiny) d = tiny;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    f *= d * c;
    num = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + num * d;
    c = 1 + num / c;
    if (Math.abs(d) < tiny) d = tiny;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return f;
}

/** The regularized incomplete beta function I_x(a, b). */
export function betaCdf(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lnFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * dlog(x) + b * dlog(1 - x);
  if (x < (a + 1) / (a + b + 2)) return (dexp(lnFront) * betaFraction(x, a, b)) / a;
  return 1 - (dexp(lnFront) * betaFraction(1 - x, b, a)) / b;
}

/** The quantile of Beta(a, b) at q in [0, 1], by bisection to the last bit. */
export function betaPpf(q: number, a: number, b: number): number {
  if (q <= 0) return 0;
  if (q >= 1) return 1;
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 2000; i++) {
    const mid = 0.5 * (lo + hi);
    if (mid <= lo || mid >= hi) break;
    if (betaCdf(mid, a, b) < q) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}
