// A trained network as the library's Denoiser, and the checks every denoiser call of a model goes
// through (here and in the parallel host, so a bad call reads the same on one thread or many).

import { BufferPool, withPool } from "../autograd/pool.ts";
import { noGrad } from "../autograd/tensor.ts";
import { ArgumentError, int } from "../validate.ts";
import type { LabelledDenoiser } from "./contract.ts";
import { preconditionedForward, type Network } from "./network.ts";
import type { Preconditioner } from "./precondition.ts";

/**
 * Check one denoiser call against the model: batch items of itemShape in x, one sigma and (if any) one
 * label per item, labels in range for a K-class model. Returns the labels in effect.
 */
export function checkDenoiserCall(
  itemShape: readonly number[],
  K: number,
  x: Float32Array,
  sigma: Float64Array,
  batch: number,
  labels: Int32Array | undefined,
): Int32Array | undefined {
  const D = itemShape.reduce((a, b) => a * b, 1);
  if (x.length !== batch * D) throw new ArgumentError("x", `must hold batch (${batch}) items of [${itemShape.join(", ")}], got ${x.length} values`);
  if (sigma.length !== batch) throw new ArgumentError("sigma", `must have one value per batch item (${batch}), got ${sigma.length}`);
  if (labels && labels.length !== batch) throw new ArgumentError("labels", `must have one label per batch item (${batch}), got ${labels.length}`);
  if (labels && K > 0) checkLabels(labels, K);
  return labels;
}

/** Labels a conditional network accepts: a class 0..K-1, or -1 / K for "no label". Names the item. */
export function checkLabels(labels: ArrayLike<number>, K: number): void {
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (!(Number.isInteger(l) && l >= -1 && l <= K)) throw new ArgumentError(`labels[${i}]`, `must be a class 0..${K - 1}, or -1 or ${K} for no label, got ${l}`);
  }
}

/** How networkDenoiser runs the network: memory against speed. */
export interface InferenceOptions {
  /**
   * Items per network call (default 4). A denoiser call with a larger batch runs the network over
   * micro-batches of this size: every item's output is the same bytes whatever the split (the kernels'
   * summation order does not depend on the batch), and the activations held at once, and so the
   * memory, are bounded by this number of items instead of the sampling batch.
   */
  microBatch?: number;
  /**
   * Where the activations come from. Each micro-batch's buffers return to the pool when it ends, so a
   * sampling loop allocates nothing after its first step. Default: a pool of this denoiser's own;
   * share one across denoisers of the same model (LoadedModel does) so a new chunk reuses it too.
   */
  pool?: BufferPool;
}

/**
 * A trained network as the library's Denoiser: D(x; sigma) = c_skip x + c_out F(c_in x; c_noise), run
 * without recording a graph. `labels` conditions every call; a 4th argument overrides it per call
 * (classifier-free guidance batches conditional and unconditional items). Label -1 or numClasses is
 * "no label".
 */
export function networkDenoiser(
  net: Network,
  precond: Preconditioner,
  itemShape: readonly number[],
  labels?: Int32Array,
  opts: InferenceOptions = {},
): LabelledDenoiser {
  const K = net.config.numClasses;
  const micro = int("microBatch", opts.microBatch ?? 4, 1);
  const pool = opts.pool ?? new BufferPool();
  const D = itemShape.reduce((a, b) => a * b, 1);
  return (x: Float32Array, sigma: Float64Array, batch: number, callLabels?: Int32Array) =>
    noGrad(() => {
      const lab = checkDenoiserCall(itemShape, K, x, sigma, batch, callLabels ?? labels);
      const netLabels = lab && K > 0 ? Int32Array.from(lab, (l) => (l < 0 ? K : l)) : undefined;
      const out = new Float32Array(x.length);
      // sigma = 0 is the data itself: D(x; 0) = x
      const safe = Float64Array.from(sigma, (s) => Math.max(s, precond.sigmaMin * 1e-3));
      for (let b0 = 0; b0 < batch; b0 += micro) {
        const n = Math.min(micro, batch - b0);
        withPool(pool, () => {
          const xs = x.subarray(b0 * D, (b0 + n) * D);
          const { F, coefs } = preconditionedForward(net, precond, xs, safe.subarray(b0, b0 + n), [n, ...itemShape], netLabels?.subarray(b0, b0 + n));
          for (let b = 0; b < n; b++) {
            const { cSkip, cOut } = coefs[b];
            const s = sigma[b0 + b];
            for (let i = b * D, o = (b0 + b) * D; i < (b + 1) * D; i++, o++) out[o] = s === 0 ? xs[i] : cSkip * xs[i] + cOut * F.data[i];
          }
        }, { items: n, full: micro });
      }
      return out;
    });
}
