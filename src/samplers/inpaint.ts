// Inpainting by replacement with RePaint resampling: the known region is re-noised to each level and the
// unknown region takes the ancestral step. Resumable like every sampler (it carries nothing).

import { ArgumentError, f32, inRange, int, sameLength } from "../validate.ts";
import { type Denoiser, Loop, type SamplerOptions, type SamplerResult } from "./common.ts";
import { ancestralStep, ancestralUpdate } from "./steps.ts";

export interface InpaintOptions extends SamplerOptions {
  /** The known values (same layout as x). */
  known: Float32Array;
  /** 1 where `known` is kept, 0 where the sampler fills in (same length as x; values in [0, 1] blend). */
  mask: Float32Array;
  /** RePaint resampling: run each step this many times, re-noising back up in between. Default 1 (none). */
  resample?: number;
  /** Noise of the ancestral step: 1 = DDPM posterior (RePaint), 0 = DDIM. Default 1. */
  eta?: number;
}

/**
 * Inpainting by replacement, with RePaint (Lugmayr et al. 2022) Alg. 1 resampling (jump length 1): each
 * step the known region is the known values re-noised to the next level, known + sigma' z, and the
 * unknown region takes an ancestral step (DDIM eq. 12 with eta); with resample = U > 1 the merged x is
 * diffused back to sigma (x + sqrt(sigma^2 - sigma'^2) z) and the step redone, U times in all.
 */
export function inpaint(denoiser: Denoiser, x: Float32Array, sigmas: ArrayLike<number>, opts: InpaintOptions): SamplerResult {
  if (!opts || typeof opts !== "object") throw new ArgumentError("opts", "must give known and mask");
  const U = int("resample", opts.resample ?? 1, 1);
  const eta = inRange("eta", opts.eta ?? 1, 0, 1);
  const loop = new Loop("inpaint", denoiser, x, sigmas, opts, true);
  f32("known", opts.known);
  f32("mask", opts.mask);
  sameLength("x", loop.x, "known", opts.known);
  sameLength("x", loop.x, "mask", opts.mask);
  for (let j = 0; j < opts.mask.length; j++) {
    if (!(opts.mask[j] >= 0 && opts.mask[j] <= 1)) throw new ArgumentError(`mask[${j}]`, `must be in [0, 1], got ${opts.mask[j]}`);
  }
  const { known, mask } = opts;
  let xc = loop.x;
  const n = xc.length;
  // the unknown region's update, in float64: the blend below rounds once
  const unknown = new Float64Array(n);
  for (let i = loop.start; i < loop.end; i++) {
    const s = loop.sigmas[i];
    const sn = loop.sigmas[i + 1];
    const split = ancestralStep(s, sn, eta);
    let den = xc;
    for (let u = 0; u < U; u++) {
      den = loop.denoise(xc, s);
      ancestralUpdate(unknown, xc, den, s, split, split.sigmaUp > 0 ? loop.noise(i, 3 * u + 1) : null);
      const zk = loop.noise(i, 3 * u + 2);
      const next = new Float32Array(n);
      for (let j = 0; j < n; j++) next[j] = mask[j] * (known[j] + sn * zk[j]) + (1 - mask[j]) * unknown[j];
      xc = next;
      if (u < U - 1 && sn > 0) {
        const zb = loop.noise(i, 3 * u + 3);
        const up = Math.sqrt(s * s - sn * sn);
        for (let j = 0; j < n; j++) xc[j] += up * zb[j];
      }
    }
    loop.after(i, xc, den);
  }
  return loop.finish(xc);
}
