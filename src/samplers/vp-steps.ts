// DDPM and DDIM steps in VP sample space (x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps), with PyTorch's
// float32 arithmetic: every scalar and every elementwise operation rounds to float32 in the order
// diffusers' schedulers write them, so a scheduler built on these agrees with diffusers to float32
// rounding. The library's VE samplers (sampleDdim, sampleDdpm in ancestral.ts) take the same steps
// divided by sqrt(abar_prev); the VP form is kept for the diffusers facade because it also covers
// abar_t = 0 (zero terminal SNR, Lin et al. 2023), where the VE sample x / sqrt(abar_t) does not exist.
//
// Coefficients are per item (arrays of length batch), so a step with one timestep and a batch step with
// one timestep per item (ParaDiGMS' batch_step_no_noise) are the same code.

import { dexp, dlog } from "../math/detmath.ts";
import { ArgumentError } from "../validate.ts";

const fround = Math.fround;

/** What a VP network predicts, in diffusers' names. */
export type VpPrediction = "epsilon" | "sample" | "v_prediction";

/** sqrt in float32 (torch's `x ** 0.5` on a float32 tensor is its sqrt, correctly rounded). */
export const sqrtF32 = (v: number): number => fround(Math.sqrt(fround(v)));

/**
 * x0 and eps from a model output at abar (one per item): DDIM (Song et al. 2021) eq. 12's
 * "predicted x0" for epsilon, the identity for sample, and v = sqrt(abar) eps - sqrt(1 - abar) x0
 * (Salimans & Ho 2022) for v_prediction, in diffusers' float32 operation order. This is conversions.ts's
 * linear map written as PyTorch evaluates it, so results match diffusers' bit for bit.
 */
export function vpX0Eps(kind: VpPrediction, m: Float32Array, x: Float32Array, abar: ArrayLike<number>): { x0: Float32Array; eps: Float32Array } {
  const batch = abar.length;
  const n = x.length / batch;
  const x0 = new Float32Array(x.length);
  const eps = new Float32Array(x.length);
  for (let b = 0; b < batch; b++) {
    const sa = sqrtF32(abar[b]);
    const sb = sqrtF32(fround(1 - abar[b]));
    for (let j = b * n; j < (b + 1) * n; j++) {
      if (kind === "epsilon") {
        x0[j] = fround(fround(x[j] - fround(sb * m[j])) / sa);
        eps[j] = m[j];
      } else if (kind === "sample") {
        x0[j] = m[j];
        eps[j] = fround(fround(x[j] - fround(sa * m[j])) / sb);
      } else {
        x0[j] = fround(fround(sa * x[j]) - fround(sb * m[j]));
        eps[j] = fround(fround(sa * m[j]) + fround(sb * x[j]));
      }
    }
  }
  return { x0, eps };
}

/** eps re-derived from a (clipped) x0: (x - sqrt(abar) x0) / sqrt(1 - abar), DDIM's use_clipped_model_output. */
export function vpEpsFromX0(x0: Float32Array, x: Float32Array, abar: ArrayLike<number>): Float32Array {
  const batch = abar.length;
  const n = x.length / batch;
  const eps = new Float32Array(x.length);
  for (let b = 0; b < batch; b++) {
    const sa = sqrtF32(abar[b]);
    const sb = sqrtF32(fround(1 - abar[b]));
    for (let j = b * n; j < (b + 1) * n; j++) eps[j] = fround(fround(x[j] - fround(sa * x0[j])) / sb);
  }
  return eps;
}

/** Clamp x0 to [-range, range] in place (diffusers' clip_sample). */
export function clipX0(x0: Float32Array, range: number): Float32Array {
  const r = fround(range);
  for (let j = 0; j < x0.length; j++) x0[j] = Math.min(r, Math.max(-r, x0[j]));
  return x0;
}

/** torch.quantile(v, q) of a float32 vector: sort, rank q (n - 1) in float32, lerp as torch does. */
function quantileF32(sorted: Float32Array, q: number): number {
  const rank = fround(fround(q) * (sorted.length - 1));
  const lo = Math.floor(rank);
  const hi = Math.min(lo + 1, sorted.length - 1);
  const w = fround(rank - lo);
  const a = sorted[lo];
  const d = fround(sorted[hi] - a);
  // at::lerp: start + w (end - start) for w < 0.5, end - (end - start)(1 - w) otherwise
  return w < 0.5 ? fround(a + fround(w * d)) : fround(sorted[hi] - fround(d * fround(1 - w)));
}

/**
 * Dynamic thresholding (Saharia et al. 2022, "Imagen", sec. 2.3), in place: for each item, s = the
 * `ratio` quantile of |x0| over the item, clamped to [1, maxValue]; x0 is clamped to [-s, s] and
 * divided by s. Per item, so the batch size matters.
 */
export function thresholdX0(x0: Float32Array, batch: number, ratio: number, maxValue: number): Float32Array {
  const n = x0.length / batch;
  if (!Number.isInteger(n)) throw new ArgumentError("shape", `does not divide the ${x0.length} values into ${batch} items`);
  for (let b = 0; b < batch; b++) {
    const item = x0.subarray(b * n, (b + 1) * n);
    const sorted = Float32Array.from(item, Math.abs).sort();
    // torch.clamp(s, min=1, max=maxValue): the max is applied last
    const s = Math.min(fround(maxValue), Math.max(1, quantileF32(sorted, ratio)));
    for (let j = 0; j < n; j++) item[j] = fround(Math.min(s, Math.max(-s, item[j])) / s);
  }
  return x0;
}

