// The denoising score-matching loss (Vincent 2011; DDPM's "simple" loss; EDM sec. 5), written once
// over the preconditioning: for x = x0 + sigma n, the network F(c_in x; c_noise) regresses
// (x0 - c_skip x) / c_out with per-item weight w(sigma).
//
// Noise levels: "uniform-t" draws t uniformly from a VP schedule (DDPM: t ~ U{1..T}; continuous:
// U[t_eps, 1]; on the rectified-flow schedule, flow matching's uniform t); "lognormal" draws
// ln sigma ~ N(pMean, pStd^2) (EDM, Table 1); "logit-normal" draws the rectified-flow time t with
// logit(t) ~ N(m, s^2), density pi(t) = exp(-(logit t - m)^2 / (2 s^2)) / (s sqrt(2 pi) t (1 - t))
// (Esser et al. 2024, SD3, sec. 3.1, "logit-normal sampling"; their default m = 0, s = 1).
// Weights: "simple" is 1 on F's target (DDPM's eps-MSE, v-MSE, x0-MSE; EDM's lambda = 1/c_out^2 gives
// the same); "min-snr" multiplies the x0-space error by min(SNR, gamma) (Hang et al. 2023), i.e.
// w = min(SNR, gamma) c_out^2 on F's target, with SNR = 1/sigma^2.

import { mse } from "../autograd/ops.ts";
import type { Tensor } from "../autograd/tensor.ts";
import { preconditionedForward, type Network } from "../denoiser/network.ts";
import type { Preconditioner } from "../denoiser/precondition.ts";
import { dexp } from "../math/detmath.ts";
import type { Rng } from "../rng.ts";
import type { Schedule } from "../schedule/types.ts";
import { ArgumentError, finite, inRange, int, positive } from "../validate.ts";

export type SigmaSampling =
  | { kind: "uniform-t"; schedule: Schedule }
  | { kind: "lognormal"; pMean: number; pStd: number }
  | { kind: "logit-normal"; m: number; s: number };
export type Weighting = { kind: "simple" } | { kind: "min-snr"; gamma: number };

export interface LossConfig {
  sigmas: SigmaSampling;
  weighting: Weighting;
  /** Probability of replacing a label by "no label" (classifier-free guidance training). */
  labelDropout: number;
}

/** Draw one VE sigma per item from u (uniforms) or z (normals). */
export function drawSigmas(s: SigmaSampling, u: Float64Array, z: Float64Array): Float64Array {
  const out = new Float64Array(u.length);
  if (s.kind === "uniform-t") {
    const sch = s.schedule;
    for (let i = 0; i < u.length; i++) {
      const t = sch.discrete
        ? Math.min(sch.tMax, 1 + Math.floor(u[i] * sch.tMax))
        : sch.tMin + 1e-3 * (sch.tMax - sch.tMin) + u[i] * (1 - 1e-3) * (sch.tMax - sch.tMin);
      out[i] = sch.sigma(t) / sch.alpha(t);
    }
  } else if (s.kind === "lognormal") {
    positive("pStd", s.pStd);
    for (let i = 0; i < u.length; i++) out[i] = dexp(s.pMean + s.pStd * z[i]);
  } else if (s.kind === "logit-normal") {
    // t = sigmoid(m + s z) on the flow path is sigma_ve = t / (1 - t) = e^(m + s z): the VE level is
    // log-normal, so SD3's logit-normal t and EDM's log-normal sigma are one family (m = P_mean, s = P_std)
    finite("m", s.m);
    positive("s", s.s);
    for (let i = 0; i < u.length; i++) out[i] = dexp(s.m + s.s * z[i]);
  } else {
    throw new ArgumentError("sigmas.kind", `must be "uniform-t", "lognormal" or "logit-normal", got ${JSON.stringify((s as { kind: unknown }).kind)}`);
  }
  return out;
}

