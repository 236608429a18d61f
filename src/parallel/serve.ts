// The worker side of the parallel denoiser (src/parallel/host.ts), runtime-neutral: load the model on
// the calling thread's kernels backend, say "ready" through `post`, then serve jobs from shared memory
// until told to stop. It blocks its thread in Atomics.wait between jobs: run it in a worker, never on a
// page's main thread. Entry points: dist/parallel-worker.js (Node), examples/demo's parallel worker.
import { useKernels } from "../autograd/backend.ts";
import { initKernels } from "../kernels/index.ts";
import { loadModel } from "../model.ts";
import type { WorkerInit } from "./host.ts";
import { DONE, GEN, reportError, runShare, STOP, views } from "./shared.ts";

export async function serveParallelJobs(init: WorkerInit, post: (message: { ready: boolean; error?: string }) => void): Promise<void> {
  const v = views(init.buffer, init.layout);
  let denoise;
  try {
    const k = await initKernels(init.backend === "ts" ? { backend: "ts" } : { backend: "wasm", relaxed: init.backend === "wasm-relaxed", winograd: init.winograd });
    if (k.backend !== init.backend || k.winograd !== init.winograd) {
      throw new Error(`kernels ${k.backend} (winograd ${k.winograd}) here, ${init.backend} (winograd ${init.winograd}) on the calling thread`);
    }
    useKernels(k);
    denoise = loadModel(init.model).denoiser(undefined, { microBatch: init.layout.microBatch });
  } catch (e) {
    post({ ready: false, error: (e as Error)?.message ?? String(e) });
    return;
  }
  // read the generation before saying ready: a job posted right after "ready" must not be missed
  let gen = Atomics.load(v.ctrl, GEN);
  post({ ready: true });
  for (;;) {
    Atomics.wait(v.ctrl, GEN, gen);
    gen = Atomics.load(v.ctrl, GEN);
    if (Atomics.load(v.ctrl, STOP) === 1) return;
    try {
      runShare(v, init.layout, init.index, denoise);
    } catch (e) {
      reportError(v, `worker ${init.index}: ${(e as Error)?.message ?? String(e)}`);
    }
    Atomics.add(v.ctrl, DONE, 1);
    Atomics.notify(v.ctrl, DONE);
  }
}
