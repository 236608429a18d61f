// Data-parallel training on every core in Node: parallelGradients (src/train-parallel/pool.ts) over
// worker_threads running dist/train-worker.js. Imports the library only through ../index.ts (kept
// external by the Node bundle), so the calling thread trains on the kernels the user chose.
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { parallelGradients, type ParallelGradients, type ParallelTrainOptions, type TrainWorkerInit } from "../index.ts";
import type { Network, NetworkConfig, Preconditioner, PrecondSpec, Weighting } from "../index.ts";

function workerUrl(): URL {
  const candidates = [new URL("./train-worker.js", import.meta.url), new URL("../../dist/train-worker.js", import.meta.url)];
  const found = candidates.find((u) => existsSync(fileURLToPath(u)));
  if (!found) throw new Error(`data-parallel training: train-worker.js not found (looked at ${candidates.map((u) => fileURLToPath(u)).join(", ")}); run npm run build`);
  return found;
}

function spawnNode(init: TrainWorkerInit): Promise<{ terminate: () => Promise<number>; exited: Promise<void> }> {
  const w = new Worker(workerUrl(), { workerData: init });
  const exited = new Promise<void>((resolve) => w.once("exit", () => resolve()));
  return new Promise((resolve, reject) => {
    w.once("message", (m: { ready: boolean; error?: string }) => {
      if (!m.ready) return reject(new Error(`data-parallel training: worker ${init.index} failed to start: ${m.error}`));
      w.removeAllListeners("error");
      w.on("error", () => {});
      w.unref();
      resolve({ terminate: () => w.terminate(), exited });
    });
    w.once("error", reject);
    void exited.then(() => reject(new Error(`data-parallel training: worker ${init.index} exited while starting`)));
  });
}

/** The cores Node reports, at most 8: what `--threads auto` means. */
export function autoThreads(): number {
  return Math.max(1, Math.min(8, availableParallelism()));
}

/** Start training workers in Node for `net` (see parallelGradients). */
export function nodeTrainGradients(
  net: Network,
  precond: Preconditioner,
  spec: { config: NetworkConfig; precond: PrecondSpec; weighting: Weighting; itemShape: readonly number[] },
  opts: ParallelTrainOptions,
): Promise<ParallelGradients> {
  return parallelGradients(net, precond, spec, spawnNode, opts);
}
