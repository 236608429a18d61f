// Buffer reuse and micro-batching in inference (src/autograd/pool.ts, networkDenoiser): they must not
// change a single output bit, and they must bound memory by the micro-batch, not the sampling batch.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { useKernels } from "../../src/autograd/backend.ts";
import { silu } from "../../src/autograd/ops.ts";
import { BufferPool, withPool } from "../../src/autograd/pool.ts";
import { noGrad, Tensor } from "../../src/autograd/tensor.ts";
import { initKernels } from "../../src/kernels/index.ts";
import { createTsKernels } from "../../src/kernels/ts/index.ts";
import { ScoreMLP } from "../../src/nn/mlp.ts";
import { UNet, type UNetConfig } from "../../src/nn/unet.ts";
import { Rng } from "../../src/rng.ts";
import { networkDenoiser } from "../../src/denoiser/network-denoiser.ts";
import { edmPreconditioner } from "../../src/denoiser/precondition.ts";

const tinyUNet: UNetConfig = { kind: "unet", inChannels: 1, size: 8, channels: [8, 16], resBlocks: 1, attentionLevels: [1], groups: 4, embDim: 8, numClasses: 3 };
const precond = edmPreconditioner(0.5);
const sameBits = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

for (const backend of ["ts", "wasm"] as const) {
  describe(`inference pool (${backend} kernels)`, () => {
    it("law: micro-batches over a reused (NaN-poisoned) pool give the same bits as one unpooled batch", async () => {
      useKernels(backend === "ts" ? createTsKernels() : await initKernels());
      const net = new UNet(tinyUNet).initialize(3);
      // perturb the zero-initialised output conv so F is not identically 0
      for (const [, p] of net.parameters()) for (let i = 0; i < p.data.length; i++) p.data[i] += 0.01 * Math.sin(i);
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 0, max: 1000 }), (batch, micro, seed) => {
          const rng = new Rng(seed);
          const x = rng.randn(batch, 64);
          const sigma = Float64Array.from(rng.stream("s").uniform(new Float64Array(batch)), (u) => 0.01 + 5 * u);
          const labels = Int32Array.from({ length: batch }, (_, i) => (i % 4) - 1);
          const whole = networkDenoiser(net, precond, [1, 8, 8], labels, { microBatch: batch, pool: new BufferPool() });
          const pooled = networkDenoiser(net, precond, [1, 8, 8], labels, { microBatch: micro, pool: new BufferPool({ poison: true }) });
          const a = whole(x, sigma, batch);
          pooled(x, sigma, batch); // first call fills the pool; the second runs on poisoned reused buffers
          const b = pooled(x, sigma, batch);
          return sameBits(a, b);
        }),
        { numRuns: 12 },
      );
    });
  });
}

