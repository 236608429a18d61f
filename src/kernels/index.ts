// Choosing and loading a kernels backend.
//
//   const k = await initKernels();                 // WASM SIMD if the engine has it, else TypeScript
//   const k = await initKernels(wasmModule);       // Cloudflare Workers: an imported WebAssembly.Module
//   const k = await initKernels(bytes);            // bytes of build/kernels.wasm
//   const k = await initKernels({ relaxed: true }); // opt-in relaxed-SIMD (FMA) build, if the engine has it
//   const k = createTsKernels();                   // the reference backend, synchronously
//
// Each returns the kernels (`Kernels`, what autograd runs on) with the backend's memory as `k.arena`.
//
// Where the wasm comes from when none is passed: the source registered with setDefaultWasmSource (a
// bundle's entry registers its embedded bytes, or a workerd bundle its imported Module), else, in Node,
// Deno or Bun, build/kernels.wasm read from disk next to this module. This file has no top-level
// Node-only import, so it bundles with esbuild `platform: "neutral"`.

import { ArgumentError } from "../validate.ts";
import { createTsKernels } from "./ts/index.ts";
import type { KernelsWithArena } from "./types.ts";
import { createWasmKernels } from "./wasm/index.ts";

export { createTsKernels } from "./ts/index.ts";
export { createWasmKernels, usesWinograd, type WasmKernelOptions } from "./wasm/index.ts";
export * from "./types.ts";

/** A compiled module (required on Cloudflare Workers) or the bytes of a .wasm file. */
export type WasmSource = WebAssembly.Module | ArrayBuffer | ArrayBufferView;
type SourceOrThunk = WasmSource | (() => WasmSource | Promise<WasmSource>);

export interface InitOptions {
  /** The plain SIMD128 build (build/kernels.wasm). */
  source?: WasmSource;
  /** The relaxed-SIMD build (build/kernels-relaxed.wasm), used only with `relaxed: true`. */
  relaxedSource?: WasmSource;
  /** "auto" (default): WASM when SIMD validates, else TS. "wasm": fail instead of falling back. */
  backend?: "auto" | "wasm" | "ts";
  /**
   * Use the relaxed-SIMD build (fused multiply-add, ≈ 10–20 % faster GEMM) when the engine supports it;
   * otherwise the plain build. Its results are not bit-reproducible across machines.
   */
  relaxed?: boolean;
  /** 3x3 stride-1 pad-1 convolution passes by Winograd F(2x2, 3x3) (default true); false: direct/GEMM. */
  winograd?: boolean;
}

// Minimal modules: () -> v128 returning v128.const 0, and f32x4.relaxed_madd of three v128.const 0.
const V128_CONST = [253, 12, ...new Array<number>(16).fill(0)];
const HEADER = [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0];
function probe(body: number[]): Uint8Array<ArrayBuffer> {
  const fn = [0, ...body, 11];
  const code = [1, fn.length, ...fn];
  return new Uint8Array([...HEADER, 10, code.length, ...code]);
}
const SIMD_PROBE = probe(V128_CONST);
const RELAXED_PROBE = probe([...V128_CONST, ...V128_CONST, ...V128_CONST, 253, 0x85, 0x02]);

/** Does this engine validate WASM SIMD128? */
export function hasWasmSimd(): boolean {
  return typeof WebAssembly === "object" && WebAssembly.validate(SIMD_PROBE);
}
/** Does this engine validate relaxed SIMD (Node 20 only with --experimental-wasm-relaxed-simd)? */
export function hasRelaxedSimd(): boolean {
  return typeof WebAssembly === "object" && WebAssembly.validate(RELAXED_PROBE);
}

let defaultSource: SourceOrThunk | undefined;
let defaultRelaxedSource: SourceOrThunk | undefined;

/**
 * The seam for bundles: register where `initKernels()` finds the wasm when it is not passed, e.g.
 * `setDefaultWasmSource(embeddedBytes)` in a browser bundle's entry, or the imported Module in a workerd
 * bundle. A function is called lazily (at the first init that needs it).
 */
