// A helper thread of the digits worker (worker.ts) when the page is crossOriginIsolated: it receives
// its share of each denoiser call through shared memory (the library's serveParallelJobs), so the
// digits use every core and stay the same bytes as on one thread.
import { serveParallelJobs, type WorkerInit } from "edge-diffusion";

const scope = self as unknown as { onmessage: ((e: MessageEvent<WorkerInit>) => void) | null; postMessage(m: unknown): void; close(): void };
scope.onmessage = (e) => {
  scope.onmessage = null;
  void serveParallelJobs(e.data, (m) => scope.postMessage(m)).then(() => {
    scope.postMessage({ exited: true });
    scope.close();
  });
};
