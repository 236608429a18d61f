// A diffusers-convention network as the library's Denoiser, so every library sampler runs on it: the
// network takes the VP sample x_vp = alpha x (alpha = 1 / sqrt(1 + sigma^2)) and diffusers' timestep,
// and predicts eps, x0 ("sample") or v per the scheduler config's prediction_type. The VP conversion is
// conversions.ts's (through predictionDenoiser); what is diffusers' own is the sigma -> timestep map
// over the training table (_sigma_to_t) and the x0 clipping / thresholding of the config.

import type { Denoiser } from "../denoiser/contract.ts";
import type { Prediction } from "../denoiser/conversions.ts";
import { predictionDenoiser } from "../denoiser/wrappers.ts";
import { dlog } from "../math/detmath.ts";
import { thresholdX0 } from "../samplers/vp-steps.ts";
import { ArgumentError } from "../validate.ts";
import { alphasOf, betasOf, cumprodF32, rescaleZeroTerminalSnrF32 } from "./schedulers/tables.ts";
import type { Scheduler } from "./schedulers/types.ts";

/** A network in diffusers' convention: (VP sample, timestep per item, batch) -> model output. */
export type DiffusersModel = (x: Float32Array, t: Float64Array, batch: number) => Float32Array;

/** The training alphas_cumprod of a discrete scheduler's config (float32 as PyTorch's). */
export function trainingAlphasCumprod(scheduler: Scheduler): Float32Array {
  const c = scheduler.config;
  if (typeof c.num_train_timesteps !== "number" || !("beta_schedule" in c)) {
    throw new ArgumentError("scheduler", `${scheduler.className} has no discrete beta table (num_train_timesteps, beta_schedule)`);
  }
  let betas = betasOf(c);
  if (c.rescale_betas_zero_snr === true) betas = rescaleZeroTerminalSnrF32(betas);
  return cumprodF32(alphasOf(betas));
}

/**
 * diffusers' _sigma_to_t: the timestep of a VE sigma by linear interpolation in log sigma over the
 * training table (logSigmas ascending with t); an integer timestep's own sigma gives that integer.
 */
export function sigmaToT(sigma: number, logSigmas: Float64Array): number {
  const ls = dlog(Math.max(sigma, 1e-10));
  let low = 0;
  for (let i = 0; i < logSigmas.length; i++) if (ls - logSigmas[i] >= 0) low = i;
  low = Math.min(low, logSigmas.length - 2);
  const w = Math.min(1, Math.max(0, (logSigmas[low] - ls) / (logSigmas[low] - logSigmas[low + 1])));
  return (1 - w) * low + w * (low + 1);
}

/** VE sigma of each training timestep, sqrt((1 - abar) / abar) in float64 from the float32 table. */
export function trainingSigmas(alphasCumprod: Float32Array): Float64Array {
  return Float64Array.from(alphasCumprod, (a) => Math.sqrt((1 - a) / a));
}

const PREDICTION: Record<string, Prediction> = { epsilon: "eps", sample: "x0", v_prediction: "v" };

/**
 * The Denoiser of `model` under `scheduler`'s config: prediction_type, the timestep of each sigma (the
 * exact integer for the training table's sigmas, diffusers' log-sigma interpolation between them), and
 * clip_sample / thresholding applied to the x0 estimate as the scheduler's step would.
 */
export function schedulerDenoiser(scheduler: Scheduler, model: DiffusersModel): Denoiser {
  if (typeof model !== "function") throw new ArgumentError("model", "must be a function (x, t, batch) => output");
  const c = scheduler.config;
  const prediction = PREDICTION[c.prediction_type as string];
  if (prediction === undefined) throw new ArgumentError("prediction_type", `must be epsilon, sample or v_prediction for a Denoiser, got ${String(c.prediction_type)}`);
  const sigmas = trainingSigmas(trainingAlphasCumprod(scheduler));
  const logTable = sigmas.map((s) => dlog(s));
  const exact = new Map<number, number>();
  sigmas.forEach((s, t) => exact.set(s, t));
  const clip = c.thresholding !== true && c.clip_sample === true ? (c.clip_sample_range as number) : undefined;
  const inner = predictionDenoiser((x, t, batch) => model(x, t, batch), {
    prediction,
    space: "vp",
    cNoise: (sigma) => exact.get(sigma) ?? sigmaToT(sigma, logTable),
    clip,
  });
  if (c.thresholding !== true) return inner;
  return (x, sigma, batch) => thresholdX0(inner(x, sigma, batch), batch, c.dynamic_thresholding_ratio as number, c.sample_max_value as number);
}

/**
 * The VE sigmas of a scheduler's current run, for the library's samplers: its own `sigmas` where it
 * has them, else sqrt((1 - abar_t) / abar_t) at each timestep and a closing 0 (call setTimesteps first).
 * Library samplers step from each timestep to the next, which is diffusers' DDIM step except where
 * DDIM's t - T // n is not the next timestep (trailing or linspace spacing with T % n != 0).
 */
export function schedulerSigmas(scheduler: Scheduler): Float64Array {
  if (scheduler.sigmas !== undefined) return Float64Array.from(scheduler.sigmas);
  const table = trainingSigmas(trainingAlphasCumprod(scheduler));
  const out = new Float64Array(scheduler.timesteps.length + 1);
  scheduler.timesteps.forEach((t, i) => (out[i] = table[t]));
  return out;
}
