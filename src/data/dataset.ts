// The dataset contract shared by the loaders and the trainer, and the seeded batch sampler.

import type { Rng } from "../rng.ts";
import { ArgumentError, int } from "../validate.ts";

/** Images [N, C, H, W] (row-major, values in [-1, 1]) and optional class labels in [0, numClasses). */
export interface Dataset {
  images: Float32Array;
  shape: [number, number, number, number];
  labels?: Int32Array;
  numClasses?: number;
}

export type DatasetErrorCode =
  | "unknown_dataset"
  | "not_found"
  | "bad_file"
  | "empty"
  | "bad_shape"
  | "bad_label"
  | "idx_too_short"
  | "idx_magic"
  | "idx_dtype"
  | "idx_dims"
  | "idx_size"
  | "idx_too_large"
  | "gzip";

/** A data source that cannot be loaded; `code` says why, `file` names the file when there is one. */
export class DatasetError extends Error {
  readonly code: DatasetErrorCode;
  readonly file: string | undefined;
  constructor(code: DatasetErrorCode, message: string, file?: string) {
    super(`${file !== undefined ? `${file}: ` : ""}${message} [${code}]`);
    this.name = "DatasetError";
    this.code = code;
    this.file = file;
  }
}

/** Check a Dataset's invariants (sizes agree, labels in range); returns N. */
export function checkDataset(ds: Dataset, arg = "dataset"): number {
  if (!ds || !(ds.images instanceof Float32Array)) throw new ArgumentError(`${arg}.images`, "must be a Float32Array");
  if (!Array.isArray(ds.shape) || ds.shape.length !== 4) throw new ArgumentError(`${arg}.shape`, "must be [N, C, H, W]");
  ds.shape.forEach((d, i) => int(`${arg}.shape[${i}]`, d, 1));
  const [n, c, h, w] = ds.shape;
  if (n * c * h * w !== ds.images.length) {
    throw new ArgumentError(`${arg}.images`, `has ${ds.images.length} values but shape [${ds.shape.join(", ")}] needs ${n * c * h * w}`);
  }
  if (ds.labels !== undefined) {
    if (!(ds.labels instanceof Int32Array) || ds.labels.length !== n) throw new ArgumentError(`${arg}.labels`, `must be an Int32Array of length ${n}`);
    const k = int(`${arg}.numClasses`, ds.numClasses, 1);
    for (let i = 0; i < n; i++) {
      if (!(ds.labels[i] >= 0 && ds.labels[i] < k)) throw new ArgumentError(`${arg}.labels`, `label ${ds.labels[i]} at ${i} is outside [0, ${k})`);
    }
  }
  return n;
}

/**
 * The dataset indices of training step `step`: `batchSize` draws in [0, n), uniformly with replacement,
 * from the uniforms of `rng.stream(step)`. A pure function of (rng's seed, step): a resumed run sees the
 * same batches, in any runtime. Pass a generator reserved for batching (e.g. `root.stream("batches")`), so
 * these uniforms are not the ones the trainer draws for noise or timesteps from `root.stream(step)`.
 */
export function batchIndices(rng: Rng, step: number | string, batchSize: number, n: number): Int32Array {
  if (typeof step !== "string") int("step", step, 0);
  int("batchSize", batchSize, 1, 1 << 24);
  int("n", n, 1, 2 ** 31 - 1);
  const u = rng.stream(step).uniform(new Float64Array(batchSize));
  const out = new Int32Array(batchSize);
  // u is in (0, 1) with 53 bits, so floor(u n) is uniform up to 2^-53 n; min() guards the rounding at 1.
  for (let i = 0; i < batchSize; i++) out[i] = Math.min(n - 1, Math.floor(u[i] * n));
  return out;
}

/** Copy the images (and labels) at `indices` into a batch [B, C, H, W]. */
export function gatherBatch(ds: Dataset, indices: Int32Array): { images: Float32Array; labels?: Int32Array } {
  const [n, c, h, w] = ds.shape;
  const size = c * h * w;
  const images = new Float32Array(indices.length * size);
  const labels = ds.labels ? new Int32Array(indices.length) : undefined;
  for (let b = 0; b < indices.length; b++) {
    const i = indices[b];
    if (!(i >= 0 && i < n)) throw new ArgumentError("indices", `index ${i} at ${b} is outside [0, ${n})`);
    images.set(ds.images.subarray(i * size, (i + 1) * size), b * size);
    if (labels) labels[b] = ds.labels![i];
  }
  return labels ? { images, labels } : { images };
}
