// The one contract between the kernels and everything above them (tensors, autograd, samplers, Adam):
// `Kernels`, whose methods are the kernel table (./table.ts, with each kernel's documentation and the
// conventions), plus the arena extension that benches and tests use to place arrays in a backend's
// memory. Two implementations: src/kernels/ts (plain TypeScript, readable, the test oracle and the
// fallback) and src/kernels/wasm (TS checks shapes; WASM SIMD does the arithmetic).

import type { Conv2dShape } from "./args.ts";
import type { KernelMethods } from "./table.ts";

export { conv2dOutSize, type Activation, type AdamStep, type Conv2dShape, type ConvDims } from "./args.ts";

/** Which implementation runs the arithmetic. */
export type BackendName = "ts" | "wasm" | "wasm-relaxed";

export interface Kernels extends KernelMethods {
  readonly backend: BackendName;
  /**
   * True when results are bit-identical across machines and runtimes for the same inputs (plain
   * SIMD128 and the TS backend with the same engine). The relaxed-SIMD build fuses multiply-add where
   * the hardware does, so its last bits may differ between machines.
   */
  readonly bitReproducible: boolean;
  /**
   * True when 3x3 stride-1 convolutions run as Winograd F(2x2, 3x3) (the WASM default; the TS backend
   * runs them directly). Results differ from direct convolution in the last bits, so threads that must
   * agree bit for bit use the same setting.
   */
  readonly winograd: boolean;
}

/** A block of float32 storage owned by a backend. Opaque: use `arena.view(buf)` to read or write it. */
export interface Buf {
  readonly length: number;
}

/**
 * A backend's memory, for callers that place arrays there (benches, tests; resident tensors later).
 * `alloc` hands out a Buf; `view(buf)` gives a Float32Array over it. On the WASM backend a view is a
 * window on WASM memory and becomes detached when memory grows, which `alloc`, `reserveScratch` and a
 * kernel call that needs more scratch than is reserved (stride-1 convolutions, copies of non-resident
 * arrays) can do: take views right before use, or reserve scratch first. Kernels accept any
 * Float32Array; they run in place (zero-copy) on arrays that are resident.
 */
export interface Arena {
  /** A zero-filled block of `length` floats. May grow WASM memory: views taken earlier detach. */
  alloc(length: number): Buf;
  /** A fresh Float32Array over `buf`. Valid until the next `alloc` (or non-resident call) on this backend. */
  view(buf: Buf): Float32Array;
  /** Arena position, for `release`: a stack discipline (alloc after mark, release to free them all). */
  mark(): number;
  /** Free everything allocated after `mark()` returned `m`. Bufs from that span must not be used again. */
  release(m: number): void;
  /** Bytes currently allocated in the arena. */
  readonly bytesInUse: number;
  /** True when `arr` lives in this backend's memory, so kernels use it in place without copying. */
  isResident(arr: Float32Array): boolean;
  /**
   * Keep `floats` of scratch free above the arena top from now on: memory grows now if needed (detaching
   * earlier views) and later `alloc`s grow it to preserve the reserve. Kernel calls whose scratch fits
   * (conv2dScratch; copies of non-resident arrays also count) then never grow memory, so views stay valid
   * across them. Without it a call grows memory itself the first time it needs more. No-op on TS.
   */
  reserveScratch(floats: number): void;
  /** Scratch floats the convolution passes of `shape` need at most (0 on the TS backend). */
  conv2dScratch(shape: Conv2dShape): number;
}

/** A backend as `initKernels`, `createTsKernels` and `createWasmKernels` return it: kernels and their memory. */
export interface KernelsWithArena extends Kernels {
  readonly arena: Arena;
}
