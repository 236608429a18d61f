// Convolution: forward and both backward passes, WASM vs the TypeScript reference over an edge-shape
// grid, and both backends' backward passes against finite differences of a float64 forward pass.
//
// Tolerance vs the reference: each output is a sum of K = Cin·R·S products (input gradient: Cout·R·S,
// weight gradient: N·Ho·Wo), so as for GEMM |got − want| ≤ (K + 2)·u·Σ|terms|, with Σ|terms| computed by
// running the reference on absolute values. Winograd F(2x2, 3x3) (3x3 pad 1 stride 1, ≥ 8 channels) sums
// transformed terms instead: each is a ±-combination of ≤ 16 inputs and ≤ 9 weights with coefficients
// ≤ 1, rounded a few times more, so we allow 8x the direct bound (observed: errors of the same size as
// direct convolution's, 0.1–12 % of the direct bound).

import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { conv2dOutSize, createWasmKernels, usesWinograd, type Conv2dShape, type Kernels } from "../../src/kernels/index.ts";
import { convDims } from "../../src/kernels/args.ts";
import { abs, expectClose, rand64, randn, tsKernels as ts, wasmKernels } from "./helpers.ts";
import { U32 as U } from "../support/ulp.ts";
import { fdGrad } from "../support/finite-difference.ts";

let wasm: Kernels;
let direct: Kernels; // the same kernels with Winograd off
beforeAll(async () => {
  wasm = await wasmKernels();
  const { instance } = await WebAssembly.instantiate(readFileSync(new URL("../../build/kernels.wasm", import.meta.url)), {});
  direct = createWasmKernels(instance.exports, "wasm", { winograd: false });
});

function sizes(s: Conv2dShape) {
  const { outH, outW } = conv2dOutSize(s);
  return {
    x: s.batch * s.inChannels * s.height * s.width,
    w: s.outChannels * s.inChannels * s.kernelH * s.kernelW,
    y: s.batch * s.outChannels * outH * outW,
    outH,
    outW,
  };
}

let item = 0;
function compare(s: Conv2dShape, acc: boolean, k: Kernels = wasm): void {
  const n = sizes(s);
  const x = randn(n.x, 11, item);
  const w = randn(n.w, 12, item);
  const dy = randn(n.y, 13, item);
  const y0 = randn(n.y, 14, item);
  const dx0 = randn(n.x, 15, item);
  const dw0 = randn(n.w, 16, item++);
  const what = JSON.stringify(s) + (acc ? " acc" : "");
  const wino = k === wasm && usesWinograd(convDims(s), "fwd");
  const tol = (K: number, b: Float32Array, w = false) => Float64Array.from(b, (v) => (w ? 8 : 1) * (K + 2) * U * v);

  // forward
  let want = y0.slice();
  let got = y0.slice();
  let bound = acc ? abs(y0) : new Float32Array(n.y);
  ts.conv2d(x, w, want, s, acc);
  k.conv2d(x, w, got, s, acc);
  ts.conv2d(abs(x), abs(w), bound, s, acc);
  expectClose(got, want, tol(s.inChannels * s.kernelH * s.kernelW, bound, wino), 1e-30, `conv2d ${what}`);

  // input gradient
  want = dx0.slice();
  got = dx0.slice();
  bound = acc ? abs(dx0) : new Float32Array(n.x);
  ts.conv2dBackwardInput(dy, w, want, s, acc);
  k.conv2dBackwardInput(dy, w, got, s, acc);
  ts.conv2dBackwardInput(abs(dy), abs(w), bound, s, acc);
  expectClose(got, want, tol(s.outChannels * s.kernelH * s.kernelW, bound, wino), 1e-30, `conv2dBackwardInput ${what}`);

  // weight gradient
  want = dw0.slice();
  got = dw0.slice();
  bound = acc ? abs(dw0) : new Float32Array(n.w);
  ts.conv2dBackwardWeight(x, dy, want, s, acc);
  k.conv2dBackwardWeight(x, dy, got, s, acc);
  ts.conv2dBackwardWeight(abs(x), abs(dy), bound, s, acc);
  expectClose(got, want, tol(s.batch * n.outH * n.outW + s.batch, bound, wino), 1e-30, `conv2dBackwardWeight ${what}`);
}

const shapeArb = fc
  .record({
    batch: fc.constantFrom(1, 2, 3),
    inChannels: fc.constantFrom(1, 2, 3, 4, 5, 8),
    height: fc.constantFrom(1, 2, 3, 5, 8, 9, 13),
    width: fc.constantFrom(1, 3, 4, 7, 8, 9, 11, 16),
    outChannels: fc.constantFrom(1, 3, 4, 5, 9),
    kernelH: fc.constantFrom(1, 2, 3),
    kernelW: fc.constantFrom(1, 3),
    stride: fc.constantFrom(1, 2, 3),
    pad: fc.constantFrom(0, 1, 2),
  })
  .filter((s) => sizes(s).outH >= 1 && sizes(s).outW >= 1);

