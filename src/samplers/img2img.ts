// img2img / SDEdit (Meng et al. 2022): noise an image part way and sample back over the rest of the
// sigma sequence.

import type { Denoiser } from "../denoiser/contract.ts";
import { Rng } from "../rng.ts";
import { ArgumentError, f32, inRange, int, itemSize } from "../validate.ts";
import { checkSigmas, type SamplerFn, type SamplerOptions, type SamplerResult } from "./common.ts";

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

/**
 * img2img's starting batch: the image noised to `sigma` (the first of img2imgSigmas), image + sigma z
 * with z from rng.stream("img2img"), row b = item firstItem + b.
 */
export function img2imgStart(image: Float32Array, sigma: number, opts: { rng: Rng; batch?: number; firstItem?: number }): Float32Array {
  f32("image", image);
  if (!(opts?.rng instanceof Rng)) throw new ArgumentError("rng", "is needed to noise the image");
  const batch = int("batch", opts.batch ?? 1, 1);
  const size = itemSize("image", image, batch);
  const z = opts.rng.stream("img2img").randn(batch, size, opts.firstItem ?? 0);
  const x = new Float32Array(image.length);
  for (let j = 0; j < x.length; j++) x[j] = image[j] + sigma * z[j];
  return x;
}

export interface Img2ImgOptions extends SamplerOptions {
  /** In (0, 1]: how far to noise the image before sampling back (1 = ignore it almost entirely). */
  strength: number;
  rng: Rng;
}

/**
 * img2img / SDEdit (Meng et al. 2022): noise the image to the level sigma_start picked by `strength`
 * (img2imgStart), then run `sampler` over the remaining sigmas (img2imgSigmas). The result's step counts
 * those sigmas: to continue a run cut short with maxSteps, call the sampler on
 * img2imgSigmas(sigmas, strength) with `from`.
 */
export function img2img(
  sampler: SamplerFn,
  denoiser: Denoiser,
  image: Float32Array,
  sigmas: ArrayLike<number>,
  opts: Img2ImgOptions & Record<string, unknown>,
): SamplerResult {
  if (typeof sampler !== "function") throw new ArgumentError("sampler", "must be a sampler function");
  f32("image", image);
  if (!(opts?.rng instanceof Rng)) throw new ArgumentError("rng", "is needed to noise the image");
  if (opts.from !== undefined) throw new ArgumentError("from", "img2img starts from the image: continue with the sampler over img2imgSigmas(sigmas, strength)");
  const tail = img2imgSigmas(sigmas, opts.strength);
  const x = img2imgStart(image, tail[0], opts);
  return sampler(denoiser, x, tail, opts);
}
