// The sigma tables of diffusers' flow-matching schedulers (FlowMatchEulerDiscrete, FlowMatchHeunDiscrete):
// the training table, the SD3 shift, resolution-dependent ("dynamic") shifting, LTX-Video's terminal
// stretch, and the Karras / exponential / beta re-spacings, each with the arithmetic diffusers uses
// (numpy float64 on its own tables, float32 where it works on float32 arrays), so a table here equals
// diffusers' element for element after the final float32 cast.

import { dexp, dlog } from "../../math/detmath.ts";
import { ArgumentError } from "../../validate.ts";
import { npLinspace } from "./numpy.ts";

const fround = Math.fround;
const same = (x: number): number => x;

/** How a table is rounded: float64 (numpy on float64 arrays) or float32 (numpy/torch on float32 arrays). */
export type Rounding = (x: number) => number;
export const F64: Rounding = same;
export const F32: Rounding = fround;

/**
 * SD3's timestep shift (Esser et al. 2024, sec. 5.3.2): sigma' = s sigma / (1 + (s - 1) sigma), which moves
 * the sigmas towards 1 for s > 1 (more steps at high noise for larger images). Each operation rounded by `r`.
 */
export function shiftSigma(sigma: number, shift: number, r: Rounding = F64): number {
  return r(r(r(shift) * sigma) / r(1 + r(r(shift - 1) * sigma)));
}

/**
 * Resolution-dependent shifting (Esser et al. 2024, sec. 5.3.2; FLUX): "exponential" is
 * e^mu / (e^mu + (1/t - 1)), "linear" is mu / (mu + (1/t - 1)) (diffusers' time_shift with sigma = 1).
 */
export function timeShift(kind: "exponential" | "linear", mu: number, t: number, r: Rounding = F64): number {
  const m = kind === "exponential" ? Math.exp(mu) : mu;
  return r(r(m) / r(r(m) + r(r(1 / t) - 1)));
}

/**
 * mu for an image of `imageSeqLen` latent tokens: linear from base_shift at base_image_seq_len to
 * max_shift at max_image_seq_len (diffusers' pipelines' calculate_shift, which feeds set_timesteps(mu)).
 */
export function calculateShift(imageSeqLen: number, baseSeqLen = 256, maxSeqLen = 4096, baseShift = 0.5, maxShift = 1.15): number {
  if (!(maxSeqLen !== baseSeqLen)) throw new ArgumentError("max_image_seq_len", `must differ from base_image_seq_len (${baseSeqLen})`);
  const m = (maxShift - baseShift) / (maxSeqLen - baseSeqLen);
  const b = baseShift - m * baseSeqLen;
  return imageSeqLen * m + b;
}

/** LTX-Video's stretch: scale 1 - sigma so the last sigma becomes `terminal` (diffusers' stretch_shift_to_terminal). */
export function stretchToTerminal(sigmas: Float64Array, terminal: number, r: Rounding = F64): Float64Array {
  const n = sigmas.length;
  const scale = r(r(1 - sigmas[n - 1]) / r(1 - terminal));
  return sigmas.map((s) => r(1 - r(r(1 - s) / scale)));
}

/** Karras et al. 2022 eq. 5 between the table's ends (rho = 7), numpy float64. */
export function karrasRespace(sigmas: Float64Array, n: number): Float64Array {
  const rho = 7;
  const lo = Math.pow(sigmas[sigmas.length - 1], 1 / rho);
  const hi = Math.pow(sigmas[0], 1 / rho);
  return npLinspace(0, 1, n).map((u) => Math.pow(hi + u * (lo - hi), rho));
}

/** Log-uniform between the table's ends (diffusers' _convert_to_exponential), numpy float64. */
export function exponentialRespace(sigmas: Float64Array, n: number): Float64Array {
  return npLinspace(dlog(sigmas[0]), dlog(sigmas[sigmas.length - 1]), n).map((v) => dexp(v));
}

/**
 * "Beta sampling" (Lee et al. 2024, arXiv:2407.12173): sigma_i = min + ppf(1 - i/(n-1)) (max - min) with
 * the Beta(0.6, 0.6) quantile function (diffusers' _convert_to_beta, which calls scipy).
 */
export function betaRespace(sigmas: Float64Array, n: number, a = 0.6, b = 0.6): Float64Array {
  const lo = sigmas[sigmas.length - 1];
  const hi = sigmas[0];
  return npLinspace(0, 1, n).map((u) => lo + betaPpf(1 - u, a, b) * (hi - lo));
}

/** ln Gamma(x) for x > 0 (Lanczos, g = 7, 9 terms; relative error below 1e-15 here). */
function lnGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lnGamma(1 - x);
  x -= 1;
  let s = c[0];
  for (let i = 1; i < 9; i++) s += c[i] / (x + i);
  const t = x + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(s);
}

/** The continued fraction of the incomplete beta function (modified Lentz). */
function betaFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  d = 1 / (Math.abs(d) < tiny ? tiny : d);
  let f = d;
  for (let m = 1; m <= 500; m++) {
    for (const num of [(m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m)), (-(a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1))]) {
      d = 1 + num * d;
      d = 1 / (Math.abs(d) < tiny ? tiny : d);
      c = 1 + num / c;
      if (Math.abs(c) < tiny) c = tiny;
      f *= c * d;
    }
    if (Math.abs(c * d - 1) < 1e-16) break;
  }
  return f;
}

/** The regularized incomplete beta function I_x(a, b). */
export function betaCdf(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lnFront = lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log1p(-x);
  // the fraction converges fast for x < (a + 1) / (a + b + 2); use the symmetry I_x(a, b) = 1 - I_{1-x}(b, a) beyond
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(lnFront) * betaFraction(x, a, b)) / a;
  return 1 - (Math.exp(lnFront) * betaFraction(1 - x, b, a)) / b;
}

/** The Beta(a, b) quantile: bisection on the (increasing) CDF to the last bit of float64. */
export function betaPpf(q: number, a: number, b: number): number {
  if (q <= 0) return 0;
  if (q >= 1) return 1;
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 200; i++) {
    const mid = 0.5 * (lo + hi);
    if (mid <= lo || mid >= hi) break;
    if (betaCdf(mid, a, b) < q) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}
