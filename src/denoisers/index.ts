// Wrappers that turn a network and its parameterization into a Denoiser (design.md sec. 1). They are
// network-agnostic: a model is any function of (input, noise input, batch[, cond]) -> output, so the
// training issue reuses them for its losses.

import type { Denoiser } from "../denoiser.ts";
import { dlog } from "../math/detmath.ts";
import { conversionCoefficients, PREDICTIONS, type Prediction } from "../param.ts";
import type { DiscreteSchedule } from "../schedule/discrete.ts";
import { edmPreconditioner } from "../train/precondition.ts";
import { ArgumentError, oneOf, positive } from "../validate.ts";

/** A network: input batch, one noise-conditioning value per item (t, c_noise, ...), batch, optional labels. */
export type Model = (x: Float32Array, cNoise: Float64Array, batch: number, cond?: Int32Array) => Float32Array;

/** A class-conditional denoiser; label -1 is the null (unconditional) class of classifier-free guidance. */
export type CondDenoiser = (x: Float32Array, sigma: Float64Array, batch: number, labels: Int32Array) => Float32Array;

function checkOut(out: Float32Array, n: number): Float32Array {
  if (!(out instanceof Float32Array) || out.length !== n) throw new ArgumentError("model", `must return a Float32Array of ${n} values`);
  return out;
}

export interface PredictionOptions {
  /** What the model predicts. */
  prediction: Prediction;
  /**
   * "vp": the model sees x_vp = alpha x with alpha = 1 / sqrt(1 + sigma^2) (DDPM-style networks);
   * "ve": it sees x itself (NCSN-style).
   */
  space: "vp" | "ve";
  /** The model's noise input for a VE sigma (e.g. the DDPM timestep, or log sigma / 4). */
  cNoise: (sigma: number) => number;
  /** Clamp the x0 estimate to [-clip, clip] (diffusers' clip_sample). */
  clip?: number;
}

/** A Denoiser from a network predicting eps, x0, v or the score, in VP or VE space (conversion in param.ts). */
export function predictionDenoiser(model: Model, opts: PredictionOptions): CondDenoiser & Denoiser {
  if (typeof model !== "function") throw new ArgumentError("model", "must be a function");
  oneOf("prediction", opts.prediction, PREDICTIONS);
  oneOf("space", opts.space, ["vp", "ve"] as const);
  if (typeof opts.cNoise !== "function") throw new ArgumentError("cNoise", "must be a function of sigma");
  if (opts.clip !== undefined) positive("clip", opts.clip);
  return (x: Float32Array, sigma: Float64Array, batch: number, labels?: Int32Array) => {
    const n = x.length / batch;
    const cn = new Float64Array(batch);
    const scale = new Float64Array(batch);
    const xin = opts.space === "vp" ? new Float32Array(x.length) : x;
    for (let b = 0; b < batch; b++) {
      cn[b] = opts.cNoise(sigma[b]);
      scale[b] = opts.space === "vp" ? 1 / Math.sqrt(1 + sigma[b] * sigma[b]) : 1;
      if (opts.space === "vp") for (let j = b * n; j < (b + 1) * n; j++) xin[j] = scale[b] * x[j];
    }
    const out = checkOut(model(xin, cn, batch, labels), x.length);
    const y = new Float32Array(x.length);
    for (let b = 0; b < batch; b++) {
      const alpha = scale[b];
      const s = opts.space === "vp" ? sigma[b] * alpha : sigma[b];
      // x0 = cx * x_in + cp * pred, in the model's space (x0 is the same in both spaces)
      const [cx, cp] = opts.prediction === "x0" ? [0, 1] : conversionCoefficients(opts.prediction, "x0", alpha, s);
      for (let j = b * n; j < (b + 1) * n; j++) {
        let v = cx * xin[j] + cp * out[j];
        if (opts.clip !== undefined) v = Math.max(-opts.clip, Math.min(opts.clip, v));
        y[j] = v;
      }
    }
    return y;
  };
}

