// A worker thread of the parallel denoiser (src/parallel/node.ts), built to dist/parallel-worker.js
// with the kernels embedded. It loads its own copy of the model on the same kernel backend as the
// calling thread, says "ready", then serves jobs from shared memory until told to stop.
import { parentPort, workerData } from "node:worker_threads";
import { initKernels, loadModel, useKernels } from "../entry/embedded.ts";
import { DONE, GEN, type Layout, reportError, runShare, STOP, views } from "./shared.ts";

interface Data {
  buffer: SharedArrayBuffer;
  layout: Layout;
  index: number;
  model: Uint8Array;
  backend: "wasm" | "wasm-relaxed" | "ts";
}

const d = workerData as Data;
const v = views(d.buffer, d.layout);
try {
  const k = await initKernels(d.backend === "ts" ? { backend: "ts" } : { backend: "wasm", relaxed: d.backend === "wasm-relaxed" });
  if (k.backend !== d.backend) throw new Error(`worker ${d.index}: kernels ${k.backend}, the calling thread uses ${d.backend}`);
  useKernels(k);
  const model = loadModel(d.model);
  const denoise = model.denoiser(undefined, { microBatch: d.layout.microBatch });
  // read the generation before saying ready: a job posted right after "ready" must not be missed
  let gen = Atomics.load(v.ctrl, GEN);
  parentPort!.postMessage({ ready: true });
  for (;;) {
    Atomics.wait(v.ctrl, GEN, gen);
    gen = Atomics.load(v.ctrl, GEN);
    if (Atomics.load(v.ctrl, STOP) === 1) break;
    try {
      runShare(v, d.layout, d.index, denoise);
    } catch (e) {
      reportError(v, `worker ${d.index}: ${(e as Error)?.message ?? String(e)}`);
    }
    Atomics.add(v.ctrl, DONE, 1);
    Atomics.notify(v.ctrl, DONE);
  }
} catch (e) {
  parentPort!.postMessage({ ready: false, error: (e as Error)?.message ?? String(e) });
}
