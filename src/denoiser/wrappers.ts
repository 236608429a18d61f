// Wrappers that turn a network function and its parameterization into a Denoiser (design.md sec. 1).
// They are network-agnostic: a model is any function of (input, noise input, batch[, labels]) -> output
// (a trained Network object goes through network-denoiser.ts instead), and every coefficient comes from
// conversions.ts or precondition.ts, the same ones the loss uses.

import { dlog } from "../math/detmath.ts";
import type { DiscreteSchedule } from "../schedule/discrete.ts";
import { ArgumentError, oneOf, positive } from "../validate.ts";
import type { LabelledDenoiser } from "./contract.ts";
import { conversionCoefficients, flowToX0, PREDICTIONS, vpToX0, type Prediction } from "./conversions.ts";
import { edmPreconditioner } from "./precondition.ts";

/** A network: input batch, one noise-conditioning value per item (t, c_noise, ...), batch, optional labels. */
export type Model = (x: Float32Array, cNoise: Float64Array, batch: number, cond?: Int32Array) => Float32Array;

/** The model's output, checked: a Float32Array of n values (else ArgumentError naming "model"). */
export function checkModelOutput(out: Float32Array, n: number): Float32Array {
  if (!(out instanceof Float32Array) || out.length !== n) throw new ArgumentError("model", `must return a Float32Array of ${n} values`);
  return out;
}

export interface PredictionOptions {
  /** What the model predicts. */
  prediction: Prediction;
  /**
   * "vp": the model sees x_vp = alpha x with alpha = 1 / sqrt(1 + sigma^2) (DDPM-style networks);
   * "ve": it sees x itself (NCSN-style); "flow": it sees x_t = x / (1 + sigma) on the rectified-flow
   * path at t = sigma / (1 + sigma) (SD3, FLUX).
   */
  space: "vp" | "ve" | "flow";
  /** The model's noise input for a VE sigma (e.g. the DDPM timestep, or log sigma / 4). */
  cNoise: (sigma: number) => number;
  /** Clamp the x0 estimate to [-clip, clip] (diffusers' clip_sample). */
  clip?: number;
}

/**
 * A Denoiser from a network predicting eps, x0, v or the score, in VP or VE space: x0 = cx x_in + cp F in
 * the network's own space (conversions.ts; vpToX0 for VP).
 */
export function predictionDenoiser(model: Model, opts: PredictionOptions): LabelledDenoiser {
  if (typeof model !== "function") throw new ArgumentError("model", "must be a function");
  oneOf("prediction", opts.prediction, PREDICTIONS);
  oneOf("space", opts.space, ["vp", "ve", "flow"] as const);
  if (typeof opts.cNoise !== "function") throw new ArgumentError("cNoise", "must be a function of sigma");
  if (opts.clip !== undefined) positive("clip", opts.clip);
  const scaled = opts.space !== "ve";
  const toX0 = opts.space === "flow" ? flowToX0 : vpToX0;
  return (x: Float32Array, sigma: Float64Array, batch: number, labels?: Int32Array) => {
    const n = x.length / batch;
    const cn = new Float64Array(batch);
    const cx = new Float64Array(batch);
    const cp = new Float64Array(batch);
    const xin = scaled ? new Float32Array(x.length) : x;
    for (let b = 0; b < batch; b++) {
      cn[b] = opts.cNoise(sigma[b]);
      if (scaled) {
        // the network sees x_vp = alpha x (or the flow's x_t = alpha x) and predicts in its own terms
        const c = toX0(opts.prediction, sigma[b]);
        [cx[b], cp[b]] = [c.cx, c.cp];
        for (let j = b * n; j < (b + 1) * n; j++) xin[j] = c.alpha * x[j];
      } else [cx[b], cp[b]] = conversionCoefficients(opts.prediction, "x0", 1, sigma[b]);
    }
    const out = checkModelOutput(model(xin, cn, batch, labels), x.length);
    const y = new Float32Array(x.length);
    for (let b = 0; b < batch; b++) {
      // x0 = cx x_in + cp pred, in the model's space (x0 is the same in both spaces)
      for (let j = b * n; j < (b + 1) * n; j++) {
        let v = cx[b] * xin[j] + cp[b] * out[j];
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
export function edmDenoiser(model: Model, sigmaData = 0.5): LabelledDenoiser {
  if (typeof model !== "function") throw new ArgumentError("model", "must be a function");
  // the coefficients are the training loss's (precondition.ts), so the two cannot drift apart
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
    const F = checkModelOutput(model(xin, cn, batch, labels), x.length);
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
): LabelledDenoiser {
  const tOf = (sigma: number): number => {
    const t = schedule.tOfLogSnr(-2 * dlog(sigma)) - 1; // ours is 1-indexed
    const c = Math.max(0, t);
    return opts.round ? Math.round(c) : c;
  };
  return predictionDenoiser(model, { prediction, space: "vp", cNoise: tOf, clip: opts.clip });
}
