// Waiting for and stopping worker threads that share an Int32 control block: written once for the
// parallel denoiser (host.ts) and data-parallel training (train-parallel/pool.ts).

/** The control slots a pool's workers report through. */
export interface WorkerSlots {
  ctrl: Int32Array;
  /** Slot counting the workers done with the current job. */
  done: number;
  /** First of the per-worker liveness counters (slot progress + t for worker t). */
  progress: number;
  /** Threads, the calling one (index 0) included. */
  threads: number;
}

/**
 * Block until every worker (threads - 1 of them) has finished the current job. Throws `stalled()` when
 * no worker's liveness counter moved for stallMs: a crashed worker must not hang the caller forever.
 */
export function waitWorkers(s: WorkerSlots, stallMs: number, stalled: () => Error): void {
  const progress = () => {
    let n = 0;
    for (let t = 1; t < s.threads; t++) n += Atomics.load(s.ctrl, s.progress + t);
    return n;
  };
  let last = progress();
  let since = Date.now();
  for (;;) {
    const done = Atomics.load(s.ctrl, s.done);
    if (done >= s.threads - 1) return;
    Atomics.wait(s.ctrl, s.done, done, 200);
    const p = progress();
    if (p !== last) {
      last = p;
      since = Date.now();
    } else if (Date.now() - since > stallMs) {
      throw stalled();
    }
  }
}

/**
 * Tell the workers to leave their loop (the stop slot, then a new generation to wake them) and wait
 * for them to exit; any still running after 2 s is terminated.
 */
export async function stopWorkers(
  ctrl: Int32Array,
  slots: { stop: number; gen: number },
  workers: readonly { terminate(): unknown; exited: Promise<void> }[],
): Promise<void> {
  Atomics.store(ctrl, slots.stop, 1);
  Atomics.add(ctrl, slots.gen, 1);
  Atomics.notify(ctrl, slots.gen);
  await Promise.all(
    workers.map((w) => {
      const t = setTimeout(() => void w.terminate(), 2000);
      return w.exited.then(() => clearTimeout(t));
    }),
  );
}