export function setDefaultWasmSource(source: SourceOrThunk | undefined, relaxedSource?: SourceOrThunk): void {
  defaultSource = source;
  defaultRelaxedSource = relaxedSource;
}

async function resolve(s: SourceOrThunk | undefined): Promise<WasmSource | undefined> {
  return typeof s === "function" ? await s() : s;
}

/** In a runtime with node:fs (Node, Deno, Bun), read build/<file> next to the source tree or the bundle. */
async function readFromDisk(file: string): Promise<Uint8Array | undefined> {
  const g = globalThis as { process?: { versions?: { node?: string } } };
  if (!g.process?.versions?.node) return undefined;
  const fsName = "node:fs/promises"; // not a literal: bundlers leave this import alone
  const fs = (await import(/* @vite-ignore */ fsName)) as { readFile(u: URL): Promise<Uint8Array> };
  // src/kernels/index.ts -> ../../build; dist/index.js -> ../build; or next to the module
  for (const rel of [`../../build/${file}`, `../build/${file}`, `./${file}`]) {
    try {
      return await fs.readFile(new URL(rel, import.meta.url));
    } catch {
      // try the next candidate
    }
  }
  return undefined;
}

async function instantiate(source: WasmSource): Promise<WebAssembly.Exports> {
  if (source instanceof WebAssembly.Module) return (await WebAssembly.instantiate(source, {})).exports;
  // copy: the engine may not accept a view of a SharedArrayBuffer or a resizable buffer
  const bytes = ArrayBuffer.isView(source)
    ? new Uint8Array(source.buffer, source.byteOffset, source.byteLength).slice()
    : new Uint8Array(source).slice();
  const result = (await WebAssembly.instantiate(bytes, {})) as unknown as WebAssembly.WebAssemblyInstantiatedSource;
  return result.instance.exports;
}

function isSource(v: unknown): v is WasmSource {
  return (
    (typeof WebAssembly === "object" && v instanceof WebAssembly.Module) ||
    v instanceof ArrayBuffer ||
    ArrayBuffer.isView(v)
  );
}

/**
 * Create a kernels backend: the WASM SIMD backend when the engine validates SIMD128 and a wasm source is
 * found, else the TypeScript reference backend. Accepts a WebAssembly.Module, bytes, or options.
 */
export async function initKernels(arg?: WasmSource | InitOptions): Promise<KernelsWithArena> {
  const opts: InitOptions = arg === undefined ? {} : isSource(arg) ? { source: arg } : arg;
  if (typeof opts !== "object" || opts === null) throw new ArgumentError("source", "must be a WebAssembly.Module, bytes or InitOptions");
  const want = opts.backend ?? "auto";
  if (want !== "auto" && want !== "wasm" && want !== "ts") {
    throw new ArgumentError("backend", `must be "auto", "wasm" or "ts", got ${String(want)}`);
  }
  if (want === "ts") return createTsKernels();
  if (!hasWasmSimd()) {
    if (want === "wasm") throw new Error("initKernels: this engine does not support WebAssembly SIMD128");
    return createTsKernels();
  }
  if (opts.relaxed && hasRelaxedSimd()) {
    const src = opts.relaxedSource ?? (await resolve(defaultRelaxedSource)) ?? (await readFromDisk("kernels-relaxed.wasm"));
    if (src) return createWasmKernels(await instantiate(src), "wasm-relaxed", { winograd: opts.winograd });
  }
  const src = opts.source ?? (await resolve(defaultSource)) ?? (await readFromDisk("kernels.wasm"));
  if (!src) {
    if (want === "wasm") {
      throw new Error("initKernels: no wasm source: pass a WebAssembly.Module or bytes, or call setDefaultWasmSource");
    }
    return createTsKernels();
  }
  return createWasmKernels(await instantiate(src), "wasm", { winograd: opts.winograd });
}
