// Backend selection, loading, memory (arena, views, zero-copy, staging) and argument errors.
import { readFileSync } from "node:fs";
import { describe, expect, it, vi } from "vitest";
import {
  createTsKernels,
  hasRelaxedSimd,
  hasWasmSimd,
  initKernels,
  setDefaultWasmSource,
  type Conv2dShape,
  type Kernels,
} from "../../src/kernels/index.ts";
import { expectArgumentError } from "../support/errors.ts";
import { randn } from "./helpers.ts";

const wasmBytes = readFileSync(new URL("../../build/kernels.wasm", import.meta.url));

describe("initKernels", () => {
  it("picks WASM SIMD in Node and reads build/kernels.wasm by default", async () => {
    expect(hasWasmSimd()).toBe(true);
    const k = await initKernels();
    expect(k.backend).toBe("wasm");
    expect(k.bitReproducible).toBe(true);
  });

  it("accepts a compiled WebAssembly.Module (the Cloudflare Workers path) and bytes", async () => {
    const fromModule = await initKernels(new WebAssembly.Module(wasmBytes));
    const fromBytes = await initKernels(new Uint8Array(wasmBytes));
    const fromBuffer = await initKernels(wasmBytes.buffer.slice(wasmBytes.byteOffset, wasmBytes.byteOffset + wasmBytes.byteLength));
    for (const k of [fromModule, fromBytes, fromBuffer]) {
      expect(k.backend).toBe("wasm");
      const y = new Float32Array([1, 2, 3]);
      k.axpy(2, new Float32Array([1, 1, 1]), y);
      expect([...y]).toEqual([3, 4, 5]);
    }
  });

  it("uses the source registered with setDefaultWasmSource", async () => {
    let calls = 0;
    setDefaultWasmSource(() => {
      calls++;
      return new WebAssembly.Module(wasmBytes);
    });
    try {
      const k = await initKernels();
      expect(k.backend).toBe("wasm");
      expect(calls).toBe(1);
    } finally {
      setDefaultWasmSource(undefined);
    }
  });

  it("falls back to the TypeScript backend where WebAssembly.validate rejects SIMD", async () => {
    const spy = vi.spyOn(WebAssembly, "validate").mockReturnValue(false);
    try {
      expect(hasWasmSimd()).toBe(false);
      expect((await initKernels()).backend).toBe("ts");
      await expect(initKernels({ backend: "wasm" })).rejects.toThrow(/SIMD128/);
    } finally {
      spy.mockRestore();
    }
  });

  it("returns the TypeScript backend on request", async () => {
    expect((await initKernels({ backend: "ts" })).backend).toBe("ts");
  });

  it("opts into the relaxed-SIMD build only when the engine has it", async () => {
    const k = await initKernels({ relaxed: true });
    if (hasRelaxedSimd()) {
      expect(k.backend).toBe("wasm-relaxed");
      expect(k.bitReproducible).toBe(false);
      // fused multiply-add stays within the same (K + 2)·u·Σ|a||b| bound as the plain build
      const [M, N, K] = [13, 17, 300];
      const A = randn(M * K, 1);
      const B = randn(K * N, 2);
      const want = new Float32Array(M * N);
      const bound = new Float32Array(M * N);
      const got = new Float32Array(M * N);
      const ts = createTsKernels();
      ts.gemm(false, false, M, N, K, A, K, B, N, want, N);
      ts.gemm(false, false, M, N, K, A.map(Math.abs), K, B.map(Math.abs), N, bound, N);
      k.gemm(false, false, M, N, K, A, K, B, N, got, N);
      for (let i = 0; i < got.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual((K + 2) * 2 ** -24 * bound[i]);
    } else {
      expect(k.backend).toBe("wasm"); // Node 20 without --experimental-wasm-relaxed-simd
    }
  });
});

describe("memory", () => {
  it("alloc gives zeroed resident views; kernels run on them in place", async () => {
    const k = await initKernels();
    const m = k.arena.mark();
    const a = k.arena.alloc(5);
    const b = k.arena.alloc(5);
    expect([...k.arena.view(a)]).toEqual([0, 0, 0, 0, 0]);
    k.arena.view(a).set([1, 2, 3, 4, 5]);
    const va = k.arena.view(a);
    const vb = k.arena.view(b);
    expect(k.arena.isResident(va)).toBe(true);
    expect(k.arena.isResident(new Float32Array(5))).toBe(false);
    k.axpby(2, va, 0, vb, vb);
    expect([...k.arena.view(b)]).toEqual([2, 4, 6, 8, 10]);
    expect(k.arena.bytesInUse).toBeGreaterThan(0);
    k.arena.release(m);
    expect(k.arena.mark()).toBe(m);
    expect(() => k.arena.view(a)).toThrow(/released/);
    // re-allocation after release is zero-filled again
    const c = k.arena.alloc(5);
    expect([...k.arena.view(c)]).toEqual([0, 0, 0, 0, 0]);
    k.arena.release(m);
  });

  it("Bufs survive memory growth; views are re-derived", async () => {
    const k = await initKernels();
    const m = k.arena.mark();
    const a = k.arena.alloc(4);
    k.arena.view(a).set([1, 2, 3, 4]);
    const old = k.arena.view(a);
    k.arena.alloc(8 << 20); // 32 MB: forces memory.grow
    expect(old.length).toBe(0); // the old view detached
    expect([...k.arena.view(a)]).toEqual([1, 2, 3, 4]);
    k.arena.release(m);
  });

  it("mixes resident and non-resident arguments (staged copies) with the same results", async () => {
    const k = await initKernels();
    const ts = createTsKernels();
    const m = k.arena.mark();
    const M = 9;
    const N = 11;
    const K = 13;
    const A = randn(M * K, 1);
    const B = randn(K * N, 2);
    const want = new Float32Array(M * N);
    ts.gemm(false, false, M, N, K, A, K, B, N, want, N);
    const rb = k.arena.alloc(K * N);
    k.arena.view(rb).set(B);
    const got = new Float32Array(M * N); // foreign output, resident B, foreign A
    k.gemm(false, false, M, N, K, A, K, k.arena.view(rb), N, got, N);
    for (let i = 0; i < got.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-5);
    const before = k.arena.mark();
    expect(before).toBe(k.arena.mark()); // staging scratch was released
    k.arena.release(m);
  });
});

describe("staging of non-resident outputs", () => {
  it("overwrites outputs without reading them, and keeps elements past the declared shape", async () => {
    const k = await initKernels();
    const s: Conv2dShape = { batch: 1, inChannels: 8, height: 6, width: 6, outChannels: 8, kernelH: 3, kernelW: 3, stride: 1, pad: 1 };
    const x = randn(8 * 36, 5);
    const w = randn(8 * 8 * 9, 6);
    const exact = new Float32Array(8 * 36).fill(NaN);
    const longer = new Float32Array(8 * 36 + 3).fill(7);
    k.conv2d(x, w, exact, s);
    k.conv2d(x, w, longer, s);
    expect(exact.every(Number.isFinite)).toBe(true);
    expect(longer.subarray(0, 8 * 36)).toEqual(exact);
    expect([...longer.subarray(8 * 36)]).toEqual([7, 7, 7]);
    const y = new Float32Array(10).fill(7);
    k.softmax(new Float32Array([1, 2, 3, 4]), y, 2, 2);
    expect([...y.subarray(4)]).toEqual([7, 7, 7, 7, 7, 7]);
    const C = new Float32Array([9, 9, 9, 9, 9, 9]); // ldc 3 > N 2: column 2 is padding
    k.gemm(false, false, 2, 2, 1, new Float32Array([1, 2]), 1, new Float32Array([3, 4]), 2, C, 3);
    expect([...C]).toEqual([3, 4, 9, 6, 8, 9]);
  });
});

describe("bad input throws ArgumentError naming the argument, before any arithmetic", () => {
  const shape: Conv2dShape = { batch: 1, inChannels: 2, height: 4, width: 4, outChannels: 3, kernelH: 3, kernelW: 3, stride: 1, pad: 1 };
  const cases: Array<[string, (k: Kernels) => void, string]> = [
    ["gemm short A", (k) => k.gemm(false, false, 2, 2, 2, new Float32Array(3), 2, new Float32Array(4), 2, new Float32Array(4), 2), "A"],
    ["gemm lda < K", (k) => k.gemm(false, false, 2, 2, 3, new Float32Array(9), 2, new Float32Array(6), 2, new Float32Array(4), 2), "lda"],
    ["gemm negative M", (k) => k.gemm(false, false, -1, 2, 2, new Float32Array(4), 2, new Float32Array(4), 2, new Float32Array(4), 2), "M"],
    ["gemm NaN K", (k) => k.gemm(false, false, 1, 1, NaN, new Float32Array(4), 2, new Float32Array(4), 2, new Float32Array(4), 2), "K"],
    ["gemm not f32", (k) => k.gemm(false, false, 1, 1, 1, [1] as unknown as Float32Array, 1, new Float32Array(1), 1, new Float32Array(1), 1), "A"],
    ["conv negative stride", (k) => k.conv2d(new Float32Array(32), new Float32Array(54), new Float32Array(48), { ...shape, stride: -1 }), "shape.stride"],
    ["conv short w", (k) => k.conv2d(new Float32Array(32), new Float32Array(53), new Float32Array(48), shape), "w"],
    ["conv short y", (k) => k.conv2d(new Float32Array(32), new Float32Array(54), new Float32Array(47), shape), "y"],
    ["conv kernel too big", (k) => k.conv2d(new Float32Array(32), new Float32Array(54), new Float32Array(48), { ...shape, pad: 0, kernelH: 5 }), "shape"],
    ["axpy length mismatch", (k) => k.axpy(1, new Float32Array(3), new Float32Array(4)), "y"],
    ["axpy non-finite a", (k) => k.axpy(Infinity, new Float32Array(3), new Float32Array(3)), "a"],
    ["groupNorm groups", (k) => k.groupNorm(new Float32Array(12), new Float32Array(3), new Float32Array(3), new Float32Array(12), new Float32Array(2), new Float32Array(2), 1, 3, 4, 2, 1e-5), "groups"],
    ["softmax short y", (k) => k.softmax(new Float32Array(6), new Float32Array(5), 2, 3), "y"],
    ["adam step 0", (k) => k.adam(new Float32Array(1), new Float32Array(1), new Float32Array(1), new Float32Array(1), { lr: 1, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, step: 0 }), "opts.step"],
  ];
  for (const [name, call, arg] of cases) {
    it(name, async () => {
      for (const k of [createTsKernels(), await initKernels()]) expectArgumentError(() => call(k), arg);
    });
  }
});

describe("reserveScratch", () => {
  it("keeps views valid across convolution calls once scratch is reserved", async () => {
    const k = await initKernels();
    const s: Conv2dShape = { batch: 2, inChannels: 16, height: 20, width: 20, outChannels: 16, kernelH: 3, kernelW: 3, stride: 1, pad: 1 };
    expect(k.arena.conv2dScratch(s)).toBeGreaterThan(0);
    expect(createTsKernels().arena.conv2dScratch(s)).toBe(0);
    k.arena.reserveScratch(k.arena.conv2dScratch(s));
    const m = k.arena.mark();
    const [x, w, y, dx] = [2 * 16 * 400, 16 * 16 * 9, 2 * 16 * 400, 2 * 16 * 400].map((n) => k.arena.alloc(n)); // allocs keep the reserve
    const [vx, vw, vy, vdx] = [x, w, y, dx].map((b) => k.arena.view(b));
    vx.set(randn(vx.length, 3));
    vw.set(randn(vw.length, 4));
    k.conv2d(vx, vw, vy, s);
    k.conv2dBackwardInput(vy, vw, vdx, s);
    k.conv2d(vx, vw, vy, { ...s, kernelH: 1, kernelW: 1, pad: 0 });
    for (const v of [vx, vw, vy, vdx]) expect(v.length).toBeGreaterThan(0); // nothing detached
    k.arena.release(m);
  });
});