/** A batch's draws for the loss: the clean and noisy items, their noise levels and (dropped) labels. */
export interface LossBatch {
  x0: Float32Array;
  /** x0 + sigma n, per item. */
  x: Float32Array;
  sigmas: Float64Array;
  labels?: Int32Array;
  shape: readonly number[];
}

/**
 * Everything random about one batch's loss, drawn from `rng` (a per-step stream, so a step's draws
 * depend only on (seed, step)): noise levels, noise and label dropout. Split from the network pass so
 * the batch can be cut into gradient shards (src/train/shards.ts) with the same draws.
 */
export function drawLossBatch(cfg: LossConfig, x0: Float32Array, shape: readonly number[], rng: Rng, numClasses: number, labels?: Int32Array): LossBatch {
  const B = int("batch", shape[0], 1);
  const D = x0.length / B;
  inRange("labelDropout", cfg.labelDropout, 0, 1);
  const u = rng.stream("sigma-u").uniform(new Float64Array(B));
  const z = rng.stream("sigma-z").normal(new Float64Array(B));
  const sigmas = drawSigmas(cfg.sigmas, u, z);
  const n = rng.stream("noise").randn(B, D);
  const x = new Float32Array(x0.length);
  for (let b = 0; b < B; b++) for (let i = b * D; i < (b + 1) * D; i++) x[i] = x0[i] + sigmas[b] * n[i];
  let lab = labels;
  if (labels && numClasses > 0 && cfg.labelDropout > 0) {
    const drop = rng.stream("label-drop").uniform(new Float64Array(B));
    lab = labels.map((l, b) => (drop[b] < cfg.labelDropout ? numClasses : l));
  }
  return { x0, x, sigmas, labels: lab, shape };
}

/**
 * The loss of items [start, end) of a drawn batch: the network F(c_in x; c_noise) against
 * (x0 - c_skip x) / c_out, weighted per item (see the top of this file). The mean is over these items.
 */
export function batchLoss(net: Network, precond: Preconditioner, weighting: Weighting, batch: LossBatch, start = 0, end = batch.shape[0]): Tensor {
  const B = batch.shape[0];
  int("end", end, 1, B);
  int("start", start, 0, end - 1);
  const D = batch.x0.length / B;
  const n = end - start;
  const shape = [n, ...batch.shape.slice(1)];
  const whole = start === 0 && end === B;
  const x = whole ? batch.x : batch.x.subarray(start * D, end * D);
  const x0 = whole ? batch.x0 : batch.x0.subarray(start * D, end * D);
  const sigmas = whole ? batch.sigmas : batch.sigmas.subarray(start, end);
  const lab = batch.labels && (whole ? batch.labels : batch.labels.subarray(start, end));
  const { F, coefs } = preconditionedForward(net, precond, x, sigmas, shape, lab);
  const target = new Float32Array(x0.length);
  const w = new Float64Array(n);
  for (let b = 0; b < n; b++) {
    const { cSkip, cOut } = coefs[b];
    for (let i = b * D; i < (b + 1) * D; i++) target[i] = (x0[i] - cSkip * x[i]) / cOut;
    w[b] = weighting.kind === "min-snr" ? Math.min(1 / (sigmas[b] * sigmas[b]), positive("gamma", weighting.gamma)) * cOut * cOut : 1;
  }
  return mse(F, target, w);
}

/**
 * The loss of one batch x0 [B, ...]: noise levels, noise and label dropout from `rng` (a per-step
 * stream, so a step's draws depend only on (seed, step)). Returns the scalar loss tensor.
 */
export function diffusionLoss(
  net: Network,
  precond: Preconditioner,
  cfg: LossConfig,
  x0: Float32Array,
  shape: readonly number[],
  rng: Rng,
  labels?: Int32Array,
): Tensor {
  return batchLoss(net, precond, cfg.weighting, drawLossBatch(cfg, x0, shape, rng, net.config.numClasses, labels));
}
