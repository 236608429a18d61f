// The ops added for diffusers' UNet2DModel: backward against central finite differences (the probe and
// tolerance of test/support/gradcheck.ts), and forwards against their definitions written out directly.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import * as ops from "../../src/autograd/ops.ts";
import { Tensor } from "../../src/autograd/tensor.ts";
import { Rng } from "../../src/rng.ts";
import { gradcheck, randTensor } from "../support/gradcheck.ts";

const opts = { numRuns: 12, seed: 20261203 };
const seedArb = fc.integer({ min: 0, max: 1e6 });

describe("backward equals the finite-difference gradient", () => {
  it("pad2d routes each output's gradient to its source pixel and drops the border", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.nat(2), fc.nat(2), fc.nat(2), fc.nat(2), seedArb, (C, S, t, b, l, r, seed) => {
        const rng = new Rng(seed);
        const x = randTensor(rng.stream(1), [2, C, S, S + 1]);
        gradcheck(rng, [x], () => ops.pad2d(x, t, b, l, r));
      }),
      opts,
    );
  });

  it("upfirdn2d (the FIR up- and downsampling of score-SDE) is linear with the transposed taps as its gradient", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(
          { k: [1 / 4, 3 / 4, 3 / 4, 1 / 4], up: 2, down: 1, p0: 2, p1: 1 },
          { k: [1 / 8, 3 / 8, 3 / 8, 1 / 8], up: 1, down: 2, p0: 1, p1: 1 },
          { k: [0.5, 0.5], up: 1, down: 2, p0: 0, p1: 0 },
          { k: [0.3, -1, 2], up: 3, down: 2, p0: 1, p1: 2 },
        ),
        fc.integer({ min: 2, max: 6 }),
        seedArb,
        ({ k, up, down, p0, p1 }, S, seed) => {
          const rng = new Rng(seed);
          const x = randTensor(rng.stream(1), [1, 2, S, S + 2]);
          gradcheck(rng, [x], () => ops.upfirdn2d(x, k, up, down, p0, p1));
        },
      ),
      opts,
    );
  });

  it("scaleShift: dx = g (1 + scale), dscale = sum g x, dshift = sum g", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), seedArb, (B, C, S, seed) => {
        const rng = new Rng(seed);
        const x = randTensor(rng.stream(1), [B, C, S, S]);
        const ss = randTensor(rng.stream(2), [B, 2 * C]);
        gradcheck(rng, [x, ss], () => ops.scaleShift(x, ss));
      }),
      opts,
    );
  });

  it("scaleItems: dx_b = s_b g_b", () => {
    const rng = new Rng(3);
    const x = randTensor(rng, [3, 2, 2]);
    gradcheck(rng, [x], () => ops.scaleItems(x, [0.5, -2, 3]));
  });

  it.each(["mish", "gelu", "relu", "silu"] as const)("activation %s", (kind) => {
    fc.assert(
      fc.property(seedArb, (seed) => {
        const rng = new Rng(seed);
        const x = randTensor(rng, [4, 5], 3);
        // relu has a kink at 0: keep the probe away from it
        if (kind === "relu") for (let i = 0; i < x.size; i++) if (Math.abs(x.data[i]) < 0.05) x.data[i] = 0.5;
        gradcheck(rng, [x], () => ops.activation(x, kind));
      }),
      opts,
    );
  });
});

describe("forwards against their definitions", () => {
  it("upfirdn2d equals zero-stuffing, padding and a full 2-D convolution with outer(k, k) (diffusers' upfirdn2d_native)", () => {
    const rng = new Rng(11);
    const H = 5;
    const W = 4;
    const x = randTensor(rng, [1, 1, H, W]);
    for (const { k, up, down, p0, p1 } of [
      { k: [1 / 4, 3 / 4, 3 / 4, 1 / 4], up: 2, down: 1, p0: 2, p1: 1 },
      { k: [1 / 8, 3 / 8, 3 / 8, 1 / 8], up: 1, down: 2, p0: 1, p1: 1 },
      { k: [0.3, -1, 2], up: 3, down: 2, p0: 1, p1: 2 },
    ]) {
      const y = ops.upfirdn2d(x, k, up, down, p0, p1);
      // direct: z = pad(zero-stuff(x)); conv (flipped kernel) valid; every down-th
      const Hz = H * up + p0 + p1;
      const Wz = W * up + p0 + p1;
      const z = new Float64Array(Hz * Wz);
      for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) z[(i * up + p0) * Wz + j * up + p0] = x.data[i * W + j];
      const K = k.length;
      const Ho = Math.floor((Hz - K) / down) + 1;
      const Wo = Math.floor((Wz - K) / down) + 1;
      expect(y.shape).toEqual([1, 1, Ho, Wo]);
      for (let i = 0; i < Ho; i++) {
        for (let j = 0; j < Wo; j++) {
          let s = 0;
          for (let a = 0; a < K; a++) for (let b = 0; b < K; b++) s += k[K - 1 - a] * k[K - 1 - b] * z[(i * down + a) * Wz + j * down + b];
          expect(y.data[i * Wo + j]).toBeCloseTo(s, 6);
        }
      }
    }
  });

  it("erf matches reference values and gelu(x) = x Phi(x)", () => {
    // erf values from Abramowitz & Stegun table 7.1 (and erf(3) = 0.9999779095030014)
    expect(ops.erf(0.5)).toBeCloseTo(0.5204998778130465, 14);
    expect(ops.erf(1)).toBeCloseTo(0.8427007929497149, 14);
    expect(ops.erf(-2)).toBeCloseTo(-0.9953222650189527, 14);
    expect(ops.erf(3)).toBeCloseTo(0.9999779095030014, 14);
    expect(ops.erf(2.5)).toBeCloseTo(0.999593047982555, 14);
    const y = ops.activation(new Tensor(Float32Array.of(-1, 0, 1, 25), [4]), "gelu");
    expect([...y.data].map((v) => Math.fround(v))).toEqual([-0.15865525393145707, 0, 0.8413447460685429, 25].map(Math.fround));
    const m = ops.activation(new Tensor(Float32Array.of(1, -1, 30), [3]), "mish");
    // mish(1) = tanh(log(1 + e)), mish(-1) = -tanh(log(1 + 1/e))
    expect(m.data[0]).toBeCloseTo(Math.tanh(Math.log1p(Math.E)), 6);
    expect(m.data[1]).toBeCloseTo(-Math.tanh(Math.log1p(1 / Math.E)), 6);
    expect(m.data[2]).toBe(30);
  });
});
