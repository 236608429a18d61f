// The worker side of data-parallel training (pool.ts): build the network from its config on this
// thread's kernels, point its parameters at the shared block, say ready, then compute this thread's
// gradient shards for each job until told to stop. Blocks in Atomics.wait between jobs: run it in a
// worker, never on a page's main thread.

import { useKernels } from "../autograd/backend.ts";
import { initKernels } from "../kernels/index.ts";
import { buildNetwork, buildPreconditioner } from "../model.ts";
import type { TrainWorkerInit } from "./pool.ts";
import { reportTrainError, runTrainShare, shareParameters, trainViews, T_DONE, T_GEN, T_STOP } from "./shared.ts";

export async function serveTrainJobs(init: TrainWorkerInit, post: (message: { ready: boolean; error?: string }) => void): Promise<void> {
  const v = trainViews(init.buffer, init.layout);
  let net;
  let precond;
  let params;
  try {
    const k = await initKernels(init.backend === "ts" ? { backend: "ts" } : { backend: "wasm", relaxed: init.backend === "wasm-relaxed", winograd: init.winograd });
    if (k.backend !== init.backend || k.winograd !== init.winograd) {
      throw new Error(`kernels ${k.backend} (winograd ${k.winograd}) here, ${init.backend} (winograd ${init.winograd}) on the calling thread`);
    }
    useKernels(k);
    net = buildNetwork(init.config);
    precond = buildPreconditioner(init.precond);
    params = net.parameters();
    shareParameters(params, v.params, false);
  } catch (e) {
    post({ ready: false, error: (e as Error)?.message ?? String(e) });
    return;
  }
  let gen = Atomics.load(v.ctrl, T_GEN);
  post({ ready: true });
  for (;;) {
    Atomics.wait(v.ctrl, T_GEN, gen);
    gen = Atomics.load(v.ctrl, T_GEN);
    if (Atomics.load(v.ctrl, T_STOP) === 1) return;
    try {
      runTrainShare(v, init.layout, init.index, net, precond, init.weighting, params, init.itemShape);
    } catch (e) {
      reportTrainError(v, `worker ${init.index}: ${(e as Error)?.message ?? String(e)}`);
    }
    Atomics.add(v.ctrl, T_DONE, 1);
    Atomics.notify(v.ctrl, T_DONE);
  }
}
