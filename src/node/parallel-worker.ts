// A worker thread of parallelModel in Node, built to dist/parallel-worker.js with the library and its
// kernels embedded (the embedded entry sets the default wasm source).
import { parentPort, workerData } from "node:worker_threads";
import { serveParallelJobs, type WorkerInit } from "../entry/embedded.ts";

await serveParallelJobs(workerData as WorkerInit, (m) => parentPort!.postMessage(m));
process.exit(0); // STOP: leave even if something still holds the event loop
