// Applications built on the samplers: inpainting (with RePaint resampling), img2img / SDEdit and
// class-conditional data augmentation. Classifier-free guidance is a Denoiser wrapper
// (denoisers/guidedDenoiser), so every sampler can use it.

import type { Denoiser } from "../denoiser/contract.ts";
import { Rng } from "../rng.ts";
import { ArgumentError, f32, inRange, int, itemSize, sameLength } from "../validate.ts";
import { checkSigmas, Loop, opt, type SamplerOptions } from "./common.ts";

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
export function inpaint(denoiser: Denoiser, x: Float32Array, sigmas: ArrayLike<number>, opts: InpaintOptions): Float32Array {
  if (!opts || typeof opts !== "object") throw new ArgumentError("opts", "must give known and mask");
  const U = int("resample", opt(opts, "resample", 1), 1);
  const eta = inRange("eta", opt(opts, "eta", 1), 0, 1);
  const loop = new Loop("inpaint", denoiser, x, sigmas, opts, { resample: U, eta }, true);
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
  for (let i = loop.start; i < loop.end; i++) {
    const s = loop.sigmas[i];
    const sn = loop.sigmas[i + 1];
    let den = xc;
    for (let u = 0; u < U; u++) {
      den = loop.denoise(xc, s);
      const c = eta * sn * Math.sqrt(1 - (sn * sn) / (s * s));
      const dir = Math.sqrt(Math.max(0, sn * sn - c * c)) / s;
      const z = loop.noise(i, 3 * u + 1);
      const zk = loop.noise(i, 3 * u + 2);
      const next = new Float32Array(n);
      for (let j = 0; j < n; j++) {
        const unknown = den[j] + dir * (xc[j] - den[j]) + c * z[j];
        const kn = known[j] + sn * zk[j];
        next[j] = mask[j] * kn + (1 - mask[j]) * unknown;
      }
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

/** A sampler function of this library: (denoiser, x, sigmas, opts) -> x. */
export type SamplerFn = (denoiser: Denoiser, x: Float32Array, sigmas: ArrayLike<number>, opts?: SamplerOptions & Record<string, unknown>) => Float32Array;

/**
 * The tail of an n-step sigma sequence that img2img starts from: diffusers' rule
 * t_start = n - floor(n strength) (at least one step is kept). strength = 1 is the whole sequence.
 */
export function img2imgSigmas(sigmas: ArrayLike<number>, strength: number): Float64Array {
  const s = checkSigmas(sigmas);
  inRange("strength", strength, 0, 1, "(]");
  const n = s.length - 1;
  const keep = Math.max(1, Math.min(n, Math.floor(n * strength)));
  return s.slice(n - keep);
}

export interface Img2ImgOptions extends SamplerOptions {
  /** In (0, 1]: how far to noise the image before sampling back (1 = ignore it almost entirely). */
  strength: number;
  rng: Rng;
}

/**
 * img2img / SDEdit (Meng et al. 2022): noise the image to the level sigma_start picked by `strength`
 * (x = image + sigma_start z, z from rng.stream("img2img")), then run `sampler` over the remaining sigmas.
 */
export function img2img(
  sampler: SamplerFn,
  denoiser: Denoiser,
  image: Float32Array,
  sigmas: ArrayLike<number>,
  opts: Img2ImgOptions & Record<string, unknown>,
): Float32Array {
  if (typeof sampler !== "function") throw new ArgumentError("sampler", "must be a sampler function");
  f32("image", image);
  if (!(opts?.rng instanceof Rng)) throw new ArgumentError("rng", "is needed to noise the image");
  const tail = img2imgSigmas(sigmas, opts.strength);
  const batch = int("batch", opts.batch ?? 1, 1);
  const size = itemSize("image", image, batch);
  const z = opts.rng.stream("img2img").randn(batch, size, opts.firstItem ?? 0);
  const x = new Float32Array(image.length);
  for (let j = 0; j < x.length; j++) x[j] = image[j] + tail[0] * z[j];
  return sampler(denoiser, x, tail, opts);
}

export interface AugmentOptions extends SamplerOptions {
  /** One class label per generated item (-1 for unconditional). */
  labels: Int32Array;
  /** Values per item. */
  size: number;
  rng: Rng;
  /** Items per denoiser batch. Default 64. */
  chunk?: number;
  /** Extra options for the sampler (eta, sChurn, ...). */
  samplerOptions?: Record<string, unknown>;
}

/**
 * Data augmentation: generate one sample per label with a class-conditional denoiser (label-conditioned,
 * e.g. through guidedDenoiser), in chunks; item i's noise is item i of opts.rng whatever the chunking.
 * Returns the samples and their labels, ready for the dataset writer of src/data.
 */
export function augment(
  sampler: SamplerFn,
  conditional: (labels: Int32Array) => Denoiser,
  sigmas: ArrayLike<number>,
  opts: AugmentOptions,
): { x: Float32Array; labels: Int32Array } {
  if (typeof sampler !== "function") throw new ArgumentError("sampler", "must be a sampler function");
  if (typeof conditional !== "function") throw new ArgumentError("conditional", "must map labels to a Denoiser");
  if (!(opts?.labels instanceof Int32Array) || opts.labels.length < 1) throw new ArgumentError("labels", "must be a non-empty Int32Array");
  if (!(opts.rng instanceof Rng)) throw new ArgumentError("rng", "is needed");
  const size = int("size", opts.size, 1);
  const chunk = int("chunk", opts.chunk ?? 64, 1);
  const s = checkSigmas(sigmas);
  const N = opts.labels.length;
  const first = opts.firstItem ?? 0;
  const out = new Float32Array(N * size);
  for (let c = 0; c < N; c += chunk) {
    const m = Math.min(chunk, N - c);
    const labels = opts.labels.slice(c, c + m);
    const x = opts.rng.stream("init").randn(m, size, first + c);
    for (let j = 0; j < x.length; j++) x[j] *= s[0];
    const y = sampler(conditional(labels), x, s, {
      ...(opts.samplerOptions ?? {}),
      batch: m,
      firstItem: first + c,
      rng: opts.rng,
      signal: opts.signal,
    });
    out.set(y, c * size);
  }
  return { x: out, labels: Int32Array.from(opts.labels) };
}
