// Shared test helpers: both backends, seeded data, and a tolerance check that reports the worst element.
import { expect } from "vitest";
import { Rng } from "../../src/rng.ts";
import { createTsKernels, initKernels, type Kernels } from "../../src/kernels/index.ts";

let wasm: Kernels | undefined;
/**
 * The WASM backend under test: the plain SIMD128 build, or the relaxed-SIMD one with KERNELS_RELAXED=1
 * (Node 20: `KERNELS_RELAXED=1 npx vitest run test/kernels --execArgv=--experimental-wasm-relaxed-simd`);
 * the tolerances hold for both.
 */
export async function wasmKernels(): Promise<Kernels> {
  wasm ??= await initKernels({ backend: "wasm", relaxed: process.env.KERNELS_RELAXED === "1" });
  return wasm;
}
export const tsKernels = createTsKernels();

/** Seeded standard normals (item = a test-case counter, so each case draws fresh data). */
export function randn(n: number, seed: number, item = 0): Float32Array {
  return new Rng(seed).normal(new Float32Array(n), item) as Float32Array;
}
export function rand64(n: number, seed: number, item = 0): Float64Array {
  return new Rng(seed).normal(new Float64Array(n), item) as Float64Array;
}
export const abs = (a: Float32Array): Float32Array => a.map(Math.abs);

/**
 * |got − want| ≤ tol[i] (+ atol) everywhere; on failure, report the worst element relative to its bound.
 */
export function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: ArrayLike<number> | number, atol = 0, what = ""): void {
  expect(got.length, `${what} length`).toBe(want.length);
  let worst = -1;
  let ratio = 0;
  for (let i = 0; i < want.length; i++) {
    const t = (typeof tol === "number" ? tol : tol[i]) + atol;
    const d = Math.abs(got[i] - want[i]);
    const r = d / (t || Number.MIN_VALUE);
    if (!(d <= t) && (r > ratio || Number.isNaN(d))) {
      ratio = Number.isNaN(d) ? Infinity : r;
      worst = i;
    }
  }
  if (worst >= 0) {
    const t = (typeof tol === "number" ? tol : tol[worst]) + atol;
    expect.fail(`${what}: element ${worst}: got ${got[worst]}, want ${want[worst]}, |diff| ${Math.abs(got[worst] - want[worst])} > tol ${t}`);
  }
}

/** Map a float64 tolerance bound: tol[i] = c·bound[i]. */
export const scaled = (bound: ArrayLike<number>, c: number): Float64Array => Float64Array.from(bound, (b) => b * c);
