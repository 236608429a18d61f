// Langevin dynamics: the seed article's update x <- x + alpha s(x) + sqrt(2 alpha) z, with the score of
// the noised data s(x, sigma) = (D(x, sigma) - x) / sigma^2 (Tweedie; Vincent 2011), annealed over the
// noise levels (NCSN), and as the corrector of a predictor-corrector sampler (score SDE).

import { ArgumentError, inRange, int, oneOf } from "../validate.ts";
import { type Denoiser, Loop, type SamplerOptions, type SamplerResult } from "./common.ts";

export interface LangevinOptions extends SamplerOptions {
  /** Langevin steps per noise level (NCSN's T). Default 10. */
  stepsPerLevel?: number;
  /**
   * The step scale r of the seed article's update x <- x + alpha s + sqrt(2 alpha) z: alpha_i = r sigma_i^2
   * at level sigma_i, so the step is the same fraction of every level's noise variance and does not depend
   * on where the sigmas end. r must stay below 2 (on N(mu, sigma^2) the update contracts by 1 - r per step;
   * r >= 2 diverges). NCSN's epsilon (Song & Ermon 2019 Alg. 1: x + (alpha/2) s + sqrt(alpha) z with
   * alpha_i = epsilon sigma_i^2 / sigma_L^2) is r = epsilon / (2 sigma_L^2): their 2e-5 at sigma_L = 0.01
   * is r = 0.1. Default 0.5 (measured on the shipped model, docs/samplers.md).
   */
  stepScale?: number;
  /** After the last level, return the Tweedie estimate D(x, sigma_L) (the step to sigma = 0). Default true. */
  denoise?: boolean;
}

/**
 * Annealed Langevin dynamics, NCSN (Song & Ermon 2019) Alg. 1 in the seed article's convention: for each
 * level sigma_i of sigmas (the non-zero ones), T steps of x <- x + alpha_i s(x, sigma_i) + sqrt(2 alpha_i) z
 * with alpha_i = r sigma_i^2, i.e. x <- x + r (D(x, sigma_i) - x) + sigma_i sqrt(2 r) z. One sampler step =
 * one level; the final step to sigma = 0 runs its level and then denoises (Jolicoeur-Martineau et al.
 * 2021's "denoising jump").
 */
export function sampleLangevin(denoiser: Denoiser, x: Float32Array, sigmas: ArrayLike<number>, opts: LangevinOptions = {}): SamplerResult {
  if ((opts as Record<string, unknown>).epsilon !== undefined) {
    // the old option scaled by the last sigma and took twice NCSN's step: refuse it rather than ignore it
    throw new ArgumentError("epsilon", "was replaced by stepScale r (alpha_i = r sigma_i^2); NCSN's epsilon at its last level sigma_L is r = epsilon / (2 sigma_L^2)");
  }
  const T = int("stepsPerLevel", opts.stepsPerLevel ?? 10, 1);
  const r = inRange("stepScale", opts.stepScale ?? 0.5, 0, 2, "()");
  const denoise = opts.denoise ?? true;
  const loop = new Loop("langevin", denoiser, x, sigmas, opts, true);
  const sig = loop.sigmas;
  let xc = loop.x;
  const n = xc.length;
  const sd = Math.sqrt(2 * r);
  for (let i = loop.start; i < loop.end; i++) {
    const s = sig[i];
    // alpha s(x) = r sigma^2 (D - x) / sigma^2 = r (D - x); sqrt(2 alpha) = sigma sqrt(2 r)
    const noise = s * sd;
    let den = xc;
    for (let t = 0; t < T; t++) {
      den = loop.denoise(xc, s);
      const z = loop.noise(i, t + 1);
      const next = new Float32Array(n);
      for (let j = 0; j < n; j++) next[j] = xc[j] + r * (den[j] - xc[j]) + noise * z[j];
      xc = next;
    }
    if (sig[i + 1] === 0 && denoise) {
      den = loop.denoise(xc, s);
      xc = Float32Array.from(den);
    }
    loop.after(i, xc, den);
  }
  return loop.finish(xc);
}

/**
 * One Langevin corrector step (Song et al. 2021, Alg. 4 line 6) on items [from, to) of x:
 * out = x + eps s + sqrt(2 eps) z with the score s = (den - x) / sigma^2 (Tweedie). A caller holding the
 * score itself passes den = x + s and sigma = 1 (diffusers' ScoreSdeVeScheduler.step_correct).
 */
export function langevinStep(out: Float32Array, x: Float32Array, den: ArrayLike<number>, sigma: number, eps: number, z: Float32Array, from = 0, to = out.length): void {
  const sd = Math.sqrt(2 * eps);
  for (let j = from; j < to; j++) out[j] = x[j] + (eps * (den[j] - x[j])) / (sigma * sigma) + sd * z[j];
}

/**
 * One predictor step of the VE reverse SDE with variance increment v (Song et al. 2021, eq. 46 reverse
 * diffusion: v = sigma^2 - sigma'^2; Euler-Maruyama: v = 2 sigma (sigma - sigma')): the mean
 * x + v s, s = (den - x) / sigma^2, written to `mean` when given, plus sqrt(v) z into `out`.
 */
