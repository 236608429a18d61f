// Activations, GroupNorm, softmax, elementwise ops, reductions and Adam: WASM vs the TypeScript
// reference over edge lengths, and every backward kernel against float64 finite differences.
//
// Tolerances. Elementwise ops: the reference rounds once from float64, WASM rounds each f32 operation:
// a few u of |result| plus the terms' magnitudes. exp-based ops (SiLU, softmax): our polynomial exp is
// within ≈ 2 u of exp, so ≈ 8 u relative. Reductions accumulate in float64 in both backends: 1e-12
// relative to Σ|terms|. GroupNorm: statistics in float64 in both, the normalisation in f32: ≈ 16 u of
// |y| + |beta| + |gamma·xhat|.

import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import type { Kernels } from "../../src/kernels/index.ts";
import { expectClose, rand64, randn, tsKernels as ts, wasmKernels } from "./helpers.ts";
import { U32 as U } from "../support/ulp.ts";
import { fdGrad } from "../support/finite-difference.ts";

let wasm: Kernels;
beforeAll(async () => {
  wasm = await wasmKernels();
});

const lengths = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 64, 100, 1023];
let item = 0;
const fresh = (n: number, seed: number) => randn(n, seed, item++);

describe("elementwise and reductions: wasm vs reference", () => {
  it("axpy, axpby, scale, mul over edge lengths", () => {
    fc.assert(
      fc.property(fc.constantFrom(...lengths), fc.double({ min: -3, max: 3, noNaN: true }), fc.double({ min: -3, max: 3, noNaN: true }), (n, a, b) => {
        const x = fresh(n, 1);
        const y = fresh(n, 2);
        const mag = Float64Array.from(x, (v, i) => 4 * U * (Math.abs(a * v) + Math.abs(b * y[i])));
        const y1 = y.slice();
        const y2 = y.slice();
        ts.axpy(a, x, y1);
        wasm.axpy(a, x, y2);
        expectClose(y2, y1, Float64Array.from(x, (v, i) => 4 * U * (Math.abs(a * v) + Math.abs(y[i]))), 1e-30, "axpy");
        const o1 = new Float32Array(n);
        const o2 = new Float32Array(n);
        ts.axpby(a, x, b, y, o1);
        wasm.axpby(a, x, b, y, o2);
        expectClose(o2, o1, mag, 1e-30, "axpby");
        ts.scale(a, x, o1);
        wasm.scale(a, x, o2);
        expectClose(o2, o1, Float64Array.from(o1, (v) => 2 * U * Math.abs(v)), 1e-30, "scale");
        ts.mul(x, y, o1);
        wasm.mul(x, y, o2);
        expect(o2).toEqual(o1); // one product, rounded once either way
      }),
      { seed: 7, numRuns: 60 },
    );
  });

  it("sum, dot, sqDist accumulate in float64", () => {
    for (const n of lengths) {
      const x = fresh(n, 3);
      const y = fresh(n, 4);
      const sx = x.reduce((s, v) => s + Math.abs(v), 0);
      const sxy = x.reduce((s, v, i) => s + Math.abs(v * y[i]), 0);
      const sd = x.reduce((s, v, i) => s + (v - y[i]) ** 2, 0);
      expect(Math.abs(wasm.sum(x) - ts.sum(x))).toBeLessThanOrEqual(1e-12 * sx);
      expect(Math.abs(wasm.dot(x, y) - ts.dot(x, y))).toBeLessThanOrEqual(1e-12 * sxy);
      expect(Math.abs(wasm.sqDist(x, y) - ts.sqDist(x, y))).toBeLessThanOrEqual(1e-12 * sd);
    }
  });

  it("sumChannels over [outer, C, inner] layouts", () => {
    for (const [o, c, i] of [[1, 1, 1], [2, 3, 5], [3, 7, 1], [1, 4, 17], [4, 9, 33]]) {
      const x = fresh(o * c * i, 5);
      const a = fresh(c, 6);
      const b = a.slice();
      ts.sumChannels(x, a, o, c, i, true);
      wasm.sumChannels(x, b, o, c, i, true);
      expectClose(b, a, Float64Array.from(a, (v) => 2 * U * (Math.abs(v) + o * i * 4)), 0, "sumChannels");
    }
  });

  it("adam matches the reference over several steps", () => {
    for (const n of [1, 3, 4, 5, 17, 100]) {
      const p1 = fresh(n, 7);
      const p2 = p1.slice();
      const m1 = new Float32Array(n);
      const v1 = new Float32Array(n);
      const m2 = new Float32Array(n);
      const v2 = new Float32Array(n);
      for (let step = 1; step <= 5; step++) {
        const g = fresh(n, 8);
        const o = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step };
        ts.adam(p1, g, m1, v1, o);
        wasm.adam(p2, g, m2, v2, o);
      }
      expectClose(m2, m1, 1e-6, 0, "adam m");
      expectClose(v2, v1, 1e-6, 0, "adam v");
      expectClose(p2, p1, Float64Array.from(p1, (v) => 64 * U * (Math.abs(v) + 0.05)), 0, "adam p");
    }
  });
});

