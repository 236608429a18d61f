// The shared memory of data-parallel training (train-pool.ts, the calling thread; train-serve.ts, the
// workers). One SharedArrayBuffer holds a control block (Int32 slots for Atomics), the network's
// parameters (every thread's network views them: the optimizer updates them in place on the calling
// thread between steps, when no worker runs), the drawn batch, the shard ranges, one flat gradient and
// one loss per shard, and room for an error message. Shard s runs on thread s mod T.

import type { Tensor } from "../autograd/tensor.ts";
import { flatLayout, shardGradient, type ShardRange } from "../train/shards.ts";
import type { LossBatch, Weighting } from "../train/loss.ts";
import type { Network } from "../denoiser/network.ts";
import type { Preconditioner } from "../denoiser/precondition.ts";

export const T_GEN = 0;
export const T_DONE = 1;
export const T_BATCH = 2;
export const T_SHARDS = 3;
export const T_STOP = 4;
export const T_ERROR = 5;
export const T_ERROR_LEN = 6;
export const T_HAS_LABELS = 7;
export const T_PROGRESS = 16; // + t: shards worker t has finished (liveness)
const CTRL = 16 + 64;
const ERROR_BYTES = 1024;

export interface TrainLayout {
  /** Parameters, flat (the order of net.parameters()). */
  params: number;
  maxBatch: number;
  itemSize: number;
  shards: number;
  threads: number;
}

export interface TrainViews {
  ctrl: Int32Array;
  params: Float32Array;
  x0: Float32Array;
  x: Float32Array;
  sigmas: Float64Array;
  labels: Int32Array;
  ranges: Int32Array;
  losses: Float64Array;
  grads: Float32Array[];
  error: Uint8Array;
}

const align8 = (n: number) => Math.ceil(n / 8) * 8;

function offsets(l: TrainLayout) {
  const n = l.maxBatch * l.itemSize;
  const sigmas = CTRL * 4;
  const losses = sigmas + l.maxBatch * 8;
  const params = losses + l.shards * 8;
  const x0 = align8(params + l.params * 4);
  const x = align8(x0 + n * 4);
  const labels = align8(x + n * 4);
  const ranges = align8(labels + l.maxBatch * 4);
  const grads = align8(ranges + l.shards * 8);
  const error = align8(grads + l.shards * l.params * 4);
  return { sigmas, losses, params, x0, x, labels, ranges, grads, error, total: error + ERROR_BYTES };
}

export function trainSharedBytes(l: TrainLayout): number {
  return offsets(l).total;
}

export function trainViews(buf: SharedArrayBuffer, l: TrainLayout): TrainViews {
  const o = offsets(l);
  const n = l.maxBatch * l.itemSize;
  return {
    ctrl: new Int32Array(buf, 0, CTRL),
    sigmas: new Float64Array(buf, o.sigmas, l.maxBatch),
    losses: new Float64Array(buf, o.losses, l.shards),
    params: new Float32Array(buf, o.params, l.params),
    x0: new Float32Array(buf, o.x0, n),
    x: new Float32Array(buf, o.x, n),
    labels: new Int32Array(buf, o.labels, l.maxBatch),
    ranges: new Int32Array(buf, o.ranges, l.shards * 2),
    grads: Array.from({ length: l.shards }, (_, s) => new Float32Array(buf, o.grads + s * l.params * 4, l.params)),
    error: new Uint8Array(buf, o.error, ERROR_BYTES),
  };
}

/**
 * Make a network's parameters views of the shared parameter block (copying their current values in
 * when `copyIn`), so every thread's network reads the same weights without a copy per step.
 */
export function shareParameters(params: ReadonlyMap<string, Tensor>, shared: Float32Array, copyIn: boolean): void {
  const layout = flatLayout(params);
  if (layout.total !== shared.length) throw new Error(`parameter block holds ${shared.length} values, the network has ${layout.total}`);
  let i = 0;
  for (const t of params.values()) {
    const view = shared.subarray(layout.offsets[i], layout.offsets[i] + t.size);
    if (copyIn) view.set(t.data);
    // the tensor's storage moves into shared memory; shape and identity stay (optimizer state keys on the name)
    (t as { data: Float32Array }).data = view;
    i++;
  }
}

/** The batch a job holds, as views (no copies: batchLoss reads it). */
export function sharedBatch(v: TrainViews, l: TrainLayout, itemShape: readonly number[]): LossBatch {
  const B = Atomics.load(v.ctrl, T_BATCH);
  const n = B * l.itemSize;
  return {
    x0: v.x0.subarray(0, n),
    x: v.x.subarray(0, n),
    sigmas: v.sigmas.subarray(0, B),
    labels: Atomics.load(v.ctrl, T_HAS_LABELS) === 1 ? v.labels.subarray(0, B) : undefined,
    shape: [B, ...itemShape],
  };
}

/** Run thread t's shards of the current job (s = t, t + T, ...). */
export function runTrainShare(
  v: TrainViews,
  l: TrainLayout,
  t: number,
  net: Network,
  precond: Preconditioner,
  weighting: Weighting,
  params: ReadonlyMap<string, Tensor>,
  itemShape: readonly number[],
): void {
  const shards = Atomics.load(v.ctrl, T_SHARDS);
  const batch = sharedBatch(v, l, itemShape);
  for (let s = t; s < shards; s += l.threads) {
    const range: ShardRange = [v.ranges[2 * s], v.ranges[2 * s + 1]];
    v.losses[s] = shardGradient(net, precond, weighting, batch, range, params, v.grads[s]);
    if (t > 0) Atomics.add(v.ctrl, T_PROGRESS + t, 1);
  }
}

export function reportTrainError(v: TrainViews, message: string): void {
  if (Atomics.compareExchange(v.ctrl, T_ERROR, 0, 1) !== 0) return;
  const bytes = new TextEncoder().encode(message).subarray(0, v.error.length);
  v.error.set(bytes);
  Atomics.store(v.ctrl, T_ERROR_LEN, bytes.length);
}

export function readTrainError(v: TrainViews): string {
  return new TextDecoder().decode(v.error.slice(0, Atomics.load(v.ctrl, T_ERROR_LEN)));
}
