// A LoadedModel whose denoiser splits each call's micro-batches over worker threads (shared memory and
// Atomics), so the samplers above it stay plain synchronous functions. Runtime-neutral: how a worker
// starts is the caller's `spawn` (worker_threads in Node: src/node/parallel.ts; Web Workers in a
// browser page that is crossOriginIsolated, or inside a worker: examples/demo). Same seed, same bytes:
// an item's output does not depend on the batch it runs in nor on the thread (every worker runs the
// same kernels backend on the same weights), so any thread count gives the bytes of one thread.
import { kernels } from "../autograd/backend.ts";
import type { LoadedModel } from "../model.ts";
import { loadModel } from "../model.ts";
import { ArgumentError } from "../validate.ts";
import { checkDenoiserCall, type InferenceOptions } from "../denoiser/network-denoiser.ts";
import { BATCH, DONE, ERROR, ERROR_LEN, GEN, HAS_LABELS, type Layout, MAX_THREADS, PROGRESS, readError, runShare, sharedBytes, STOP, views } from "./shared.ts";
import { stopWorkers, waitWorkers } from "./workers.ts";

/** What a worker needs to start serving: structured-cloneable (postMessage, workerData). */
export interface WorkerInit {
  buffer: SharedArrayBuffer;
  layout: Layout;
  /** 1..threads-1 (the calling thread is 0). */
  index: number;
  /** The model file's bytes. */
  model: Uint8Array;
  backend: "wasm" | "wasm-relaxed" | "ts";
  /** Winograd 3x3 convolutions on or off, as on the calling thread (it changes the last bits). */
  winograd: boolean;
}

/** A started worker (resolved once it is ready to serve jobs). */
export interface WorkerHandle {
  terminate(): Promise<unknown> | void;
  /** Resolves when the worker has exited (or is terminated). */
  exited: Promise<void>;
}

export type Spawn = (init: WorkerInit) => Promise<WorkerHandle>;

export interface ParallelOptions {
  /** Threads, the calling one included (parallelModel in Node: default the cores, at most 8). 1 starts no worker. */
  threads?: number;
  /** Items per network call (default 4, as model.denoiser): the unit of work a thread takes. */
  microBatch?: number;
  /** Items per round through shared memory (default 256); larger calls take several rounds. */
  maxBatch?: number;
  /** A call fails when no worker finishes a micro-batch for this long (default 120,000 ms). */
  stallMs?: number;
}

export interface ParallelModel extends LoadedModel {
  /** Threads in use, the calling one included. */
  readonly threads: number;
  /** Stop the worker threads. The model cannot sample afterwards. */
  close(): Promise<void>;
}


/**
 * Load a model (the bytes of a model file) for sampling on `threads` threads, starting workers with
 * `spawn`. Call after useKernels: the workers use the same backend. Await close() when done.
 */
export async function parallelModelWith(bytes: Uint8Array, spawn: Spawn, opts: ParallelOptions & { threads: number }): Promise<ParallelModel> {
  const int = (name: string, v: number | undefined, dflt: number, lo: number, hi: number) => {
    const x = v ?? dflt;
    if (!Number.isInteger(x) || x < lo || x > hi) throw new ArgumentError(name, `must be an integer in [${lo}, ${hi}], got ${x}`);
    return x;
  };
  const threads = int("threads", opts.threads, 1, 1, MAX_THREADS);
  const microBatch = int("microBatch", opts.microBatch, 4, 1, 4096);
  const maxBatch = int("maxBatch", opts.maxBatch, 256, microBatch, 65536);
  const stallMs = int("stallMs", opts.stallMs, 120_000, 1, 2 ** 31 - 1);
  const base = loadModel(bytes);
  const D = base.itemShape.reduce((a, b) => a * b, 1);
  if (threads === 1) return { ...base, threads: 1, close: async () => {} };

  const { backend, winograd } = kernels();
  const layout: Layout = { maxBatch, itemSize: D, threads, microBatch };
  const buffer = new SharedArrayBuffer(sharedBytes(layout));
  const v = views(buffer, layout);
  const pending = Array.from({ length: threads - 1 }, (_, i) => spawn({ buffer, layout, index: i + 1, model: bytes, backend, winograd }));
  const settled = await Promise.allSettled(pending);
  const started = settled.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const failed = settled.find((r) => r.status === "rejected");
  if (failed) {
    await Promise.all(started.map((w) => w.terminate()));
    throw (failed as PromiseRejectedResult).reason;
  }
  let state: "open" | "closed" | "broken" = "open";

  /** Block until every worker has finished the current job, or fail when none progresses for stallMs. */
  const waitAll = () =>
    waitWorkers({ ctrl: v.ctrl, done: DONE, progress: PROGRESS, threads }, stallMs, () => {
      state = "broken";
      return new Error(`parallel denoiser: no worker finished a micro-batch for ${stallMs} ms (did a worker crash?); the model is unusable, load it again`);
    });

  const denoiser = ((labels?: Int32Array, o?: InferenceOptions) => {
    const local = base.denoiser(labels, { microBatch, ...o });
    const share = base.denoiser(undefined, { microBatch });
    return (x: Float32Array, sigma: Float64Array, batch: number, callLabels?: Int32Array) => {
      if (state !== "open") throw new Error(`parallel denoiser: the model is ${state}`);
      if (batch <= microBatch) return local(x, sigma, batch, callLabels);
      // checked here, so an error names the item's index and no thread starts on a bad job
      const lab = checkDenoiserCall(base.itemShape, base.numClasses, x, sigma, batch, callLabels ?? labels);
      const out = new Float32Array(batch * D);
      for (let s = 0; s < batch; s += maxBatch) {
        const n = Math.min(maxBatch, batch - s);
        v.x.set(x.subarray(s * D, (s + n) * D));
        v.sigma.set(sigma.subarray(s, s + n));
        if (lab) v.labels.set(lab.subarray(s, s + n));
        Atomics.store(v.ctrl, BATCH, n);
        Atomics.store(v.ctrl, HAS_LABELS, lab ? 1 : 0);
        Atomics.store(v.ctrl, DONE, 0);
        Atomics.store(v.ctrl, ERROR, 0); // a failure belongs to the job it happened in
        Atomics.store(v.ctrl, ERROR_LEN, 0);
        Atomics.add(v.ctrl, GEN, 1);
        Atomics.notify(v.ctrl, GEN);
        let own: unknown = null;
        try {
          runShare(v, layout, 0, share);
        } catch (e) {
          own = e;
        }
        waitAll(); // even after our own failure: the next job must not overlap this one
        if (own) throw own;
        if (Atomics.load(v.ctrl, ERROR) === 1) throw new Error(`parallel denoiser: ${readError(v)}`);
        out.set(v.out.subarray(0, n * D), s * D);
      }
      return out;
    };
  }) as LoadedModel["denoiser"];

  return {
    ...base,
    denoiser,
    threads,
    async close() {
      if (state === "closed") return;
      state = "closed";
      // a worker leaves its loop on STOP; the ones that do not within 2 s are terminated
      await stopWorkers(v.ctrl, { stop: STOP, gen: GEN }, started);
    },
  };
}
