// Data-parallel training on T threads (issue 15, item 2): the calling thread and T - 1 workers each
// compute the gradients of their gradient shards (shard s on thread s mod T) for the same drawn batch,
// and the trainer sums the shards in shard order. Same shard count, same bytes, for any T including 1
// (src/train/shards.ts). The network's parameters move into shared memory, so the optimizer's in-place
// update on this thread is what every worker reads at the next step; no weights are sent per step.
// Runtime-neutral: the worker threads come from a `spawn` function (Node: src/node/train-workers.ts).

import { kernels } from "../autograd/backend.ts";
import type { Network } from "../denoiser/network.ts";
import type { Preconditioner } from "../denoiser/precondition.ts";
import type { NetworkConfig, PrecondSpec } from "../model.ts";
import type { Weighting } from "../train/loss.ts";
import { flatLayout, type ShardGradients } from "../train/shards.ts";
import { ArgumentError, int } from "../validate.ts";
import { stopWorkers, waitWorkers } from "../parallel/workers.ts";
import {
  readTrainError,
  runTrainShare,
  shareParameters,
  trainSharedBytes,
  trainViews,
  T_BATCH,
  T_DONE,
  T_ERROR,
  T_ERROR_LEN,
  T_GEN,
  T_HAS_LABELS,
  T_PROGRESS,
  T_SHARDS,
  T_STOP,
  type TrainLayout,
} from "./shared.ts";

/** What a training worker needs to start: plain data, so it can be posted to any kind of worker. */
export interface TrainWorkerInit {
  buffer: SharedArrayBuffer;
  layout: TrainLayout;
  index: number;
  config: NetworkConfig;
  precond: PrecondSpec;
  weighting: Weighting;
  itemShape: number[];
  backend: string;
  winograd: boolean;
}

export interface TrainWorkerHandle {
  terminate(): Promise<number>;
  exited: Promise<void>;
}

export type TrainSpawn = (init: TrainWorkerInit) => Promise<TrainWorkerHandle>;

export interface ParallelTrainOptions {
  /** Threads, the calling one included (>= 1; 1 starts no worker). */
  threads: number;
  /** Gradient shards per batch (the trainer's `shards`); at most this many threads do work. */
  shards: number;
  /** Largest batch (items). */
  maxBatch: number;
  /** A step fails when no worker finishes a shard for this long (default 300,000 ms). */
  stallMs?: number;
}

export interface ParallelGradients extends ShardGradients {
  readonly threads: number;
  close(): Promise<void>;
}

/**
 * Start T - 1 training workers for `net` (its parameters move into shared memory now). Pass the result
 * as the trainer's `gradients` with the same `shards`; await close() when training ends.
 */
export async function parallelGradients(
  net: Network,
  precond: Preconditioner,
  spec: { config: NetworkConfig; precond: PrecondSpec; weighting: Weighting; itemShape: readonly number[] },
  spawn: TrainSpawn,
  opts: ParallelTrainOptions,
): Promise<ParallelGradients> {
  const shards = int("shards", opts.shards, 1, 65536);
  const threads = Math.min(int("threads", opts.threads, 1, 64), shards);
  const maxBatch = int("maxBatch", opts.maxBatch, shards, 65536);
  const stallMs = int("stallMs", opts.stallMs ?? 300_000, 1, 2 ** 31 - 1);
  const params = net.parameters();
  const itemSize = spec.itemShape.reduce((a, b) => a * b, 1);
  const layout: TrainLayout = { params: flatLayout(params).total, maxBatch, itemSize, shards, threads };
  const buffer = new SharedArrayBuffer(trainSharedBytes(layout));
  const v = trainViews(buffer, layout);
  shareParameters(params, v.params, true);
  const { backend, winograd } = kernels();
  const init = (index: number): TrainWorkerInit => ({
    buffer,
    layout,
    index,
    config: spec.config,
    precond: spec.precond,
    weighting: spec.weighting,
    itemShape: [...spec.itemShape],
    backend,
    winograd,
  });
  const settled = await Promise.allSettled(Array.from({ length: threads - 1 }, (_, i) => spawn(init(i + 1))));
  const started = settled.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const failed = settled.find((r) => r.status === "rejected");
  if (failed) {
    await Promise.all(started.map((w) => w.terminate()));
    throw (failed as PromiseRejectedResult).reason;
  }
  let state: "open" | "closed" | "broken" = "open";

  const waitAll = () =>
    waitWorkers({ ctrl: v.ctrl, done: T_DONE, progress: T_PROGRESS, threads }, stallMs, () => {
      state = "broken";
      return new Error(`data-parallel training: no worker finished a shard for ${stallMs} ms (did a worker crash?)`);
    });

  return {
    threads,
    run(batch, ranges) {
      if (state !== "open") throw new Error(`data-parallel training: the worker pool is ${state}`);
      const B = batch.shape[0];
      if (B > maxBatch) throw new ArgumentError("batchSize", `is ${B}, above the pool's maxBatch ${maxBatch}`);
      if (ranges.length !== shards) throw new ArgumentError("shards", `the pool was started for ${shards} shards, the step asks for ${ranges.length}`);
      const n = B * itemSize;
      v.x0.set(batch.x0.subarray(0, n));
      v.x.set(batch.x.subarray(0, n));
      v.sigmas.set(batch.sigmas);
      if (batch.labels) v.labels.set(batch.labels);
      ranges.forEach(([a, b], s) => {
        v.ranges[2 * s] = a;
        v.ranges[2 * s + 1] = b;
      });
      Atomics.store(v.ctrl, T_BATCH, B);
      Atomics.store(v.ctrl, T_SHARDS, ranges.length);
      Atomics.store(v.ctrl, T_HAS_LABELS, batch.labels ? 1 : 0);
      Atomics.store(v.ctrl, T_DONE, 0);
      Atomics.store(v.ctrl, T_ERROR, 0);
      Atomics.store(v.ctrl, T_ERROR_LEN, 0);
      Atomics.add(v.ctrl, T_GEN, 1);
      Atomics.notify(v.ctrl, T_GEN);
      let own: unknown = null;
      try {
        runTrainShare(v, layout, 0, net, precond, spec.weighting, params, spec.itemShape);
      } catch (e) {
        own = e;
      }
      waitAll();
      if (own) throw own;
      if (Atomics.load(v.ctrl, T_ERROR) === 1) throw new Error(`data-parallel training: ${readTrainError(v)}`);
      return { grads: v.grads.slice(0, ranges.length), losses: v.losses.slice(0, ranges.length) };
    },
    async close() {
      if (state === "closed") return;
      state = "closed";
      await stopWorkers(v.ctrl, { stop: T_STOP, gen: T_GEN }, started);
    },
  };
}
