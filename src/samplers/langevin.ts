// Langevin dynamics: the seed article's update x <- x + alpha s(x) + sqrt(2 alpha) z, with the score of
// the noised data s(x, sigma) = (D(x, sigma) - x) / sigma^2 (Tweedie; Vincent 2011), annealed over the
// noise levels (NCSN), and as the corrector of a predictor-corrector sampler (score SDE).

import { inRange, int, oneOf } from "../validate.ts";
import { type Denoiser, Loop, type SamplerOptions, type SamplerResult } from "./common.ts";

export interface LangevinOptions extends SamplerOptions {
  /** Langevin steps per noise level (NCSN's T). Default 100. */
  stepsPerLevel?: number;
  /** NCSN's epsilon: alpha_i = epsilon sigma_i^2 / sigma_L^2. Default 2e-5 (NCSN, with sigma_L = 0.01). */
  epsilon?: number;
  /** After the last level, return the Tweedie estimate D(x, sigma_L) (the step to sigma = 0). Default true. */
  denoise?: boolean;
}

/**
 * Annealed Langevin dynamics, NCSN (Song & Ermon 2019) Alg. 1: for each level sigma_i of sigmas (the
 * non-zero ones), T steps of x <- x + alpha_i s(x, sigma_i) + sqrt(2 alpha_i) z with
 * alpha_i = epsilon sigma_i^2 / sigma_L^2. One sampler step = one level; the final step to sigma = 0
 * runs its level and then denoises (Jolicoeur-Martineau et al. 2021's "denoising jump").
 */
export function sampleLangevin(denoiser: Denoiser, x: Float32Array, sigmas: ArrayLike<number>, opts: LangevinOptions = {}): SamplerResult {
  const T = int("stepsPerLevel", opts.stepsPerLevel ?? 100, 1);
  const epsilon = inRange("epsilon", opts.epsilon ?? 2e-5, 0, Infinity, "()");
  const denoise = opts.denoise ?? true;
  const loop = new Loop("langevin", denoiser, x, sigmas, opts, true);
  const sig = loop.sigmas;
  const sigmaL = sig[sig.length - 1] > 0 ? sig[sig.length - 1] : sig[sig.length - 2];
  let xc = loop.x;
  const n = xc.length;
  for (let i = loop.start; i < loop.end; i++) {
    const s = sig[i];
    const alpha = (epsilon * s * s) / (sigmaL * sigmaL);
    const sd = Math.sqrt(2 * alpha);
    let den = xc;
    for (let t = 0; t < T; t++) {
      den = loop.denoise(xc, s);
      const z = loop.noise(i, t + 1);
      const next = new Float32Array(n);
      for (let j = 0; j < n; j++) next[j] = xc[j] + (alpha * (den[j] - xc[j])) / (s * s) + sd * z[j];
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

export interface PcOptions extends SamplerOptions {
  /** "reverseDiffusion" (Song et al. 2021 eq. 46, exact VE increments, default) or "eulerMaruyama". */
  predictor?: "reverseDiffusion" | "eulerMaruyama" | "none";
  /** Langevin corrector steps per level (0 = predictor only). Default 1. */
  correctorSteps?: number;
  /** The corrector's target signal-to-noise ratio r (Song et al. 2021 Alg. 4). Default 0.16. */
  snr?: number;
  /**
   * How the corrector's step size is set: "item" uses each item's ||z|| / ||s|| (Alg. 4, for high-dim
   * data); "expected" replaces that ratio by its value sqrt(d) / (sqrt(d) / sigma) = sigma, giving
   * eps = 2 (r sigma)^2 - stable in low dimensions, where the per-item ratio of two norms of a few
   * numbers fluctuates wildly (score_sde averages the norms over the batch instead, which would make an
   * item's result depend on its batch). Default "item".
   */
  snrNorm?: "item" | "expected";
}

/**
 * Predictor-corrector sampling, Song et al. 2021 ("Score-based generative modeling through SDEs")
 * Alg. 2-4 for the VE SDE in VE space: at each level, `correctorSteps` Langevin corrector steps with the
 * step size set per item by the target SNR (eps = 2 (r ||z|| / ||s||)^2), then a predictor step to the
 * next sigma: reverse diffusion x + (sigma^2 - sigma'^2) s + sqrt(sigma^2 - sigma'^2) z, or
 * Euler-Maruyama of dx = -d[sigma^2] s + sqrt(d[sigma^2]) dw in sigma, x + 2 sigma (sigma - sigma') s +
 * sqrt(2 sigma (sigma - sigma')) z. The step to sigma = 0 returns the mean, D(x, sigma) (noise removal).
 */
export function samplePc(denoiser: Denoiser, x: Float32Array, sigmas: ArrayLike<number>, opts: PcOptions = {}): SamplerResult {
  const predictor = oneOf("predictor", opts.predictor ?? "reverseDiffusion", ["reverseDiffusion", "eulerMaruyama", "none"] as const);
  const nc = int("correctorSteps", opts.correctorSteps ?? 1, 0);
  const snr = inRange("snr", opts.snr ?? 0.16, 0, Infinity, "()");
  const snrNorm = oneOf("snrNorm", opts.snrNorm ?? "item", ["item", "expected"] as const);
  const loop = new Loop("pc", denoiser, x, sigmas, opts, true);
  const B = loop.batch;
  const m = loop.size;
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
        const eps = 2 * ratio * ratio;
        const sd = Math.sqrt(2 * eps);
        for (let j = b * m; j < (b + 1) * m; j++) next[j] = xc[j] + (eps * (den[j] - xc[j])) / (s * s) + sd * z[j];
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
      const sd = Math.sqrt(v);
      const z = loop.noise(i);
      for (let j = 0; j < n; j++) next[j] = xc[j] + (v * (den[j] - xc[j])) / (s * s) + sd * z[j];
    }
    xc = next;
    loop.after(i, xc, den);
  }
  return loop.finish(xc);
}
