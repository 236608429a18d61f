// The shared-memory layout between a parallel denoiser (the calling thread) and its worker threads.
// One SharedArrayBuffer holds a control block of Int32 slots (Atomics wait/notify on them), the batch's
// sigmas, labels and inputs, the outputs, and room for one error message. The calling thread writes a
// job and bumps GEN; every thread, the caller included, runs the micro-batches m with m mod T == its
// index; workers bump DONE when their share is written. Which thread ran an item never changes its
// bytes: the network's output for an item does not depend on the batch it ran in.

import type { LabelledDenoiser } from "../denoiser/contract.ts";

export const GEN = 0; // job generation: workers wait on it
export const DONE = 1; // workers finished with the current job
export const BATCH = 2; // items in the current job
export const HAS_LABELS = 3;
export const STOP = 4; // 1: workers leave their loop
export const ERROR = 5; // 1: a worker failed; its message is in the error bytes
export const ERROR_LEN = 6;
export const PROGRESS = 16; // PROGRESS + t: micro-batches worker t has finished (a liveness signal)
export const MAX_THREADS = 64;
const CTRL_INTS = PROGRESS + MAX_THREADS;
const ERROR_BYTES = 1024;

export interface Layout {
  /** Items per job (larger calls run as several jobs). */
  maxBatch: number;
  /** Floats per item. */
  itemSize: number;
  /** Threads, the caller included. */
  threads: number;
  /** Items per network call. */
  microBatch: number;
}

export interface Views {
  ctrl: Int32Array;
  sigma: Float64Array;
  labels: Int32Array;
  x: Float32Array;
  out: Float32Array;
  error: Uint8Array;
}

function offsets(l: Layout) {
  const sigma = CTRL_INTS * 4; // a multiple of 8
  const labels = sigma + l.maxBatch * 8;
  const x = labels + l.maxBatch * 4;
  const out = x + l.maxBatch * l.itemSize * 4;
  const error = out + l.maxBatch * l.itemSize * 4;
  return { sigma, labels, x, out, error, total: error + ERROR_BYTES };
}

export function sharedBytes(l: Layout): number {
  return offsets(l).total;
}

export function views(buf: SharedArrayBuffer, l: Layout): Views {
  const o = offsets(l);
  const n = l.maxBatch * l.itemSize;
  return {
    ctrl: new Int32Array(buf, 0, CTRL_INTS),
    sigma: new Float64Array(buf, o.sigma, l.maxBatch),
    labels: new Int32Array(buf, o.labels, l.maxBatch),
    x: new Float32Array(buf, o.x, n),
    out: new Float32Array(buf, o.out, n),
    error: new Uint8Array(buf, o.error, ERROR_BYTES),
  };
}

/** Run thread t's share of the current job: micro-batches t, t + T, t + 2T, ... */
export function runShare(v: Views, l: Layout, t: number, denoise: LabelledDenoiser): void {
  const batch = Atomics.load(v.ctrl, BATCH);
  const hasLabels = Atomics.load(v.ctrl, HAS_LABELS) === 1;
  const D = l.itemSize;
  for (let b0 = t * l.microBatch; b0 < batch; b0 += l.threads * l.microBatch) {
    const n = Math.min(l.microBatch, batch - b0);
    // copies out of shared memory: the ops then run on ordinary arrays
    const y = denoise(v.x.slice(b0 * D, (b0 + n) * D), v.sigma.slice(b0, b0 + n), n, hasLabels ? v.labels.slice(b0, b0 + n) : undefined);
    v.out.set(y, b0 * D);
    if (t > 0) Atomics.add(v.ctrl, PROGRESS + t, 1);
  }
}

/** Record a worker's failure for the calling thread (the first one wins). */
export function reportError(v: Views, message: string): void {
  if (Atomics.compareExchange(v.ctrl, ERROR, 0, 1) !== 0) return;
  const bytes = new TextEncoder().encode(message).subarray(0, v.error.length);
  v.error.set(bytes);
  Atomics.store(v.ctrl, ERROR_LEN, bytes.length);
}

export function readError(v: Views): string {
  return new TextDecoder().decode(v.error.slice(0, Atomics.load(v.ctrl, ERROR_LEN)));
}
