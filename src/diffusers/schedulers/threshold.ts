// Dynamic thresholding of an x0 estimate (Saharia et al. 2022, Imagen, sec. 2.3), per item as diffusers'
// _threshold_sample does it: s = the `ratio` quantile of |x0| over the item, clamped to
// [1, maxValue]; x0 is clamped to [-s, s] and divided by s.

import { ArgumentError } from "../../validate.ts";

/** torch.quantile(v, q) with its default linear interpolation, on a copy of v. */
export function quantile(v: ArrayLike<number>, q: number): number {
  const a = Float64Array.from(v).sort();
  const pos = q * (a.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, a.length - 1);
  return a[lo] + (a[hi] - a[lo]) * (pos - lo);
}

/** x0 thresholded per item (batch items of equal size, stored flat), as a new Float32Array. */
export function dynamicThreshold(x0: Float32Array, batch: number, ratio: number, maxValue: number): Float32Array {
  if (!Number.isInteger(batch) || batch < 1 || x0.length % batch !== 0) {
    throw new ArgumentError("shape", `must split the ${x0.length} values into whole items, got a batch of ${batch}`);
  }
  const size = x0.length / batch;
  const out = new Float32Array(x0.length);
  for (let b = 0; b < batch; b++) {
    const item = x0.subarray(b * size, (b + 1) * size);
    const abs = Float32Array.from(item, Math.abs);
    // torch.clamp(s, min=1, max=maxValue): max is applied last, so maxValue < 1 wins
    const s = Math.fround(Math.min(Math.max(Math.fround(quantile(abs, ratio)), 1), maxValue));
    for (let j = 0; j < size; j++) out[b * size + j] = Math.min(Math.max(item[j], -s), s) / s;
  }
  return out;
}
