// The training loop: deterministic for a seed (every draw of step s comes from
// rng.stream("train").stream(s)), resumable from (parameters, AdamW moments, EMA, step), reporting
// progress and stopping on an AbortSignal or a non-finite loss.

import { batchIndices } from "../data/dataset.ts";
import type { Network } from "../denoiser/network.ts";
import type { Preconditioner } from "../denoiser/precondition.ts";
import { Rng } from "../rng.ts";
import { ArgumentError, int } from "../validate.ts";
import { diffusionLoss, type LossConfig } from "./loss.ts";
import { AdamW, EMA, type AdamOptions } from "./optim.ts";

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
