// The ops the transformer adds (layerNorm, gelu, swapMiddle, weightedCrossEntropy) against central finite
// differences, as test/autograd/gradcheck.test.ts checks the others (tolerance: test/support/gradcheck.ts),
// on both kernel backends; plus their values against the textbook formulas.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useKernels } from "../../src/autograd/backend.ts";
import * as ops from "../../src/autograd/ops.ts";
import { Tensor } from "../../src/autograd/tensor.ts";
import { createTsKernels, initKernels } from "../../src/kernels/index.ts";
import { Rng } from "../../src/rng.ts";
import { gradcheck, gradcheckScalar, randTensor } from "../support/gradcheck.ts";

const dim = fc.integer({ min: 1, max: 5 });
const opts = { numRuns: 12, seed: 20261203 };

describe.each(["ts", "wasm"] as const)("backward equals the finite-difference gradient, %s kernels", (backend) => {
  beforeAll(async () => {
    useKernels(backend === "ts" ? createTsKernels() : await initKernels({ backend: "wasm" }));
  });
  afterAll(() => useKernels(createTsKernels()));

  it("layerNorm: dx = r (dxhat - mean dxhat - xhat mean(dxhat xhat)), and gamma, beta", () => {
    fc.assert(
      fc.property(dim, fc.integer({ min: 2, max: 7 }), fc.integer({ min: 0, max: 1e6 }), (R, D, seed) => {
        const rng = new Rng(seed);
        const x = randTensor(rng.stream(1), [R, D], 2);
        const gamma = randTensor(rng.stream(2), [D]);
        const beta = randTensor(rng.stream(3), [D]);
        gradcheck(rng, [x, gamma, beta], () => ops.layerNorm(x, gamma, beta));
      }),
      opts,
    );
  });

  it("gelu: d/dx silu(1.702 x)/1.702 = silu'(1.702 x), over a range that reaches both tails", () => {
    fc.assert(
      fc.property(dim, fc.integer({ min: 0, max: 1e6 }), (n, seed) => {
        const rng = new Rng(seed);
        const x = randTensor(rng, [n, 4], 3);
        gradcheck(rng, [x], () => ops.gelu(x));
      }),
      opts,
    );
  });

  it("swapMiddle routes each gradient back to the element it moved", () => {
    fc.assert(
      fc.property(dim, dim, dim, dim, fc.integer({ min: 0, max: 1e6 }), (A, B, C, D, seed) => {
        const rng = new Rng(seed);
        const x = randTensor(rng, [A, B, C, D]);
        gradcheck(rng, [x], () => ops.swapMiddle(x));
      }),
      opts,
    );
  });

  it("weightedCrossEntropy behind a linear layer: d/dx_j = w_n (p_j - [j = y_n]), zero-weight rows ignored", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 2, max: 6 }), fc.integer({ min: 0, max: 1e6 }), (N, I, K, seed) => {
        const rng = new Rng(seed);
        const x = randTensor(rng.stream(1), [N, I]);
        const w = randTensor(rng.stream(2), [K, I]);
        const u = rng.stream(4).uniform(new Float64Array(2 * N));
        const labels = Int32Array.from({ length: N }, (_, n) => Math.min(K - 1, Math.floor(u[n] * K)));
        const weights = Float64Array.from({ length: N }, (_, n) => (n % 3 === 1 ? 0 : 0.2 + u[N + n]));
        gradcheckScalar([x, w], () => ops.weightedCrossEntropy(ops.linear(x, w, null), labels, weights));
      }),
      opts,
    );
  });
});

describe("values", () => {
  it("layerNorm rows have mean beta and standard deviation |gamma| (up to eps)", () => {
    const x = new Tensor(Float32Array.of(1, 2, 3, 4, -5, 0, 5, 10), [2, 4]);
    const y = ops.layerNorm(x, new Tensor(new Float32Array(4).fill(2), [4]), new Tensor(new Float32Array(4).fill(0.5), [4]), 0);
    for (let r = 0; r < 2; r++) {
      const row = [...y.data.subarray(r * 4, r * 4 + 4)];
      const m = row.reduce((a, b) => a + b, 0) / 4;
      expect(m).toBeCloseTo(0.5, 5);
      expect(Math.sqrt(row.reduce((a, b) => a + (b - m) ** 2, 0) / 4)).toBeCloseTo(2, 5);
    }
  });

  it("gelu is x σ(1.702 x), within 0.021 of the tanh form 0.5 x (1 + tanh(sqrt(2/π)(x + 0.044715 x³)))", () => {
    const xs = [-30, -3, -1, -0.1, 0, 0.5, 2, 30];
    const y = ops.gelu(new Tensor(Float32Array.from(xs), [xs.length]));
    xs.forEach((v, i) => {
      expect(y.data[i]).toBeCloseTo(v / (1 + Math.exp(-1.702 * v)), 5);
      expect(Math.abs(y.data[i] - 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))))).toBeLessThan(0.021);
    });
  });

  it("swapMiddle moves [a, b, c, d] to [a, c, b, d]", () => {
    const x = new Tensor(Float32Array.from({ length: 12 }, (_, i) => i), [1, 2, 3, 2]);
    expect([...ops.swapMiddle(x).data]).toEqual([0, 1, 6, 7, 2, 3, 8, 9, 4, 5, 10, 11]);
  });

  it("weightedCrossEntropy is Σ w_n CE_n and names bad arguments", () => {
    const x = new Tensor(Float32Array.of(0.5, -1, 2, 0, 0, 0), [2, 3]);
    const ce = (row: number[], l: number) => -Math.log(Math.exp(row[l]) / row.reduce((s, v) => s + Math.exp(v), 0));
    expect(ops.weightedCrossEntropy(x, Int32Array.of(2, 1), Float64Array.of(0.25, 3)).data[0]).toBeCloseTo(0.25 * ce([0.5, -1, 2], 2) + 3 * ce([0, 0, 0], 1), 5);
    expect(() => ops.weightedCrossEntropy(x, Int32Array.of(2, 7), Float64Array.of(1, 1))).toThrow(/labels\[1\]: must be an integer in \[0, 2\], got 7/);
    expect(() => ops.weightedCrossEntropy(x, Int32Array.of(2, 1), Float64Array.of(1))).toThrow(/weights: must have one weight per row \(2\)/);
    expect(() => ops.layerNorm(x, Tensor.zeros([2]), Tensor.zeros([3]))).toThrow(/gamma: gamma and beta must have 3 values/);
  });
});