/**
 * EDM (Karras et al. 2022) eq. 7 / Table 1 preconditioning: D(x, sigma) = c_skip x + c_out F(c_in x,
 * c_noise) with c_skip = sd^2 / (sigma^2 + sd^2), c_out = sigma sd / sqrt(sigma^2 + sd^2),
 * c_in = 1 / sqrt(sigma^2 + sd^2), c_noise = ln(sigma) / 4.
 */
export function edmDenoiser(model: Model, sigmaData = 0.5): CondDenoiser & Denoiser {
  if (typeof model !== "function") throw new ArgumentError("model", "must be a function");
  // the coefficients are the training loss's (src/train/precondition.ts), so the two cannot drift apart
  const pre = edmPreconditioner(sigmaData, Number.MIN_VALUE, Number.MAX_VALUE);
  return (x: Float32Array, sigma: Float64Array, batch: number, labels?: Int32Array) => {
    const n = x.length / batch;
    const xin = new Float32Array(x.length);
    const cn = new Float64Array(batch);
    const coefs = Array.from(sigma, (s) => (s > 0 ? pre.at(s) : { cSkip: 1, cOut: 0, cIn: 1 / sigmaData, cNoise: -Infinity }));
    for (let b = 0; b < batch; b++) {
      cn[b] = coefs[b].cNoise;
      for (let j = b * n; j < (b + 1) * n; j++) xin[j] = coefs[b].cIn * x[j];
    }
    const F = checkOut(model(xin, cn, batch, labels), x.length);
    const y = new Float32Array(x.length);
    for (let b = 0; b < batch; b++) {
      const { cSkip, cOut } = coefs[b];
      for (let j = b * n; j < (b + 1) * n; j++) y[j] = cSkip * x[j] + cOut * F[j];
    }
    return y;
  };
}

/**
 * A discrete-time DDPM network (t = 0..T-1 in diffusers' numbering, our t - 1) as a Denoiser: sigma is
 * mapped to the (fractional) timestep by log-sigma interpolation of the schedule (k-diffusion's
 * DiscreteSchedule.sigma_to_t; diffusers' _sigma_to_t), or rounded to the nearest with `round`.
 */
export function discreteDenoiser(
  model: Model,
  schedule: DiscreteSchedule,
  prediction: Prediction,
  opts: { round?: boolean; clip?: number } = {},
): CondDenoiser & Denoiser {
  const tOf = (sigma: number): number => {
    const t = schedule.tOfLogSnr(-2 * dlog(sigma)) - 1; // ours is 1-indexed
    const c = Math.max(0, t);
    return opts.round ? Math.round(c) : c;
  };
  return predictionDenoiser(model, { prediction, space: "vp", cNoise: tOf, clip: opts.clip });
}

/**
 * Classifier-free guidance (Ho & Salimans 2022, eq. 6 in x0 form): D = D_u + w (D_c - D_u), with the
 * conditional and unconditional passes batched as one call of 2B items (labels then the null label -1).
 * w = 1 is the conditional model, w = 0 the unconditional one.
 */
export function guidedDenoiser(model: CondDenoiser, labels: Int32Array, scale: number): Denoiser {
  if (typeof model !== "function" || model.length < 4) {
    throw new ArgumentError("model", "guidance needs a conditional model (x, sigma, batch, labels) => x0");
  }
  if (!(labels instanceof Int32Array)) throw new ArgumentError("labels", "must be an Int32Array of class labels (one per item)");
  if (!Number.isFinite(scale)) throw new ArgumentError("scale", `must be a finite number, got ${scale}`);
  return (x, sigma, batch) => {
    if (labels.length !== batch) throw new ArgumentError("labels", `must have one label per item (${batch}), got ${labels.length}`);
    const n = x.length;
    const x2 = new Float32Array(2 * n);
    x2.set(x);
    x2.set(x, n);
    const s2 = new Float64Array(2 * batch);
    s2.set(sigma);
    s2.set(sigma, batch);
    const l2 = new Int32Array(2 * batch).fill(-1);
    l2.set(labels);
    const out = checkOut(model(x2, s2, 2 * batch, l2), 2 * n);
    const y = new Float32Array(n);
    for (let j = 0; j < n; j++) y[j] = out[n + j] + scale * (out[j] - out[n + j]);
    return y;
  };
}
