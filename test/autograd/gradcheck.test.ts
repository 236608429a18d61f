// Every differentiable op's backward against central finite differences of L = sum_i r_i y_i with fixed
// random r (test/support/gradcheck.ts states the probe and its tolerance), on both kernel backends; and
// the graph's bookkeeping.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useKernels } from "../../src/autograd/backend.ts";
import { createTsKernels, initKernels } from "../../src/kernels/index.ts";
import * as ops from "../../src/autograd/ops.ts";
import { Tensor } from "../../src/autograd/tensor.ts";
import { Rng } from "../../src/rng.ts";
import { gradcheck, randTensor } from "../support/gradcheck.ts";

const dim = fc.integer({ min: 1, max: 5 });
const opts = { numRuns: 12, seed: 20261126 };

describe.each(["ts", "wasm"] as const)("backward equals the finite-difference gradient (float64 difference quotients), %s kernels", (backend) => {
  beforeAll(async () => {
    useKernels(backend === "ts" ? createTsKernels() : await initKernels({ backend: "wasm" }));
  });
  afterAll(() => useKernels(createTsKernels()));

  it("add and scale: d(a+b) = g, d(s a) = s g", () => {
    fc.assert(
      fc.property(dim, dim, fc.integer({ min: 0, max: 1e6 }), (m, n, seed) => {
        const rng = new Rng(seed);
        const a = randTensor(rng.stream(1), [m, n]);
        const b = randTensor(rng.stream(2), [m, n]);
        gradcheck(rng, [a, b], () => ops.scale(ops.add(a, b), 1.7));
      }),
      opts,
    );
  });

  it("linear: dx = g W, dW = g^T x, db = column sums of g", () => {
    fc.assert(
      fc.property(dim, dim, dim, fc.integer({ min: 0, max: 1e6 }), (N, I, O, seed) => {
        const rng = new Rng(seed);
        const x = randTensor(rng.stream(1), [N, I]);
        const w = randTensor(rng.stream(2), [O, I]);
        const b = randTensor(rng.stream(3), [O]);
        gradcheck(rng, [x, w, b], () => ops.linear(x, w, b));
      }),
      opts,
    );
  });

  it("conv2d (3x3 and 1x1, stride 1 and 2, padding): dx = col2im(W^T g), dW = g col^T", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 3, max: 7 }),
        fc.constantFrom([3, 1, 1], [3, 2, 1], [1, 1, 0], [3, 1, 0], [1, 2, 0]),
        fc.integer({ min: 0, max: 1e6 }),
        (B, C, O, S, [k, stride, pad], seed) => {
          const rng = new Rng(seed);
          const x = randTensor(rng.stream(1), [B, C, S, S]);
          const w = randTensor(rng.stream(2), [O, C, k, k]);
          const b = randTensor(rng.stream(3), [O]);
          gradcheck(rng, [x, w, b], () => ops.conv2d(x, w, b, stride, pad));
        },
      ),
      opts,
    );
  });

  it("groupNorm: the normalised-value gradient r (dxhat - mean dxhat - xhat mean(dxhat xhat)), and gamma, beta", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 }),
        fc.constantFrom([2, 1], [2, 2], [4, 2], [6, 3]),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 1e6 }),
        (B, [C, G], S, seed) => {
          const rng = new Rng(seed);
          const x = randTensor(rng.stream(1), [B, C, S, S + 1], 2);
          const gamma = randTensor(rng.stream(2), [C]);
          const beta = randTensor(rng.stream(3), [C]);
          gradcheck(rng, [x, gamma, beta], () => ops.groupNorm(x, G, gamma, beta));
        },
      ),
      opts,
    );
  });

  it("silu: d/dx x s(x) = s (1 + x (1 - s))", () => {
    fc.assert(
      fc.property(dim, fc.integer({ min: 0, max: 1e6 }), (n, seed) => {
        const rng = new Rng(seed);
        const x = randTensor(rng, [n, 3], 3);
        gradcheck(rng, [x], () => ops.silu(x));
      }),
      opts,
    );
  });

  it("softmax: dx = y (g - sum g y)", () => {
    fc.assert(
      fc.property(dim, dim, fc.integer({ min: 0, max: 1e6 }), (m, n, seed) => {
        const rng = new Rng(seed);
        const x = randTensor(rng, [m, n + 1], 2);
        gradcheck(rng, [x], () => ops.softmax(x));
      }),
      opts,
    );
  });

  it("bmm with every transpose combination: dA = g B^T, dB = A^T g", () => {
    fc.assert(
      fc.property(dim, dim, dim, fc.boolean(), fc.boolean(), fc.integer({ min: 0, max: 1e6 }), (M, K, N, ta, tb, seed) => {
        const rng = new Rng(seed);
        const a = randTensor(rng.stream(1), ta ? [2, K, M] : [2, M, K]);
        const b = randTensor(rng.stream(2), tb ? [2, N, K] : [2, K, N]);
        gradcheck(rng, [a, b], () => ops.bmm(a, b, ta, tb, 0.7));
      }),
      opts,
    );
  });

  it("addPerChannel, concatChannels, upsample2x and reshape route gradients to the right elements", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 1e6 }), (B, C, S, seed) => {
        const rng = new Rng(seed);
        const x = randTensor(rng.stream(1), [B, C, S, S]);
        const e = randTensor(rng.stream(2), [B, C]);
        const z = randTensor(rng.stream(3), [B, 2, S, S]);
        gradcheck(rng, [x, e, z], () => ops.reshape(ops.upsample2x(ops.concatChannels(ops.addPerChannel(x, e), z)), [B, (C + 2) * 4 * S * S]));
      }),
      opts,
    );
  });

  it("embedding scatter-adds into the rows it picked (repeated labels accumulate)", () => {
    const rng = new Rng(5);
    const table = randTensor(rng, [4, 3]);
    gradcheck(rng, [table], () => ops.embedding(table, Int32Array.of(1, 3, 1, 0)));
  });

  it("mse: d/dp w_b (p - t)^2 / (B D) = 2 w_b (p - t) / (B D)", () => {
    const rng = new Rng(6);
    const p = randTensor(rng, [3, 4]);
    const t = new Float32Array(12);
    rng.stream(9).normal(t);
    gradcheck(rng, [p], () => ops.mse(p, t, Float64Array.of(0.5, 2, 1)));
  });
});

