// Bit-exactness of the plain SIMD128 build against its scalar twin (assembly/twins.ts gemm_scalar_f32):
// the same products summed in the same order with no fused multiply-add must give the same bits. This is
// what makes results independent of tiling, batch position and machine. Convolutions (direct stride-1
// kernel and im2col GEMM) are checked against the scalar twin run on an explicit im2col matrix.
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { conv2dOutSize, createWasmKernels, type Conv2dShape, type KernelsWithArena } from "../../src/kernels/index.ts";
import type { Exports } from "../../src/kernels/wasm/index.ts";
import { randn } from "./helpers.ts";

let e: Exports;
let k: KernelsWithArena;
beforeAll(async () => {
  const { instance } = await WebAssembly.instantiate(readFileSync(new URL("../../build/kernels.wasm", import.meta.url)), {});
  e = instance.exports as unknown as Exports;
  k = createWasmKernels(instance.exports); // shares the instance: its arena holds the test data
});

/** Copy arrays into the arena, run f on their pointers, return copies of the arrays afterwards. */
function run(arrays: Float32Array[], f: (p: number[]) => void): Float32Array[] {
  const m = k.arena.mark();
  const bufs = arrays.map((a) => {
    const b = k.arena.alloc(a.length);
    k.arena.view(b).set(a);
    return b;
  });
  const ptrs = bufs.map((b) => k.arena.view(b).byteOffset);
  f(ptrs);
  const out = bufs.map((b) => k.arena.view(b).slice());
  k.arena.release(m);
  return out;
}

let item = 0;
describe("SIMD GEMM vs its scalar twin (bit-exact)", () => {
  it("over the edge-shape grid, all transposes, strides and accumulate", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 3, 4, 5, 8, 13, 129),
        fc.constantFrom(1, 7, 8, 9, 17, 33),
        fc.constantFrom(1, 3, 4, 5, 255, 256, 257, 600),
        fc.boolean(),
        fc.boolean(),
        fc.constantFrom(0, 1, 3),
        fc.boolean(),
        (M, N, K, tA, tB, pad, acc) => {
          const lda = (tA ? M : K) + pad;
          const ldb = (tB ? K : N) + pad;
          const ldc = N + pad;
          const A = randn((tA ? K : M) * lda, 1, item);
          const B = randn((tB ? N : K) * ldb, 2, item);
          const C = randn(M * ldc, 3, item++);
          const [, , simd] = run([A, B, C], (p) => e.gemm_f32(+tA, +tB, M, N, K, p[0], lda, p[1], ldb, p[2], ldc, +acc));
          const [, , twin] = run([A, B, C], (p) => e.gemm_scalar_f32(+tA, +tB, M, N, K, p[0], lda, p[1], ldb, p[2], ldc, +acc));
          expect(simd).toEqual(twin);
        },
      ),
      { seed: 42, numRuns: 120 },
    );
  });
});

function im2col(x: Float32Array, s: Conv2dShape, n: number): Float32Array {
  const { outH: Ho, outW: Wo } = conv2dOutSize(s);
  const { inChannels: C, height: H, width: W, kernelH: R, kernelW: S, stride: st, pad } = s;
  const col = new Float32Array(C * R * S * Ho * Wo);
  for (let c = 0; c < C; c++)
    for (let r = 0; r < R; r++)
      for (let q = 0; q < S; q++)
        for (let oy = 0; oy < Ho; oy++)
          for (let ox = 0; ox < Wo; ox++) {
            const iy = oy * st - pad + r;
            const ix = ox * st - pad + q;
            const v = iy >= 0 && iy < H && ix >= 0 && ix < W ? x[((n * C + c) * H + iy) * W + ix] : 0;
            col[((c * R + r) * S + q) * Ho * Wo + oy * Wo + ox] = v;
          }
  return col;
}

describe("convolution vs the scalar twin on an explicit im2col (bit-exact)", () => {
  const shapes: Conv2dShape[] = [
    { batch: 2, inChannels: 3, height: 9, width: 11, outChannels: 5, kernelH: 3, kernelW: 3, stride: 1, pad: 1 }, // direct
    { batch: 1, inChannels: 32, height: 12, width: 10, outChannels: 9, kernelH: 3, kernelW: 3, stride: 1, pad: 0 }, // direct, K > KC
    { batch: 2, inChannels: 4, height: 9, width: 8, outChannels: 6, kernelH: 3, kernelW: 3, stride: 2, pad: 1 }, // im2col GEMM
    { batch: 1, inChannels: 5, height: 7, width: 6, outChannels: 3, kernelH: 1, kernelW: 1, stride: 1, pad: 0 }, // pointwise GEMM
  ];
  for (const s of shapes) {
    it(JSON.stringify(s), () => {
      const { outH: Ho, outW: Wo } = conv2dOutSize(s);
      const Kd = s.inChannels * s.kernelH * s.kernelW;
      const x = randn(s.batch * s.inChannels * s.height * s.width, 7);
      const w = randn(s.outChannels * Kd, 8);
      const y = new Float32Array(s.batch * s.outChannels * Ho * Wo);
      k.conv2d(x, w, y, s);
      for (let n = 0; n < s.batch; n++) {
        const col = im2col(x, s, n);
        const [, , twin] = run([w, col, new Float32Array(s.outChannels * Ho * Wo)], (p) =>
          e.gemm_scalar_f32(0, 0, s.outChannels, Ho * Wo, Kd, p[0], Kd, p[1], Ho * Wo, p[2], Ho * Wo, 0),
        );
        expect(y.subarray(n * twin.length, (n + 1) * twin.length)).toEqual(twin);
      }
    });
  }
});