describe("conv2d: wasm vs reference", () => {
  it("covers the edge-shape grid (fast-check, fixed seed)", () => {
    fc.assert(
      fc.property(shapeArb, fc.boolean(), (s, acc) => compare(s, acc)),
      { seed: 1126, numRuns: 250 },
    );
  });

  it("runs every shape of the grid with Winograd off as well", () => {
    fc.assert(
      fc.property(shapeArb, fc.boolean(), (s, acc) => compare(s, acc, direct)),
      { seed: 1127, numRuns: 80 },
    );
  });

  it("Winograd F(2x2, 3x3), all three passes: odd sizes, several image chunks, accumulate", () => {
    const base = { kernelH: 3, kernelW: 3, stride: 1, pad: 1 };
    for (const [batch, inChannels, height, width, outChannels] of [
      [1, 8, 1, 1, 8],
      [2, 8, 2, 3, 9],
      [3, 9, 5, 7, 8],
      [7, 12, 14, 14, 10], // 49 tiles per image: two chunks of images
      [1, 16, 9, 31, 17],
      [2, 40, 6, 6, 8], // K = 40 channels
    ]) {
      const s = { ...base, batch, inChannels, height, width, outChannels };
      expect(usesWinograd(convDims(s), "fwd")).toBe(true);
      compare(s, false);
      compare(s, true);
    }
  });

  it("handles K and N across the GEMM blocks (Cin·9 > 256, Ho·Wo > 512)", () => {
    const base = { batch: 2, kernelH: 3, kernelW: 3, stride: 1, pad: 1 };
    compare({ ...base, inChannels: 32, height: 28, width: 28, outChannels: 9 }, false);
    compare({ ...base, inChannels: 5, height: 25, width: 23, outChannels: 130, stride: 2 }, true);
    compare({ ...base, inChannels: 31, height: 17, width: 35, outChannels: 6, kernelH: 1, kernelW: 1, pad: 0 }, false);
  });

  it("gives an image the same bits wherever it sits in the batch (direct and Winograd)", () => {
    const direct3 = { batch: 5, inChannels: 7, height: 11, width: 13, outChannels: 6, kernelH: 3, kernelW: 3, stride: 1, pad: 1 };
    const wino = { batch: 7, inChannels: 8, height: 14, width: 14, outChannels: 8, kernelH: 3, kernelW: 3, stride: 1, pad: 1 };
    for (const s of [direct3, wino]) {
      const n = sizes(s);
      const x = randn(n.x, 21);
      const w = randn(n.w, 22);
      const y = new Float32Array(n.y);
      wasm.conv2d(x, w, y, s);
      const per = n.x / s.batch;
      const perY = n.y / s.batch;
      for (const b of [0, 3, s.batch - 1]) {
        const one = new Float32Array(perY);
        wasm.conv2d(x.subarray(b * per, (b + 1) * per), w, one, { ...s, batch: 1 });
        expect(one).toEqual(y.subarray(b * perY, (b + 1) * perY));
      }
    }
  });
});

// ---- finite differences in float64 ----

/** Float64 forward convolution: the function the gradients are checked against. */
function conv64(x: Float64Array, w: Float64Array, s: Conv2dShape): Float64Array {
  const { outH: Ho, outW: Wo } = conv2dOutSize(s);
  const { batch: N, inChannels: Ci, height: H, width: W, outChannels: Co, kernelH: R, kernelW: S, stride: st, pad } = s;
  const y = new Float64Array(N * Co * Ho * Wo);
  for (let n = 0; n < N; n++)
    for (let co = 0; co < Co; co++)
      for (let oy = 0; oy < Ho; oy++)
        for (let ox = 0; ox < Wo; ox++) {
          let sum = 0;
          for (let ci = 0; ci < Ci; ci++)
            for (let r = 0; r < R; r++)
              for (let c = 0; c < S; c++) {
                const iy = oy * st - pad + r;
                const ix = ox * st - pad + c;
                if (iy >= 0 && iy < H && ix >= 0 && ix < W) sum += w[((co * Ci + ci) * R + r) * S + c] * x[((n * Ci + ci) * H + iy) * W + ix];
              }
          y[((n * Co + co) * Ho + oy) * Wo + ox] = sum;
        }
  return y;
}

describe("conv2d backward vs float64 finite differences", () => {
  const shapes: Conv2dShape[] = [
    { batch: 2, inChannels: 3, height: 5, width: 6, outChannels: 4, kernelH: 3, kernelW: 3, stride: 1, pad: 1 },
    { batch: 1, inChannels: 2, height: 7, width: 5, outChannels: 3, kernelH: 3, kernelW: 3, stride: 2, pad: 1 },
    { batch: 2, inChannels: 3, height: 4, width: 4, outChannels: 2, kernelH: 1, kernelW: 1, stride: 1, pad: 0 },
    { batch: 1, inChannels: 2, height: 6, width: 7, outChannels: 2, kernelH: 3, kernelW: 1, stride: 2, pad: 0 },
    { batch: 2, inChannels: 8, height: 4, width: 5, outChannels: 9, kernelH: 3, kernelW: 3, stride: 1, pad: 1 }, // Winograd
  ];
  for (const s of shapes) {
    it(JSON.stringify(s), () => {
      const n = sizes(s);
      const x = rand64(n.x, 31);
      const w = rand64(n.w, 32);
      const g = rand64(n.y, 33);
      const dxFd = fdGrad(x, (xx) => conv64(xx, w, s), g, 1e-3);
      const dwFd = fdGrad(w, (ww) => conv64(x, ww, s), g, 1e-3);
      for (const k of [ts, wasm]) {
        const dx = new Float32Array(n.x);
        const dw = new Float32Array(n.w);
        k.conv2dBackwardInput(Float32Array.from(g), Float32Array.from(w), dx, s);
        k.conv2dBackwardWeight(Float32Array.from(x), Float32Array.from(g), dw, s);
        // inputs rounded to f32 (≈ u relative each) and f32 sums: a few hundred u of the gradient scale
        expectClose(dx, dxFd, 1e-4 * (1 + Math.max(...dxFd.map(Math.abs))), 0, `${k.backend} dx`);
        expectClose(dw, dwFd, 1e-4 * (1 + Math.max(...dwFd.map(Math.abs))), 0, `${k.backend} dw`);
      }
    });
  }
});
