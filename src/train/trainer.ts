// The training loop: deterministic for a seed (every draw of step s comes from
// rng.stream("train").stream(s)), resumable from (parameters, AdamW moments, EMA, step), reporting
// progress and stopping on an AbortSignal or a non-finite loss.

import { BufferPool, withPool } from "../autograd/pool.ts";
import { noGrad } from "../autograd/tensor.ts";
import type { Denoiser } from "../denoiser.ts";
import { batchIndices } from "../data/dataset.ts";
import { Rng } from "../rng.ts";
import { ArgumentError, int } from "../validate.ts";
import { diffusionLoss, preconditionedForward, type LossConfig, type Network } from "./loss.ts";
import { AdamW, EMA, type AdamOptions } from "./optim.ts";
import type { Preconditioner } from "./precondition.ts";

export interface TrainData {
  /** [N, ...item] flat. */
  images: Float32Array;
  shape: readonly number[];
  labels?: Int32Array;
}

export interface Progress {
  step: number;
  steps: number;
  loss: number;
  /** Mean loss over the steps since the last report. */
  meanLoss: number;
  itPerSec: number;
  etaSeconds: number;
  gradNorm: number;
}

export interface TrainOptions {
  net: Network;
  precond: Preconditioner;
  loss: LossConfig;
  data: TrainData;
  batchSize: number;
  /** Train until this step (absolute: a resumed run continues from its state's step). */
  steps: number;
  seed: number;
  adam: AdamOptions;
  emaDecay?: number;
  /** Report every this many steps (default 10). */
  reportEvery?: number;
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
  /** Continue from here: the optimizer (with its step count) and EMA of an earlier run. */
  resume?: { adam: AdamW; ema: EMA };
}

export class NonFiniteLossError extends Error {
  constructor(readonly step: number, readonly value: number) {
    super(`training stopped: the loss at step ${step} is ${value}; the parameters before this step are kept`);
    this.name = "NonFiniteLossError";
  }
}

export interface TrainResult {
  adam: AdamW;
  ema: EMA;
  step: number;
  /** Loss of every step run in this call. */
  losses: Float64Array;
  aborted: boolean;
}

export function train(o: TrainOptions): TrainResult {
  const B = int("batchSize", o.batchSize, 1, 65536);
  const N = o.data.shape[0];
  int("data.shape[0]", N, 1);
  const D = o.data.images.length / N;
  if (!Number.isInteger(D) || D < 1) throw new ArgumentError("data.images", `length ${o.data.images.length} does not match shape [${o.data.shape.join(", ")}]`);
  if (o.data.labels && o.data.labels.length !== N) throw new ArgumentError("data.labels", `must have one label per image (${N}), got ${o.data.labels.length}`);
  const params = o.net.parameters();
  const adam = o.resume?.adam ?? new AdamW(params, o.adam);
  const ema = o.resume?.ema ?? new EMA(params, o.emaDecay ?? 0.999);
  const start = adam.step;
  int("steps", o.steps, start);
  const every = int("reportEvery", o.reportEvery ?? 10, 1);
  const root = new Rng(o.seed).stream("train");
  const losses = new Float64Array(o.steps - start);
  const t0 = performance.now();
  let windowLoss = 0;
  let windowN = 0;
  const itemShape = o.data.shape.slice(1);
  const x0 = new Float32Array(B * D);
  const labels = o.data.labels ? new Int32Array(B) : undefined;
  for (let s = start; s < o.steps; s++) {
    if (o.signal?.aborted) return { adam, ema, step: s, losses: losses.subarray(0, s - start), aborted: true };
    const rng = root.stream(s);
    const idx = batchIndices(rng, "batch", B, N); // uniform with replacement, from the step's own stream
    idx.forEach((j, b) => {
      x0.set(o.data.images.subarray(j * D, (j + 1) * D), b * D);
      if (labels) labels[b] = o.data.labels![j];
    });
    const loss = diffusionLoss(o.net, o.precond, o.loss, x0, [B, ...itemShape], rng, labels);
    const lv = loss.data[0];
    if (!Number.isFinite(lv)) throw new NonFiniteLossError(s, lv);
    adam.zeroGrad();
    loss.backward();
    const gradNorm = adam.update();
    if (!Number.isFinite(gradNorm)) throw new NonFiniteLossError(s, gradNorm);
    adam.zeroGrad();
    ema.update(params, s);
    losses[s - start] = lv;
    windowLoss += lv;
    windowN++;
    if (o.onProgress && ((s + 1) % every === 0 || s + 1 === o.steps)) {
      const el = (performance.now() - t0) / 1000;
      const done = s + 1 - start;
      const ips = done / Math.max(el, 1e-9);
      o.onProgress({ step: s + 1, steps: o.steps, loss: lv, meanLoss: windowLoss / windowN, itPerSec: ips, etaSeconds: (o.steps - s - 1) / ips, gradNorm });
      windowLoss = 0;
      windowN = 0;
    }
  }
  return { adam, ema, step: o.steps, losses, aborted: false };
}

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
): Denoiser & ((x: Float32Array, sigma: Float64Array, batch: number, labels?: Int32Array) => Float32Array) {
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
