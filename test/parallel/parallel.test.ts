// The parallel denoiser (src/parallel): worker threads must not change a single output bit, and a
// failure in any thread must surface as an error in the caller. The workers run dist/parallel-worker.js
// (npm test builds it first).
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useKernels } from "../../src/autograd/backend.ts";
import { generate, type GenerateOptions } from "../../src/generate.ts";
import { initKernels } from "../../src/kernels/index.ts";
import { loadModel, saveModel } from "../../src/model.ts";
import { UNet, type UNetConfig } from "../../src/nn/unet.ts";
import type { ParallelModel } from "../../src/parallel/host.ts";
import { parallelModel } from "../../src/node/parallel.ts";
import { Rng } from "../../src/rng.ts";
import { ArgumentError } from "../../src/validate.ts";

const cfg: UNetConfig = { kind: "unet", inChannels: 1, size: 8, channels: [8, 16], resBlocks: 1, attentionLevels: [1], groups: 4, embDim: 8, numClasses: 3 };
let bytes: Uint8Array;
const open: ParallelModel[] = [];

beforeAll(async () => {
  useKernels(await initKernels());
  const net = new UNet(cfg).initialize(5);
  for (const [, p] of net.parameters()) for (let i = 0; i < p.data.length; i++) p.data[i] += 0.02 * Math.sin(7 * i);
  bytes = saveModel(net, { parameterization: "edm", sigmaData: 0.5, sigmaMin: 0.002, sigmaMax: 80 });
});
afterAll(async () => {
  await Promise.all(open.map((m) => m.close()));
});

async function par(threads: number, opts: { maxBatch?: number; microBatch?: number } = {}) {
  const m = await parallelModel(bytes, { threads, ...opts });
  open.push(m);
  return m;
}

describe("parallel denoiser", () => {
  it("law: any thread count gives the bytes of one thread (generate, guidance, every chunk size)", async () => {
    const models = new Map<number, ParallelModel>([[2, await par(2)], [3, await par(3, { maxBatch: 8 })]]);
    const one = loadModel(bytes);
    fc.assert(
      fc.property(
        fc.constantFrom(2, 3),
        fc.constantFrom("dpmpp_2m", "euler_ancestral", "heun"),
        fc.integer({ min: 1, max: 21 }),
        fc.integer({ min: 1, max: 24 }),
        fc.constantFrom(1, 3),
        (threads, sampler, count, chunk, guidance) => {
          const o: GenerateOptions = { count, steps: 3, sampler, seed: count * 31 + chunk, label: "all", guidance, format: "safetensors", chunk };
          return Buffer.from(generate(models.get(threads)!, o).bytes).equals(Buffer.from(generate(one, o).bytes));
        },
      ),
      { numRuns: 10 },
    );
    expect(models.get(3)!.threads).toBe(3);
  });

  it("law: a batch larger than the shared buffer runs in rounds with the same bytes; labels -1 mean unconditional", async () => {
    const m = await par(2, { maxBatch: 4, microBatch: 1 });
    const one = loadModel(bytes).denoiser();
    const B = 11;
    const x = new Rng(3).randn(B, 64);
    const sigma = Float64Array.from({ length: B }, (_, i) => 0.05 * (i + 1));
    const labels = Int32Array.from({ length: B }, (_, i) => (i % 4) - 1);
    const a = m.denoiser()(x, sigma, B, labels);
    const b = one(x, sigma, B, labels);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
  });

  it("a worker's failure reaches the caller as an error naming it, and the model keeps working", async () => {
    const m = await par(2, { microBatch: 1 });
    const d = m.denoiser();
    const B = 4;
    const x = new Rng(1).randn(B, 64);
    const s = new Float64Array(B).fill(1);
    // bad labels are refused before any thread starts, naming the item
    expect(() => d(x, s, B, Int32Array.of(0, 7, 1, 2))).toThrow(/labels\[1\]/);
    expect(() => d(x, s, B, Int32Array.of(0, 1, 2, -2))).toThrow(/labels\[3\]/);
    // a failure inside a worker (item 1 runs there: micro-batches alternate between threads) reaches
    // the caller naming the worker; a non-finite sigma fails in the network, not in the checks above
    const sBad = Float64Array.of(1, Number.NaN, 1, 1);
    expect(() => d(x, sBad, B)).toThrow(/worker 1: /);
    // ... and when both threads fail in one job, the next, valid call is not blamed for it
    expect(() => d(x, Float64Array.of(Number.NaN, Number.NaN, 1, 1), B)).toThrow();
    const ok = d(x, s, B, Int32Array.of(0, 1, 2, 0));
    expect(Buffer.from(ok.buffer).equals(Buffer.from(loadModel(bytes).denoiser()(x, s, B, Int32Array.of(0, 1, 2, 0)).buffer))).toBe(true);
    expect(() => d(x.subarray(1), s, B)).toThrow(ArgumentError);
  });

  it("law: with Winograd convolutions off on the calling thread, the workers turn them off too (same bytes)", async () => {
    useKernels(await initKernels({ winograd: false }));
    try {
      const m = await par(2, { microBatch: 1 });
      const x = new Rng(8).randn(6, 64);
      const s = new Float64Array(6).fill(0.9);
      const a = m.denoiser()(x, s, 6, Int32Array.of(0, 1, 2, 0, 1, 2));
      const b = loadModel(bytes).denoiser()(x, s, 6, Int32Array.of(0, 1, 2, 0, 1, 2));
      expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    } finally {
      useKernels(await initKernels());
    }
  });

  it("bad options name the option; a closed model refuses to sample", async () => {
    await expect(parallelModel(bytes, { threads: 0 })).rejects.toThrow(/threads/);
    await expect(parallelModel(bytes, { threads: 2.5 })).rejects.toThrow(ArgumentError);
    await expect(parallelModel(bytes, { threads: 2, microBatch: 8, maxBatch: 4 })).rejects.toThrow(/maxBatch/);
    const m = await parallelModel(bytes, { threads: 2 });
    await m.close();
    expect(() => m.denoiser()(new Float32Array(64 * 8), new Float64Array(8).fill(1), 8)).toThrow(/closed/);
    const single = await parallelModel(bytes, { threads: 1 });
    expect(single.threads).toBe(1);
  });
});
