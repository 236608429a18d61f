// Buffer reuse for inference. A forward pass allocates one fresh output array per op (about 3.5 MB
// per 28x28 MNIST item through the UNet); without reuse that is garbage the engine collects only when
// its external-memory heuristic fires (V8: some 64 MB above the last collection), so the isolate's
// memory is set by GC timing, not by what the model needs. Inside `withPool`, ops with no graph to
// record take their outputs from a pool, and every buffer taken returns to it when the scope ends
// (tf.tidy's idea, minus the manual disposal): after the first forward, a repeated forward allocates
// nothing, and memory stays at one forward's footprint. The caller bounds that footprint by the batch
// it runs per scope (networkDenoiser's micro-batches).
//
// Rules: only ops running without gradient use the pool (a graph keeps its buffers for backward);
// whatever the scope returns must not alias pool buffers (copy results out before the scope ends).

import { ArgumentError } from "../validate.ts";
import { isGradEnabled } from "./tensor.ts";

export class BufferPool {
  private readonly free = new Map<number, Float32Array[]>();
  private taken: Float32Array[] = [];
  private held = 0;
  private active = false;
  private scale = { items: 1, full: 1 };
  /** Fill reused buffers with NaN (tests: an op that reads its output before writing it shows up). */
  readonly poison: boolean;

  constructor(opts: { poison?: boolean } = {}) {
    this.poison = opts.poison ?? false;
  }

  /** Bytes this pool holds (free and in use). */
  get bytes(): number {
    return this.held * 4;
  }

  /** Drop every free buffer (memory is returned to the engine at its next collection). */
  clear(): void {
    if (this.active) throw new Error("BufferPool.clear: the pool is in use");
    for (const list of this.free.values()) for (const a of list) this.held -= a.length;
    this.free.clear();
  }

  take(n: number): Float32Array {
    // a micro-batch of `items` < full: every output scales with the batch, so its buffer is a view of
    // the full micro-batch's buffer of the same op, and tails add nothing to the pool
    const { items, full } = this.scale;
    const size = items !== full && n % items === 0 ? (n / items) * full : n;
    const list = this.free.get(size);
    let a = list?.pop();
    if (a === undefined) {
      a = new Float32Array(size);
      this.held += size;
    }
    this.taken.push(a);
    const view = size === n ? a : a.subarray(0, n);
    if (this.poison) view.fill(NaN);
    return view;
  }

  /** @internal */
  enter(items: number, full: number): Float32Array[] {
    if (this.active) throw new Error("BufferPool: nested use of the same pool");
    this.active = true;
    this.scale = { items, full };
    const outer = this.taken;
    this.taken = [];
    return outer;
  }

  /** @internal */
  exit(outer: Float32Array[]): void {
    for (const a of this.taken) {
      const list = this.free.get(a.length);
      if (list) list.push(a);
      else this.free.set(a.length, [a]);
    }
    this.taken = outer;
    this.active = false;
  }
}

let current: BufferPool | null = null;

/** A new output array of n floats: from the active pool when no graph is recorded, else fresh (zeroed). */
export function alloc(n: number): Float32Array {
  return current !== null && !isGradEnabled() ? current.take(n) : new Float32Array(n);
}

/**
 * Run fn with `pool` serving the ops' output arrays; every array it hands out goes back to the pool
 * when fn returns or throws. fn's result must not alias them, and fn must be synchronous. Pool arrays
 * are not zeroed: every op writes its whole output. `batch` (items in this scope, and the full
 * micro-batch they are part of) lets a short tail micro-batch reuse the full one's buffers.
 */
export function withPool<T>(pool: BufferPool, fn: () => T, batch: { items: number; full: number } = { items: 1, full: 1 }): T {
  if (!(Number.isInteger(batch.items) && Number.isInteger(batch.full) && batch.items >= 1 && batch.items <= batch.full)) {
    throw new ArgumentError("batch", `must have integers 1 <= items <= full, got ${JSON.stringify(batch)}`);
  }
  const prev = current;
  const outer = pool.enter(batch.items, batch.full);
  current = pool;
  try {
    const r = fn();
    // an async fn would return its buffers at its first await while still using them
    if (r !== null && typeof r === "object" && typeof (r as { then?: unknown }).then === "function") {
      throw new ArgumentError("fn", "must be synchronous: pool buffers go back when it returns");
    }
    return r;
  } finally {
    current = prev;
    pool.exit(outer);
  }
}
