// A worker thread of data-parallel training in Node, built to dist/train-worker.js with the library and
// its kernels embedded.
import { parentPort, workerData } from "node:worker_threads";
import { serveTrainJobs, type TrainWorkerInit } from "../entry/embedded.ts";

await serveTrainJobs(workerData as TrainWorkerInit, (m) => parentPort!.postMessage(m));
process.exit(0);
