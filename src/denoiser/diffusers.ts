// The Denoiser of a network written for diffusers (Hugging Face): it takes the VP sample and diffusers'
// 0-indexed discrete timestep, and predicts eps, x0 ("sample") or v. Built on predictionDenoiser, so the
// VP conversion is conversions.ts's; what is diffusers' own is the sigma -> timestep map (_sigma_to_t).
// The scheduler side (plans, sigma tables, sampling) is src/diffusers/.

import { dlog } from "../math/detmath.ts";
import { ArgumentError } from "../validate.ts";
import type { Denoiser } from "./contract.ts";
import type { Prediction } from "./conversions.ts";
import { predictionDenoiser } from "./wrappers.ts";

/** A network in diffusers' convention: (sample, timestep per item, batch) -> model output. */
export type DiffusersModel = (x: Float32Array, t: Float64Array, batch: number) => Float32Array;

/** What diffusersDenoiser reads of a plan (src/diffusers' DiffusersPlan has all of it). */
export interface DiffusersTimesteps {
  /** VE sigmas of the sampling run; sigmas[i] is called at timesteps[i]. */
  sigmas: Float64Array;
  /** diffusers' 0-indexed timestep for each of the first timesteps.length sigmas. */
  timesteps: Float64Array;
  /** diffusers' alphas_cumprod (index t = 0..T-1): other sigmas map to t by log-sigma interpolation. */
  alphasCumprod: Float64Array;
  prediction: Prediction;
  /** Clamp the x0 estimate to [-clip, clip] (clip_sample). */
  clip?: number;
}

/** diffusers' _sigma_to_t: linear interpolation in log sigma over the training table (t ascending). */
export function sigmaToT(sigma: number, logSigmas: Float64Array): number {
  const ls = dlog(Math.max(sigma, 1e-10));
  let low = 0;
  for (let i = 0; i < logSigmas.length; i++) if (ls - logSigmas[i] >= 0) low = i;
  low = Math.min(low, logSigmas.length - 2);
  const w = Math.min(1, Math.max(0, (logSigmas[low] - ls) / (logSigmas[low] - logSigmas[low + 1])));
  return (1 - w) * low + w * (low + 1);
}

/**
 * The Denoiser of a diffusers-convention model under a plan: x_in = x / sqrt(1 + sigma^2) (= alpha x;
 * diffusers' scale_model_input, or the VP sample), the plan's timestep for sigma (log-sigma
 * interpolation for other sigmas), and the prediction converted to x0, clipped if configured.
 */
export function diffusersDenoiser(plan: DiffusersTimesteps, model: DiffusersModel): Denoiser {
  if (typeof model !== "function") throw new ArgumentError("model", "must be a function (x, t, batch) => output");
  const tOf = new Map<number, number>();
  for (let i = 0; i < plan.timesteps.length; i++) tOf.set(plan.sigmas[i], plan.timesteps[i]);
  const logTable = Float64Array.from(plan.alphasCumprod, (a) => dlog(Math.sqrt((1 - a) / a)));
  return predictionDenoiser((x, t, batch) => model(x, t, batch), {
    prediction: plan.prediction,
    space: "vp",
    cNoise: (sigma) => tOf.get(sigma) ?? sigmaToT(sigma, logTable),
    clip: plan.clip,
  });
}