/**
 * DDIM (Song et al. 2021) eq. 12 with sigma_t(eta) of eq. 16:
 * x_prev = sqrt(abar_prev) x0 + sqrt(1 - abar_prev - std^2) eps + std z, per item. `std` is eta times
 * the square root of ddimVariance; z may be null when every std is 0.
 */
export function ddimUpdateVp(x0: Float32Array, eps: Float32Array, abarPrev: ArrayLike<number>, std: ArrayLike<number>, z: Float32Array | null): Float32Array {
  const batch = abarPrev.length;
  const n = x0.length / batch;
  const out = new Float32Array(x0.length);
  for (let b = 0; b < batch; b++) {
    const s = fround(std[b]);
    const ca = sqrtF32(abarPrev[b]);
    const cd = sqrtF32(fround(fround(1 - abarPrev[b]) - fround(s * s)));
    for (let j = b * n; j < (b + 1) * n; j++) out[j] = fround(fround(ca * x0[j]) + fround(cd * eps[j]));
    if (s > 0) {
      if (z === null) throw new ArgumentError("noise", "is needed for a DDIM step with eta > 0");
      for (let j = b * n; j < (b + 1) * n; j++) out[j] = fround(out[j] + fround(s * z[j]));
    }
  }
  return out;
}

/** DDIM eq. 16's sigma_t^2 / eta^2 = (1 - abar_prev) / (1 - abar_t) (1 - abar_t / abar_prev), in float32. */
export function ddimVariance(abar: number, abarPrev: number): number {
  return fround(fround(fround(1 - abarPrev) / fround(1 - abar)) * fround(1 - fround(abar / abarPrev)));
}

/**
 * The DDPM posterior q(x_prev | x_t, x0) (Ho et al. 2020, eqs. 6-7) between two timesteps of a
 * (possibly strided) schedule: beta = 1 - abar_t / abar_prev; mean = sqrt(abar_prev) beta / (1 - abar_t)
 * x0 + sqrt(1 - beta) (1 - abar_prev) / (1 - abar_t) x_t; betaTilde = (1 - abar_prev) / (1 - abar_t)
 * beta. Per item; returns the mean.
 */
export function ddpmPosteriorMean(x0: Float32Array, x: Float32Array, abar: ArrayLike<number>, abarPrev: ArrayLike<number>): Float32Array {
  const batch = abar.length;
  const n = x.length / batch;
  const out = new Float32Array(x.length);
  for (let b = 0; b < batch; b++) {
    const bt = fround(1 - abar[b]);
    const alphaT = fround(abar[b] / abarPrev[b]);
    const betaT = fround(1 - alphaT);
    const c0 = fround(fround(sqrtF32(abarPrev[b]) * betaT) / bt);
    const ct = fround(fround(sqrtF32(alphaT) * fround(1 - abarPrev[b])) / bt);
    for (let j = b * n; j < (b + 1) * n; j++) out[j] = fround(fround(c0 * x0[j]) + fround(ct * x[j]));
  }
  return out;
}

/** DDPM's posterior variance betaTilde, clamped at 1e-20 as diffusers does, and the step's beta. */
export function ddpmVariances(abar: number, abarPrev: number): { betaTilde: number; beta: number } {
  const beta = fround(1 - fround(abar / abarPrev));
  const v = fround(fround(fround(1 - abarPrev) / fround(1 - abar)) * beta);
  return { betaTilde: Math.max(v, fround(1e-20)), beta };
}

/**
 * The DDPM reverse step's noise scale per element: fixed_small sqrt(betaTilde), fixed_large sqrt(beta)
 * (Ho et al. 2020 sec. 3.2), fixed_small_log exp(log(betaTilde) / 2), and the learned variances of
 * improved DDPM (Nichol & Dhariwal 2021, eq. 15): "learned" reads the variance itself from the
 * network, "learned_range" interpolates log variance between betaTilde and beta with v in [-1, 1].
 * Adds std * z to `mean` in place.
 */
export function ddpmAddNoise(
  mean: Float32Array,
  z: Float32Array,
  variance: "fixed_small" | "fixed_small_log" | "fixed_large" | "learned" | "learned_range",
  v: { betaTilde: number; beta: number },
  predictedVariance: Float32Array | null,
): Float32Array {
  let std = 0;
  if (variance === "fixed_small") std = sqrtF32(v.betaTilde);
  else if (variance === "fixed_large") std = sqrtF32(v.beta);
  else if (variance === "fixed_small_log") std = fround(dexp(fround(0.5 * fround(dlog(v.betaTilde)))));
  if (variance === "learned" || variance === "learned_range") {
    if (predictedVariance === null) throw new ArgumentError("modelOutput", `must carry the predicted variance channels for variance_type "${variance}"`);
    const minLog = fround(dlog(v.betaTilde));
    const maxLog = fround(dlog(v.beta));
    for (let j = 0; j < mean.length; j++) {
      const p = predictedVariance[j];
      let s: number;
      if (variance === "learned") s = sqrtF32(p);
      else {
        const frac = fround(fround(p + 1) / 2);
        s = fround(dexp(fround(0.5 * fround(fround(frac * maxLog) + fround(fround(1 - frac) * minLog)))));
      }
      mean[j] = fround(mean[j] + fround(s * z[j]));
    }
    return mean;
  }
  for (let j = 0; j < mean.length; j++) mean[j] = fround(mean[j] + fround(std * z[j]));
  return mean;
}
