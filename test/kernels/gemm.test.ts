// GEMM: the WASM SIMD kernel against the TypeScript reference over an edge-shape grid.
//
// Tolerance. The reference sums in float64 and rounds once, so it is within u·|c| of the exact value
// (u = 2^-24). The WASM kernel sums the K products in float32 in a fixed order (k ascending within
// blocks of KC, blocks added to C in order), which is within γ_K = K·u/(1 − K·u) of exact relative to
// Σ_k |a_ik||b_kj| (Higham, Accuracy and Stability, §3.1), plus one rounding per product. So per element:
//   |C_wasm − C_ref| ≤ (K + 2)·u·Σ_k |a_ik||b_kj|  (+ |C0_ij|·2u when accumulating),
// computed here exactly enough by running the reference on |A|, |B|.

import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import type { Kernels } from "../../src/kernels/index.ts";
import { abs, expectClose, randn, tsKernels as ts, wasmKernels } from "./helpers.ts";
import { U32 as U } from "../support/ulp.ts";

let wasm: Kernels;
beforeAll(async () => {
  wasm = await wasmKernels();
});

interface Case {
  M: number;
  N: number;
  K: number;
  tA: boolean;
  tB: boolean;
  padA: number;
  padB: number;
  padC: number;
  acc: boolean;
}

let item = 0;
function check(c: Case): void {
  const { M, N, K, tA, tB, acc } = c;
  const lda = (tA ? M : K) + c.padA;
  const ldb = (tB ? K : N) + c.padB;
  const ldc = N + c.padC;
  const A = randn((tA ? K : M) * lda, 1, item);
  const B = randn((tB ? N : K) * ldb, 2, item);
  const C0 = randn(M * ldc, 3, item++);
  const want = C0.slice();
  const got = C0.slice();
  ts.gemm(tA, tB, M, N, K, A, lda, B, ldb, want, ldc, acc);
  wasm.gemm(tA, tB, M, N, K, A, lda, B, ldb, got, ldc, acc);
  const bound = acc ? abs(C0) : new Float32Array(C0.length);
  ts.gemm(tA, tB, M, N, K, abs(A), lda, abs(B), ldb, bound, ldc, acc);
  const tol = Float64Array.from(bound, (b) => (K + 2) * U * b);
  // padding columns of C (j >= N) must be untouched
  for (let i = 0; i < M; i++) for (let j = N; j < ldc; j++) expect(got[i * ldc + j]).toBe(C0[i * ldc + j]);
  expectClose(got, want, tol, 1e-30, `gemm ${JSON.stringify(c)}`);
}

// MR = 4, NR = 8, KC = 256, MC = 128, NC = 512 in assembly/blocking.ts: sizes around each tile and block edge
const Ms = [1, 2, 3, 4, 5, 7, 8, 13, 31, 127, 128, 129];
const Ns = [1, 5, 7, 8, 9, 16, 17, 23, 63, 64, 65];
const Ks = [1, 2, 3, 4, 5, 7, 11, 64, 255, 256, 257, 300];

describe("gemm: wasm vs reference", () => {
  it("runs the requested build (KERNELS_RELAXED=1: relaxed SIMD)", () => {
    expect(wasm.backend).toBe(process.env.KERNELS_RELAXED === "1" ? "wasm-relaxed" : "wasm");
  });

  it("covers the edge-shape grid (fast-check, fixed seed)", () => {
    fc.assert(
      fc.property(
        fc.record({
          M: fc.constantFrom(...Ms),
          N: fc.constantFrom(...Ns),
          K: fc.constantFrom(...Ks),
          tA: fc.boolean(),
          tB: fc.boolean(),
          padA: fc.constantFrom(0, 0, 1, 3),
          padB: fc.constantFrom(0, 0, 1, 5),
          padC: fc.constantFrom(0, 0, 2, 3),
          acc: fc.boolean(),
        }),
        (c) => check(c),
      ),
      { seed: 20261126, numRuns: 300 },
    );
  });

  it("handles every transpose combination at block boundaries", () => {
    for (const tA of [false, true]) {
      for (const tB of [false, true]) {
        check({ M: 129, N: 513, K: 257, tA, tB, padA: 1, padB: 0, padC: 1, acc: false });
        check({ M: 5, N: 9, K: 513, tA, tB, padA: 0, padB: 3, padC: 0, acc: true });
      }
    }
  });

  it("K = 0 writes zeros, or leaves C when accumulating", () => {
    for (const k of [ts, wasm]) {
      const C = new Float32Array([1, 2, 3, 4, 5, 6]);
      k.gemm(false, false, 2, 3, 0, new Float32Array(0), 1, new Float32Array(0), 3, C, 3, true);
      expect([...C]).toEqual([1, 2, 3, 4, 5, 6]);
      k.gemm(false, false, 2, 3, 0, new Float32Array(0), 1, new Float32Array(0), 3, C, 3, false);
      expect([...C]).toEqual([0, 0, 0, 0, 0, 0]);
    }
  });

  it("overwrites C (NaN in C does not leak) unless accumulating", () => {
    for (const k of [ts, wasm]) {
      const C = new Float32Array(9).fill(NaN);
      k.gemm(false, false, 3, 3, 2, new Float32Array(6).fill(1), 2, new Float32Array(6).fill(1), 3, C, 3);
      expect([...C]).toEqual(new Array(9).fill(2));
    }
  });

  it("propagates NaN and Inf like the reference", () => {
    const A = new Float32Array([1, NaN, 2, 3]);
    const B = new Float32Array([1, 2, Infinity, 4]);
    for (const k of [ts, wasm]) {
      const C = new Float32Array(4);
      k.gemm(false, false, 2, 2, 2, A, 2, B, 2, C, 2);
      expect(Number.isNaN(C[0]) && Number.isNaN(C[1])).toBe(true);
      expect(C[2]).toBe(Infinity);
      expect(C[3]).toBe(2 * 2 + 3 * 4);
    }
  });

  it("is independent of a row's position in the batch (bit-identical)", () => {
    const K = 300;
    const N = 37;
    const B = randn(K * N, 5);
    const A = randn(41 * K, 6);
    const all = new Float32Array(41 * N);
    wasm.gemm(false, false, 41, N, K, A, K, B, N, all, N);
    for (const i of [0, 3, 17, 40]) {
      const one = new Float32Array(N);
      wasm.gemm(false, false, 1, N, K, A.subarray(i * K, (i + 1) * K), K, B, N, one, N);
      expect(one).toEqual(all.subarray(i * N, (i + 1) * N));
    }
  });
});
