// Which kernels the autograd ops run on. The default is the TypeScript reference backend, available
// synchronously everywhere; `useKernels(await initKernels())` switches to WASM SIMD.
import { createTsKernels } from "../kernels/ts/index.ts";
import type { Kernels } from "../kernels/types.ts";

let current: Kernels | null = null;

export function kernels(): Kernels {
  if (current === null) current = createTsKernels();
  return current;
}

/** Run every op from now on with `k` (e.g. the WASM SIMD backend from initKernels()). */
export function useKernels(k: Kernels): void {
  current = k;
}
