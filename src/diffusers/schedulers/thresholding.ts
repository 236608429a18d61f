// Dynamic thresholding of an x0 prediction (Imagen, Saharia et al. 2022, sec. 2.3), as diffusers'
// _threshold_sample does it: per item, s = the `ratio` quantile of |x0| (torch.quantile, linear
// interpolation), clamped to [1, maxValue]; x0 is clipped to [-s, s] and divided by s. Float32 like
// PyTorch.

import { ArgumentError } from "../../validate.ts";
import type { Shape } from "./types.ts";

const fround = Math.fround;

/** torch.quantile(v, q) of one row (linear interpolation between the order statistics), float32. */
function quantileF32(v: Float32Array, q: number): number {
  const sorted = Float32Array.from(v).sort();
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  const w = fround(pos - lo);
  return fround(sorted[lo] + fround(w * fround(sorted[hi] - sorted[lo])));
}

/** Threshold x0 in place per item of `shape` ([B, ...]; default one item); returns x0. */
export function dynamicThreshold(x0: Float32Array, ratio: number, maxValue: number, shape?: Shape): Float32Array {
  const batch = shape ? shape[0] : 1;
  if (!Number.isInteger(batch) || batch < 1 || x0.length % batch !== 0) {
    throw new ArgumentError("shape", `must start with a batch size dividing the sample's ${x0.length} values, got ${JSON.stringify(shape)}`);
  }
  const size = x0.length / batch;
  for (let b = 0; b < batch; b++) {
    const row = x0.subarray(b * size, (b + 1) * size);
    const s = Math.min(Math.max(quantileF32(row.map(Math.abs), ratio), 1), maxValue);
    for (let j = 0; j < size; j++) row[j] = fround(Math.min(Math.max(row[j], -s), s) / s);
  }
  return x0;
}
