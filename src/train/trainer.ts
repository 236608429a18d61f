// The training loop: deterministic for a seed (every draw of step s comes from
// rng.stream("train").stream(s)), resumable from (parameters, AdamW moments, EMA, step), reporting
// progress and stopping on an AbortSignal or a non-finite loss. Two drivers share one step function:
// `train` runs synchronously; `trainAsync` yields to the event loop between steps, so a signal handler,
// a UI's "stop" button or a worker's message can run and abort it (issue 14, point 1). Both give the same
// bytes: a step's draws depend on its index only, never on when or how often the loop yields.

import { batchIndices } from "../data/dataset.ts";
import type { Network } from "../denoiser/network.ts";
import type { Preconditioner } from "../denoiser/precondition.ts";
import { Rng } from "../rng.ts";
import { ArgumentError, int } from "../validate.ts";
import { batchLoss, drawLossBatch, type LossConfig } from "./loss.ts";
import { AdamW, EMA, type AdamOptions } from "./optim.ts";
import { localShardGradients, mergeShardGradients, shardRanges, type ShardGradients } from "./shards.ts";

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
  /**
   * Cut each batch into this many gradient shards (default 1: one pass over the batch). The bytes of a
   * run depend on the shard count and never on the threads: see src/train/shards.ts.
   */
  shards?: number;
  /** Who computes the shards (default: this thread, one after another); e.g. worker threads. */
  gradients?: ShardGradients;
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

/** Options of `trainAsync`: those of `train`, and how often it yields. */
export interface TrainAsyncOptions extends TrainOptions {
  /** Yield to the event loop after every this many steps (default 1); the bytes do not depend on it. */
  yieldEvery?: number;
}

/** One training run's state and its step function, shared by the synchronous and the yielding driver. */
function trainer(o: TrainOptions) {
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
  const shards = int("shards", o.shards ?? 1, 1, B);
  const ranges = shardRanges(B, shards);
  const sharded = shards > 1 || o.gradients !== undefined;
  const gradients = sharded ? (o.gradients ?? localShardGradients(o.net, o.precond, o.loss.weighting)) : null;
  const root = new Rng(o.seed).stream("train");
  const losses = new Float64Array(o.steps - start);
  const t0 = performance.now();
  let windowLoss = 0;
  let windowN = 0;
  const itemShape = o.data.shape.slice(1);
  const x0 = new Float32Array(B * D);
  const labels = o.data.labels ? new Int32Array(B) : undefined;
  /** Run step s (s = adam.step) and report if it ends a report window. */
  const step = (s: number): void => {
    const rng = root.stream(s);
    const idx = batchIndices(rng, "batch", B, N); // uniform with replacement, from the step's own stream
    idx.forEach((j, b) => {
      x0.set(o.data.images.subarray(j * D, (j + 1) * D), b * D);
      if (labels) labels[b] = o.data.labels![j];
    });
    const batch = drawLossBatch(o.loss, x0, [B, ...itemShape], rng, o.net.config.numClasses, labels);
    let lv: number;
    if (gradients) {
      const r = gradients.run(batch, ranges);
      lv = 0;
      for (let k = 0; k < r.losses.length; k++) lv += r.losses[k];
      if (!Number.isFinite(lv)) throw new NonFiniteLossError(s, lv);
      mergeShardGradients(params, r.grads);
    } else {
      const loss = batchLoss(o.net, o.precond, o.loss.weighting, batch);
      lv = loss.data[0];
      if (!Number.isFinite(lv)) throw new NonFiniteLossError(s, lv);
      adam.zeroGrad();
      loss.backward();
    }
    const gradNorm = adam.update();
    if (!Number.isFinite(gradNorm)) throw new NonFiniteLossError(s, gradNorm);
    adam.zeroGrad();
    ema.update(params, s);
    losses[s - start] = lv;
    windowLoss += lv;
    windowN++;
    if (o.onProgress && ((s + 1) % every === 0 || s + 1 === o.steps)) {
      // rate and ETA over the steps of this call only: a resumed run's earlier steps took no time here
      const el = (performance.now() - t0) / 1000;
      const done = s + 1 - start;
      const ips = done / Math.max(el, 1e-9);
      o.onProgress({ step: s + 1, steps: o.steps, loss: lv, meanLoss: windowLoss / windowN, itPerSec: ips, etaSeconds: (o.steps - s - 1) / ips, gradNorm });
      windowLoss = 0;
      windowN = 0;
    }
  };
  const result = (s: number, aborted: boolean): TrainResult => ({ adam, ema, step: s, losses: aborted ? losses.subarray(0, s - start) : losses, aborted });
  return { start, end: o.steps, step, result };
}

/** Train synchronously from the state's step to `o.steps`. The signal is checked between steps. */
export function train(o: TrainOptions): TrainResult {
  const t = trainer(o);
  for (let s = t.start; s < t.end; s++) {
    if (o.signal?.aborted) return t.result(s, true);
    t.step(s);
  }
  return t.result(t.end, false);
}

/**
 * A macrotask boundary in every runtime: Node and Bun's setImmediate (runs after pending I/O and
 * signal callbacks, without a timer's clamp), else a MessageChannel message (browsers, Deno, workerd;
 * nested setTimeout(0) is clamped to 4 ms in browsers), else setTimeout.
 */
export function nextTask(): Promise<void> {
  const g = globalThis as { setImmediate?: (f: () => void) => unknown; MessageChannel?: typeof MessageChannel };
  if (typeof g.setImmediate === "function") return new Promise((resolve) => g.setImmediate!(resolve));
  if (typeof g.MessageChannel === "function") {
    return new Promise((resolve) => {
      const ch = new g.MessageChannel!();
      ch.port1.onmessage = () => {
        ch.port1.close();
        resolve();
      };
      ch.port2.postMessage(null);
    });
  }
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Train like `train`, awaiting a macrotask after every `yieldEvery` steps, so event handlers run while
 * it trains: abort `o.signal` (from a SIGINT handler, a button, a message) and it returns after the step
 * in progress, with `aborted: true` and the state of the last finished step, ready to checkpoint and
 * resume. Same seed, same bytes as `train`.
 */
export async function trainAsync(o: TrainAsyncOptions): Promise<TrainResult> {
  const yieldEvery = int("yieldEvery", o.yieldEvery ?? 1, 1);
  const t = trainer(o);
  for (let s = t.start; s < t.end; s++) {
    if (o.signal?.aborted) return t.result(s, true);
    t.step(s);
    if ((s + 1 - t.start) % yieldEvery === 0) await nextTask();
  }
  return t.result(t.end, false);
}