export function predictorStep(out: Float32Array, x: Float32Array, den: ArrayLike<number>, sigma: number, v: number, z: Float32Array, mean?: Float32Array): void {
  const sd = Math.sqrt(v);
  for (let j = 0; j < out.length; j++) {
    const m = x[j] + (v * (den[j] - x[j])) / (sigma * sigma);
    if (mean) mean[j] = m;
    out[j] = m + sd * z[j];
  }
}

/** From this many values per item on, samplePc's "auto" uses the per-item norms of Alg. 4 (PcOptions.snrNorm). */
export const PC_ITEM_NORM_MIN_SIZE = 256;

export interface PcOptions extends SamplerOptions {
  /** "reverseDiffusion" (Song et al. 2021 eq. 46, exact VE increments, default) or "eulerMaruyama". */
  predictor?: "reverseDiffusion" | "eulerMaruyama" | "none";
  /** Langevin corrector steps per level (0 = predictor only). Default 1. */
  correctorSteps?: number;
  /** The corrector's target signal-to-noise ratio r (Song et al. 2021 Alg. 4). Default 0.16. */
  snr?: number;
  /**
   * How the corrector's step size is set. "item": each item's ||z|| / ||s|| (Alg. 4): it adapts the step
   * to the score the model actually gives, and in high dimension both norms concentrate (the relative sd
   * of ||z|| is 1 / sqrt(2d), 4.4% at d = 256). "expected": that ratio's expected value
   * sqrt(d) / (sqrt(d) / sigma) = sigma, eps = 2 (r sigma)^2. In low dimension the per-item ratio is one
   * of two norms of a few numbers, and ||s|| near a mode can be almost 0: the step explodes and the run
   * diverges (2-D mixtures: energy distance 13-209x the floor with "item", within 4x with "expected").
   * score_sde averages the norms over the batch instead, which would make an item's result depend on its
   * batch. "auto" (default): "expected" for items of fewer than 256 values, "item" from 256 on.
   */
  snrNorm?: "auto" | "item" | "expected";
}

/**
 * Predictor-corrector sampling, Song et al. 2021 ("Score-based generative modeling through SDEs")
 * Alg. 2-4 for the VE SDE in VE space: at each level, `correctorSteps` Langevin corrector steps with the
 * step size set by the target SNR (eps = 2 (r ||z|| / ||s||)^2 per item, or its expectation 2 (r sigma)^2 in
 * low dimension: PcOptions.snrNorm), then a predictor step to the
 * next sigma: reverse diffusion x + (sigma^2 - sigma'^2) s + sqrt(sigma^2 - sigma'^2) z, or
 * Euler-Maruyama of dx = -d[sigma^2] s + sqrt(d[sigma^2]) dw in sigma, x + 2 sigma (sigma - sigma') s +
 * sqrt(2 sigma (sigma - sigma')) z. The step to sigma = 0 returns the mean, D(x, sigma) (noise removal).
 */
export function samplePc(denoiser: Denoiser, x: Float32Array, sigmas: ArrayLike<number>, opts: PcOptions = {}): SamplerResult {
  const predictor = oneOf("predictor", opts.predictor ?? "reverseDiffusion", ["reverseDiffusion", "eulerMaruyama", "none"] as const);
  const nc = int("correctorSteps", opts.correctorSteps ?? 1, 0);
  const snr = inRange("snr", opts.snr ?? 0.16, 0, Infinity, "()");
  const norm = oneOf("snrNorm", opts.snrNorm ?? "auto", ["auto", "item", "expected"] as const);
  const loop = new Loop("pc", denoiser, x, sigmas, opts, true);
  const B = loop.batch;
  const m = loop.size;
  const snrNorm = norm === "auto" ? (m < PC_ITEM_NORM_MIN_SIZE ? "expected" : "item") : norm;
  let xc = loop.x;
  const n = xc.length;
  for (let i = loop.start; i < loop.end; i++) {
    const s = loop.sigmas[i];
    const sn = loop.sigmas[i + 1];
    // corrector: Song et al. 2021 Alg. 4 (Langevin, step size from the target SNR, per item)
    for (let c = 0; c < nc; c++) {
      const den = loop.denoise(xc, s);
      const z = loop.noise(i, c + 1);
      const next = new Float32Array(n);
      for (let b = 0; b < B; b++) {
        let g2 = 0;
        let z2 = 0;
        for (let j = b * m; j < (b + 1) * m; j++) {
          const g = (den[j] - xc[j]) / (s * s);
          g2 += g * g;
          z2 += z[j] * z[j];
        }
        const ratio = snrNorm === "expected" ? snr * s : g2 > 0 ? (snr * Math.sqrt(z2)) / Math.sqrt(g2) : 0;
        langevinStep(next, xc, den, s, 2 * ratio * ratio, z, b * m, (b + 1) * m);
      }
      xc = next;
    }
    // predictor
    const den = loop.denoise(xc, s);
    const next = new Float32Array(n);
    if (sn === 0) {
      next.set(den);
    } else if (predictor === "none") {
      next.set(xc);
    } else {
      const v = predictor === "reverseDiffusion" ? s * s - sn * sn : 2 * s * (s - sn);
      predictorStep(next, xc, den, s, v, loop.noise(i));
    }
    xc = next;
    loop.after(i, xc, den);
  }
  return loop.finish(xc);
}
