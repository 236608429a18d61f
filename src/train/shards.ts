// Gradient shards: a batch cut into a fixed number of contiguous shards, each shard's gradient computed
// on its own (on any thread), and the shards' gradients summed in shard order. The result depends on the
// shard count, never on how many threads computed the shards or which thread took which: data-parallel
// training gives the same bytes on 1, 2 or 8 threads (issue 15, item 2).
//
// The loss of the batch is the item-weighted mean of the shard losses, L = sum_s (n_s / B) L_s, so each
// shard backpropagates from the seed n_s / B and the summed gradient is the batch's gradient.

import type { Tensor } from "../autograd/tensor.ts";
import type { Network } from "../denoiser/network.ts";
import type { Preconditioner } from "../denoiser/precondition.ts";
import { ArgumentError, int } from "../validate.ts";
import { batchLoss, type LossBatch, type Weighting } from "./loss.ts";

/** Items [start, end) of a batch. */
export type ShardRange = readonly [number, number];

/** Split `batch` items into `shards` contiguous ranges, sizes differing by at most one (larger first). */
export function shardRanges(batch: number, shards: number): ShardRange[] {
  int("batch", batch, 1);
  int("shards", shards, 1, batch);
  const base = Math.floor(batch / shards);
  const extra = batch % shards;
  const out: ShardRange[] = [];
  let at = 0;
  for (let s = 0; s < shards; s++) {
    const n = base + (s < extra ? 1 : 0);
    out.push([at, at + n]);
    at += n;
  }
  return out;
}

/** Where each parameter sits in a flat gradient vector (the order of net.parameters()). */
export interface FlatLayout {
  names: string[];
  offsets: number[];
  total: number;
}

export function flatLayout(params: ReadonlyMap<string, Tensor>): FlatLayout {
  const names: string[] = [];
  const offsets: number[] = [];
  let total = 0;
  for (const [name, t] of params) {
    names.push(name);
    offsets.push(total);
    total += t.size;
  }
  return { names, offsets, total };
}

/**
 * One shard's contribution: the loss of its items times n_s / B, and its gradient written flat into
 * `out` (zeros for a parameter the loss does not reach). Leaves every .grad null.
 */
export function shardGradient(
  net: Network,
  precond: Preconditioner,
  weighting: Weighting,
  batch: LossBatch,
  range: ShardRange,
  params: ReadonlyMap<string, Tensor>,
  out: Float32Array,
): number {
  const B = batch.shape[0];
  const [start, end] = range;
  for (const t of params.values()) t.grad = null;
  const loss = batchLoss(net, precond, weighting, batch, start, end);
  const share = (end - start) / B;
  loss.backward(Float32Array.of(share));
  let at = 0;
  for (const t of params.values()) {
    if (t.grad) out.set(t.grad, at);
    else out.fill(0, at, at + t.size);
    at += t.size;
    t.grad = null;
  }
  if (at !== out.length) throw new ArgumentError("out", `must hold ${at} gradient values, got ${out.length}`);
  return share * loss.data[0];
}

/**
 * Sum the shards' flat gradients in shard order (float32, one rounding per add, as every thread count
 * does it) into each parameter's .grad. Returns nothing; the loss is summed by the caller.
 */
export function mergeShardGradients(params: ReadonlyMap<string, Tensor>, grads: readonly Float32Array[]): void {
  let at = 0;
  for (const t of params.values()) {
    const g = new Float32Array(t.size);
    g.set(grads[0].subarray(at, at + t.size));
    for (let s = 1; s < grads.length; s++) {
      const src = grads[s];
      for (let i = 0; i < g.length; i++) g[i] += src[at + i];
    }
    t.grad = g;
    at += t.size;
  }
}

/** Computes every shard's gradient and scaled loss for a drawn batch: on this thread, or on workers. */
export interface ShardGradients {
  run(batch: LossBatch, ranges: readonly ShardRange[]): { grads: readonly Float32Array[]; losses: Float64Array };
}

/** The shards one after another on the calling thread. */
export function localShardGradients(net: Network, precond: Preconditioner, weighting: Weighting): ShardGradients {
  const params = net.parameters();
  const total = flatLayout(params).total;
  let bufs: Float32Array[] = [];
  return {
    run(batch, ranges) {
      while (bufs.length < ranges.length) bufs.push(new Float32Array(total));
      if (bufs.length > ranges.length) bufs = bufs.slice(0, ranges.length);
      const losses = new Float64Array(ranges.length);
      ranges.forEach((r, s) => {
        losses[s] = shardGradient(net, precond, weighting, batch, r, params, bufs[s]);
      });
      return { grads: bufs, losses };
    },
  };
}