describe("activations: wasm vs reference", () => {
  it("biasAct identity and SiLU over [outer, C, inner] edge layouts", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 2, 3),
        fc.constantFrom(1, 3, 4, 5, 8, 13),
        fc.constantFrom(1, 2, 3, 4, 5, 7, 9, 49),
        fc.constantFrom("identity" as const, "silu" as const),
        (o, c, i, act) => {
          const x = fresh(o * c * i, 9).map((v) => 4 * v);
          const bias = fresh(c, 10);
          const y1 = new Float32Array(x.length);
          const y2 = new Float32Array(x.length);
          ts.biasAct(x, bias, y1, o, c, i, act);
          wasm.biasAct(x, bias, y2, o, c, i, act);
          const tol = Float64Array.from(y1, (v, k) => 8 * U * (Math.abs(v) + Math.abs(x[k]) + 1));
          expectClose(y2, y1, tol, 0, `biasAct ${act} ${o}x${c}x${i}`);
        },
      ),
      { seed: 8, numRuns: 80 },
    );
  });

  it("SiLU saturates cleanly at large |x| (no NaN, no overflow)", () => {
    const x = new Float32Array([-1e4, -200, -88, -30, 0, 30, 88, 200, 1e4]);
    const y = new Float32Array(x.length);
    wasm.biasAct(x, new Float32Array(1), y, 1, 1, x.length, "silu");
    expect([...y].every(Number.isFinite)).toBe(true);
    expect(Math.abs(y[0])).toBeLessThan(1e-30);
    expect(y[8]).toBe(1e4);
    const d = new Float32Array(x.length);
    wasm.siluBackward(x, new Float32Array(x.length).fill(1), d);
    expect([...d].every(Number.isFinite)).toBe(true);
  });

  it("softmax rows of edge lengths, including large logits", () => {
    for (const cols of [1, 2, 3, 4, 5, 7, 8, 9, 33, 100]) {
      const rows = 3;
      const x = fresh(rows * cols, 11).map((v) => 10 * v);
      x[0] = 80;
      const y1 = new Float32Array(x.length);
      const y2 = new Float32Array(x.length);
      ts.softmax(x, y1, rows, cols);
      wasm.softmax(x, y2, rows, cols);
      // exp(x − max): the f32 subtraction is off by u·|x − max|, which exp turns into a relative error
      const tol = Float64Array.from(y1, (v, k) => {
        const row = Math.floor(k / cols);
        const mx = Math.max(...x.subarray(row * cols, (row + 1) * cols));
        return U * (Math.abs(x[k] - mx) + 16) * v;
      });
      expectClose(y2, y1, tol, 1e-37, `softmax cols ${cols}`);
    }
  });
});

describe("GroupNorm: wasm vs reference", () => {
  it("forward and backward over edge shapes", () => {
    for (const [N, C, HW, G] of [[1, 1, 1, 1], [2, 4, 5, 2], [1, 6, 9, 3], [3, 8, 16, 4], [2, 32, 49, 8], [1, 5, 7, 5]]) {
      const n = N * C * HW;
      const x = fresh(n, 12).map((v) => 3 * v + 1);
      const gamma = fresh(C, 13);
      const beta = fresh(C, 14);
      const dy = fresh(n, 15);
      const out = (k: Kernels) => {
        const y = new Float32Array(n);
        const mean = new Float32Array(N * G);
        const rstd = new Float32Array(N * G);
        k.groupNorm(x, gamma, beta, y, mean, rstd, N, C, HW, G, 1e-5);
        const dx = new Float32Array(n);
        const dg = new Float32Array(C);
        const db = new Float32Array(C);
        k.groupNormBackward(x, dy, gamma, mean, rstd, dx, dg, db, N, C, HW, G);
        return { y, mean, rstd, dx, dg, db };
      };
      const a = out(ts);
      const b = out(wasm);
      const what = `GroupNorm ${N}x${C}x${HW} G${G}`;
      expectClose(b.mean, a.mean, Float64Array.from(a.mean, (v) => U * Math.abs(v)), 1e-6, `${what} mean`);
      expectClose(b.rstd, a.rstd, Float64Array.from(a.rstd, (v) => 2 * U * v), 0, `${what} rstd`);
      expectClose(b.y, a.y, 3e-6 * 8, 0, `${what} y`);
      const scale = Math.max(1, ...a.dx.map(Math.abs));
      expectClose(b.dx, a.dx, 64 * U * scale * Math.max(1, (C / G) * HW) ** 0.5, 0, `${what} dx`);
      expectClose(b.dg, a.dg, Float64Array.from(a.dg, () => 1e-5 * N * HW), 0, `${what} dgamma`);
      expectClose(b.db, a.db, Float64Array.from(a.db, () => 1e-5 * N * HW), 0, `${what} dbeta`);
    }
  });
});

