// What the WASM side offers the kernel table (../table.ts): the module's exports, typed by the
// compiler-generated bindings (build/kernels.d.ts, `asc --bindings raw`, so no signature is retyped by
// hand), and the backend's help for calls that need more than one export (convolutions, ./conv.ts).

import type { instantiate } from "../../../build/kernels.js";
import type { ConvDims } from "../args.ts";

/** The module's exports. */
export type Exports = Awaited<ReturnType<typeof instantiate>>;

/** A convolution pass: forward, input gradient, weight gradient. */
export type ConvPass = "fwd" | "bwd" | "wgrad";

/** What a table entry's WASM call gets besides the exports. */
export interface WasmCall {
  /**
   * Run one convolution pass on pointers a, b, c (fwd: x, w, y; bwd: dy, w, dx; wgrad: x, dy, dw): the
   * backend picks the strategy and puts its workspace above the arena top.
   */
  conv(pass: ConvPass, a: number, b: number, c: number, d: ConvDims, accumulate: boolean): void;
}