describe("inference pool: memory", () => {
  it("a repeated denoiser call allocates nothing new, and the pool is sized by the micro-batch, not the batch", () => {
    useKernels(createTsKernels());
    const net = new UNet(tinyUNet).initialize(1);
    const sizes: number[] = [];
    for (const batch of [4, 16, 40, 7, 2]) {
      const pool = new BufferPool();
      const d = networkDenoiser(net, precond, [1, 8, 8], undefined, { microBatch: 4, pool });
      const x = new Rng(batch).randn(batch, 64);
      const s = new Float64Array(batch).fill(1);
      d(x, s, batch);
      const after1 = pool.bytes;
      d(x, s, batch);
      d(x, s, batch);
      expect(pool.bytes).toBe(after1);
      sizes.push(pool.bytes);
    }
    expect(sizes[0]).toBeGreaterThan(0);
    // full micro-batches, and tails of 3 and 2 items (they use views of the full micro-batch's buffers)
    for (const s of sizes) expect(s).toBe(sizes[0]);
    // and without micro-batching the footprint grows with the batch (so the bound above is the pool's doing)
    const big = new BufferPool();
    networkDenoiser(net, precond, [1, 8, 8], undefined, { microBatch: 40, pool: big })(new Rng(0).randn(40, 64), new Float64Array(40).fill(1), 40);
    expect(big.bytes).toBeGreaterThan(5 * sizes[0]);
  });

  it("one model's pool serves every batch size without growing: tails reuse the full micro-batch's buffers", () => {
    useKernels(createTsKernels());
    const net = new UNet(tinyUNet).initialize(1);
    const pool = new BufferPool();
    const sizes = [];
    for (const batch of [4, 3, 2, 1, 5, 7, 8]) {
      networkDenoiser(net, precond, [1, 8, 8], undefined, { microBatch: 4, pool })(new Rng(batch).randn(batch, 64), new Float64Array(batch).fill(1), batch);
      sizes.push(pool.bytes);
    }
    for (const s of sizes) expect(s).toBe(sizes[0]);
  });

  it("a denoiser's result is its own: later calls over the same pool leave it unchanged", () => {
    useKernels(createTsKernels());
    const net = new UNet(tinyUNet).initialize(2);
    for (const [, p] of net.parameters()) for (let i = 0; i < p.data.length; i++) p.data[i] += 0.01 * Math.cos(i);
    const d = networkDenoiser(net, precond, [1, 8, 8], undefined, { microBatch: 2, pool: new BufferPool({ poison: true }) });
    const first = d(new Rng(1).randn(3, 64), new Float64Array(3).fill(0.7), 3);
    const copy = first.slice();
    d(new Rng(2).randn(3, 64), new Float64Array(3).fill(2), 3);
    expect(sameBits(first, copy)).toBe(true);
  });

  it("withPool refuses an async function (its buffers would go back at the first await)", () => {
    const pool = new BufferPool();
    expect(() => withPool(pool, async () => 1)).toThrow(/synchronous/);
    expect(() => withPool(pool, () => 1, { items: 3, full: 2 })).toThrow(/batch/);
  });

  it("buffers go back to the pool when the scope throws; a pool cannot be entered twice at once", () => {
    const pool = new BufferPool();
    const x = new Tensor(Float32Array.of(1, -2, 3), [3]);
    expect(() => withPool(pool, () => noGrad(() => { silu(x); throw new Error("boom"); }))).toThrow("boom");
    const held = pool.bytes;
    expect(held).toBe(12);
    const y = withPool(pool, () => noGrad(() => Float32Array.from(silu(x).data)));
    expect(pool.bytes).toBe(held); // the freed buffer was reused
    expect(y[0]).toBeCloseTo(1 / (1 + Math.exp(-1)), 6);
    expect(() => withPool(pool, () => withPool(pool, () => 0))).toThrow(/nested/);
    expect(() => withPool(pool, () => pool.clear())).toThrow(/in use/);
    pool.clear();
    expect(pool.bytes).toBe(0);
  });

  it("ops that record a graph never take pool buffers (backward needs them)", () => {
    const pool = new BufferPool();
    const x = new Tensor(Float32Array.of(0.5, -1), [2], { requiresGrad: true });
    const y = withPool(pool, () => silu(x));
    expect(pool.bytes).toBe(0);
    y.backward(Float32Array.of(1, 1));
    const s = 1 / (1 + Math.exp(-0.5));
    expect(x.grad![0]).toBeCloseTo(s * (1 + 0.5 * (1 - s)), 6); // d silu/dx = s (1 + x (1 - s))
  });

  it("the MLP denoiser keeps its bits under micro-batching too", () => {
    useKernels(createTsKernels());
    const net = new ScoreMLP({ kind: "mlp", dim: 2, hidden: 16, blocks: 2, embDim: 8, numClasses: 0 }).initialize(2);
    const x = new Rng(5).randn(13, 2);
    const s = Float64Array.from({ length: 13 }, (_, i) => 0.1 + i);
    const a = networkDenoiser(net, precond, [2], undefined, { microBatch: 13 })(x, s, 13);
    const d = networkDenoiser(net, precond, [2], undefined, { microBatch: 3, pool: new BufferPool({ poison: true }) });
    d(x, s, 13);
    expect(sameBits(a, d(x, s, 13))).toBe(true);
  });
});