// ---- backward kernels vs float64 finite differences ----

function groupNorm64(x: Float64Array, gamma: Float64Array, beta: Float64Array, N: number, C: number, HW: number, G: number, eps: number): Float64Array {
  const y = new Float64Array(x.length);
  const cpg = C / G;
  const m = cpg * HW;
  for (let n = 0; n < N; n++)
    for (let g = 0; g < G; g++) {
      const base = (n * C + g * cpg) * HW;
      let mu = 0;
      for (let i = 0; i < m; i++) mu += x[base + i] / m;
      let v = 0;
      for (let i = 0; i < m; i++) v += (x[base + i] - mu) ** 2 / m;
      for (let i = 0; i < m; i++) {
        const c = g * cpg + Math.floor(i / HW);
        y[base + i] = ((x[base + i] - mu) / Math.sqrt(v + eps)) * gamma[c] + beta[c];
      }
    }
  return y;
}

const f32 = (a: Float64Array) => Float32Array.from(a);
const maxAbs = (a: ArrayLike<number>) => Math.max(1e-3, ...Array.from(a, Math.abs));

describe("backward kernels vs float64 finite differences", () => {
  it("SiLU backward", () => {
    const x = rand64(64, 41).map((v) => 4 * v);
    const g = rand64(64, 42);
    const silu = (v: Float64Array) => v.map((t) => t / (1 + Math.exp(-t)));
    const want = fdGrad(x, silu, g);
    for (const k of [ts, wasm]) {
      const dx = new Float32Array(64);
      k.siluBackward(f32(x), f32(g), dx);
      expectClose(dx, want, 1e-5 * maxAbs(want), 0, `${k.backend} silu'`);
    }
  });

  it("softmax backward", () => {
    const rows = 3;
    const cols = 7;
    const x = rand64(rows * cols, 43).map((v) => 2 * v);
    const g = rand64(rows * cols, 44);
    const sm = (v: Float64Array) => {
      const y = new Float64Array(v.length);
      for (let r = 0; r < rows; r++) {
        const row = v.subarray(r * cols, (r + 1) * cols);
        const mx = Math.max(...row);
        const e = row.map((t) => Math.exp(t - mx));
        const s = e.reduce((a, b) => a + b, 0);
        for (let i = 0; i < cols; i++) y[r * cols + i] = e[i] / s;
      }
      return y;
    };
    const want = fdGrad(x, sm, g);
    for (const k of [ts, wasm]) {
      const y = new Float32Array(rows * cols);
      k.softmax(f32(x), y, rows, cols);
      const dx = new Float32Array(rows * cols);
      k.softmaxBackward(y, f32(g), dx, rows, cols);
      expectClose(dx, want, 1e-5 * maxAbs(want), 0, `${k.backend} softmax'`);
    }
  });

  it("GroupNorm backward (dx, dgamma, dbeta)", () => {
    for (const [N, C, HW, G] of [[2, 4, 5, 2], [1, 6, 3, 3], [2, 3, 4, 1]]) {
      const n = N * C * HW;
      const x = rand64(n, 45).map((v) => 2 * v + 0.5);
      const gamma = rand64(C, 46);
      const beta = rand64(C, 47);
      const g = rand64(n, 48);
      const eps = 1e-5;
      const dxFd = fdGrad(x, (v) => groupNorm64(v, gamma, beta, N, C, HW, G, eps), g);
      const dgFd = fdGrad(gamma, (v) => groupNorm64(x, v, beta, N, C, HW, G, eps), g);
      const dbFd = fdGrad(beta, (v) => groupNorm64(x, gamma, v, N, C, HW, G, eps), g);
      for (const k of [ts, wasm]) {
        const y = new Float32Array(n);
        const mean = new Float32Array(N * G);
        const rstd = new Float32Array(N * G);
        k.groupNorm(f32(x), f32(gamma), f32(beta), y, mean, rstd, N, C, HW, G, eps);
        const dx = new Float32Array(n);
        const dg = new Float32Array(C);
        const db = new Float32Array(C);
        k.groupNormBackward(f32(x), f32(g), f32(gamma), mean, rstd, dx, dg, db, N, C, HW, G);
        const what = `${k.backend} GroupNorm ${N}x${C}x${HW} G${G}`;
        expectClose(dx, dxFd, 1e-4 * maxAbs(dxFd), 0, `${what} dx`);
        expectClose(dg, dgFd, 1e-4 * maxAbs(dgFd), 0, `${what} dgamma`);
        expectClose(db, dbFd, 1e-4 * maxAbs(dbFd), 0, `${what} dbeta`);
      }
    }
  });
});
