// Sampling on every core in Node: parallelModelWith (src/parallel/host.ts) over worker_threads running
// dist/parallel-worker.js (built from ./parallel-worker.ts). Imports the library only through
// ../index.ts, which the Node bundle keeps external, so that the calling thread's share runs on the
// kernels the user chose with useKernels.
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { parallelModelWith, type ParallelModel, type ParallelOptions, type WorkerInit } from "../index.ts";

function workerUrl(): URL {
  // beside the bundle (dist/node.js, dist/cli.js), or dist/ seen from src/node/
  const candidates = [new URL("./parallel-worker.js", import.meta.url), new URL("../../dist/parallel-worker.js", import.meta.url)];
  const found = candidates.find((u) => existsSync(fileURLToPath(u)));
  if (!found) throw new Error(`parallelModel: parallel-worker.js not found (looked at ${candidates.map((u) => fileURLToPath(u)).join(", ")}); run npm run build`);
  return found;
}

function spawnNode(init: WorkerInit): Promise<{ terminate: () => Promise<number>; exited: Promise<void> }> {
  const w = new Worker(workerUrl(), { workerData: init });
  const exited = new Promise<void>((resolve) => w.once("exit", () => resolve()));
  return new Promise((resolve, reject) => {
    w.once("message", (m: { ready: boolean; error?: string }) => {
      if (!m.ready) return reject(new Error(`parallelModel: worker ${init.index} failed to start: ${m.error}`));
      w.removeAllListeners("error");
      w.on("error", () => {}); // a later failure shows as a stall in the next call
      w.unref(); // idle workers do not keep Node alive
      resolve({ terminate: () => w.terminate(), exited });
    });
    w.once("error", reject);
    void exited.then(() => reject(new Error(`parallelModel: worker ${init.index} exited while starting`)));
  });
}

/**
 * Load a model (the bytes of a model file) for sampling on `threads` threads (default: the cores Node
 * reports, at most 8). Call after useKernels; await close() when done.
 */
export function parallelModel(bytes: Uint8Array, opts: ParallelOptions = {}): Promise<ParallelModel> {
  return parallelModelWith(bytes, spawnNode, { ...opts, threads: opts.threads ?? Math.min(8, availableParallelism()) });
}