describe("autograd graph", () => {
  it("a tensor used twice receives the sum of both gradients (d(x + x)/dx = 2)", () => {
    const x = new Tensor(Float32Array.of(1, 2), [2], { requiresGrad: true });
    ops.add(x, x).backward(Float32Array.of(1, 1));
    expect([...x.grad!]).toEqual([2, 2]);
  });

  it("noGrad records nothing", async () => {
    const { noGrad } = await import("../../src/autograd/tensor.ts");
    const x = new Tensor(Float32Array.of(1, 2), [2], { requiresGrad: true });
    const y = noGrad(() => ops.scale(x, 2));
    expect(y.requiresGrad).toBe(false);
    expect(y.parents.length).toBe(0);
  });

  it("shape mismatches name the argument", () => {
    const a = Tensor.zeros([2, 3]);
    expect(() => ops.add(a, Tensor.zeros([3, 2]))).toThrow(/add: shapes differ/);
    expect(() => ops.linear(a, Tensor.zeros([4, 2]), null)).toThrow(/x: has 3 features but the weight expects 2/);
    expect(() => ops.conv2d(Tensor.zeros([1, 2, 4, 4]), Tensor.zeros([1, 3, 3, 3]), null)).toThrow(/x: has 2 channels/);
    expect(() => ops.embedding(Tensor.zeros([2, 2]), Int32Array.of(2))).toThrow(/labels\[0\]: must be an integer in \[0, 1\]/);
  });
});
