// Class-conditional data augmentation: one generated sample per requested label, in chunks.

import type { Denoiser } from "../denoiser/contract.ts";
import { Rng } from "../rng.ts";
import { ArgumentError, int } from "../validate.ts";
import { checkSigmas, type SamplerFn, type SamplerOptions } from "./common.ts";

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
    out.set(y.x, c * size);
  }
  return { x: out, labels: Int32Array.from(opts.labels) };
}
