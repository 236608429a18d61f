// Softmax cross-entropy against central finite differences (float64 difference quotients of the float32
// loss), alone and behind a linear layer so the kernels backend is in the path; plus its value against
// the textbook formula, stability for huge logits, and label checks. Tolerance as in
// test/support/gradcheck.ts: |fd - analytic| <= 2e-3 (1 + |fd|) + 4 noise, noise = eps32 |L| / step.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useKernels } from "../../src/autograd/backend.ts";
import { createTsKernels, initKernels } from "../../src/kernels/index.ts";
import * as ops from "../../src/autograd/ops.ts";
import { Tensor } from "../../src/autograd/tensor.ts";
import { Rng } from "../../src/rng.ts";
import { gradcheckScalar, randTensor } from "../support/gradcheck.ts";

function randLabels(rng: Rng, n: number, k: number): Int32Array {
  const u = rng.uniform(new Float64Array(n));
  return Int32Array.from(u, (v) => Math.min(k - 1, Math.floor(v * k)));
}

const opts = { numRuns: 12, seed: 20261126 };

describe.each(["ts", "wasm"] as const)("crossEntropy backward equals finite differences, %s kernels", (backend) => {
  beforeAll(async () => {
    useKernels(backend === "ts" ? createTsKernels() : await initKernels({ backend: "wasm" }));
  });
  afterAll(() => useKernels(createTsKernels()));

  it("d/dx_j mean_n -log softmax(x_n)[y_n] = (p_j - [j = y_n]) / N", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 0, max: 1e6 }), (N, K, seed) => {
        const rng = new Rng(seed);
        const x = randTensor(rng.stream(1), [N, K], 3);
        const y = randLabels(rng.stream(2), N, K);
        gradcheckScalar([x], () => ops.crossEntropy(x, y));
      }),
      opts,
    );
  });

  it("behind a linear layer (the classifier head): gradients reach x, W and b", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 2, max: 6 }), fc.integer({ min: 0, max: 1e6 }), (N, I, K, seed) => {
        const rng = new Rng(seed);
        const x = randTensor(rng.stream(1), [N, I]);
        const w = randTensor(rng.stream(2), [K, I]);
        const b = randTensor(rng.stream(3), [K]);
        const y = randLabels(rng.stream(4), N, K);
        gradcheckScalar([x, w, b], () => ops.crossEntropy(ops.linear(x, w, b), y));
      }),
      opts,
    );
  });
});

describe("crossEntropy value", () => {
  it("equals -mean log(exp(x_y) / sum exp(x)) for moderate logits", () => {
    const x = Float32Array.of(0.5, -1, 2, 0, 0, 0);
    const y = Int32Array.of(2, 1);
    const ref = (row: number[], l: number) => -Math.log(Math.exp(row[l]) / row.reduce((s, v) => s + Math.exp(v), 0));
    const want = (ref([0.5, -1, 2], 2) + ref([0, 0, 0], 1)) / 2;
    expect(ops.crossEntropy(new Tensor(x, [2, 3]), y).data[0]).toBeCloseTo(want, 6);
  });

  it("is finite and exact for logits far beyond exp's range (stable log-softmax)", () => {
    const x = new Tensor(Float32Array.of(1e4, -1e4, 0, 1e4), [2, 2], { requiresGrad: true });
    const loss = ops.crossEntropy(x, Int32Array.of(1, 0));
    expect(loss.data[0]).toBeCloseTo(1.5e4, 0); // row 0: lse 1e4 - x_1 = 2e4; row 1: lse 1e4 - x_0 = 1e4
    loss.backward();
    expect([...x.grad!].every(Number.isFinite)).toBe(true);
  });

  it("names a bad label or a label count mismatch", () => {
    const x = Tensor.zeros([2, 3]);
    expect(() => ops.crossEntropy(x, Int32Array.of(0, 3))).toThrow(/labels\[1\]: must be an integer in \[0, 2\]/);
    expect(() => ops.crossEntropy(x, Int32Array.of(0))).toThrow(/labels: must have one label per row \(2\)/);
  });
});
