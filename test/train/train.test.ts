import { describe, expect, it } from "vitest";
import { Tensor } from "../../src/autograd/tensor.ts";
import { DEFAULT_MLP, ScoreMLP } from "../../src/nn/mlp.ts";
import { MNIST_UNET, UNet } from "../../src/nn/unet.ts";
import { Rng } from "../../src/rng.ts";
import { discreteSchedule } from "../../src/schedule/discrete.ts";
import { karrasSigmas } from "../../src/schedule/sigmas.ts";
import { networkDenoiser } from "../../src/denoiser/network-denoiser.ts";
import { edmPreconditioner, vpPreconditioner } from "../../src/denoiser/precondition.ts";
import { diffusionLoss, type LossConfig } from "../../src/train/loss.ts";
import { NonFiniteLossError, train } from "../../src/train/trainer.ts";

/** Two Gaussian blobs at (-1, 0) and (1, 0) with std 0.1, n points, seeded. */
function blobs(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const z = rng.randn(n, 2);
  const u = rng.stream("side").uniform(new Float64Array(n));
  const d = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    d[2 * i] = (u[i] < 0.5 ? -1 : 1) + 0.1 * z[2 * i];
    d[2 * i + 1] = 0.1 * z[2 * i + 1];
  }
  return d;
}

const edmLoss: LossConfig = { sigmas: { kind: "lognormal", pMean: -1.2, pStd: 1.2 }, weighting: { kind: "simple" }, labelDropout: 0 };
const small = { ...DEFAULT_MLP, hidden: 32, blocks: 1 };

describe("the loss", () => {
  it("min-SNR-gamma weight is min(SNR, gamma)/SNR for eps: at sigma with SNR < gamma it equals the simple loss", () => {
    // With a single item and the eps parameterization, loss_minsnr / loss_simple = min(SNR, gamma) / SNR.
    const net = new ScoreMLP(small).initialize(1);
    const p = vpPreconditioner("eps", discreteSchedule("linear"));
    const x0 = Float32Array.of(0.3, -0.2);
    const simple = diffusionLoss(net, p, { sigmas: { kind: "lognormal", pMean: 0, pStd: 1 }, weighting: { kind: "simple" }, labelDropout: 0 }, x0, [1, 2], new Rng(4));
    const ms = diffusionLoss(net, p, { sigmas: { kind: "lognormal", pMean: 0, pStd: 1 }, weighting: { kind: "min-snr", gamma: 0.5 }, labelDropout: 0 }, x0, [1, 2], new Rng(4));
    const z = new Rng(4).stream("sigma-z").normal(new Float64Array(1))[0];
    const sigma = Math.exp(z);
    const snr = 1 / (sigma * sigma);
    expect(ms.data[0] / simple.data[0]).toBeCloseTo(Math.min(snr, 0.5) / snr, 5);
  });
});

describe("training", () => {
  it("is deterministic: the same seed gives bit-identical weights; another seed does not", () => {
    const run = (seed: number) => {
      const net = new ScoreMLP(small).initialize(0);
      train({ net, precond: edmPreconditioner(0.7), loss: edmLoss, data: { images: blobs(256, 1), shape: [256, 2] }, batchSize: 16, steps: 20, seed, adam: { lr: 1e-3 } });
      return Buffer.from(net.parameters().get("out.weight")!.data.buffer);
    };
    expect(run(1).equals(run(1))).toBe(true);
    expect(run(1).equals(run(2))).toBe(false);
  });

  it("resuming from (weights, AdamW moments, EMA, step) reproduces the uninterrupted run bit for bit", () => {
    const data = { images: blobs(256, 1), shape: [256, 2] };
    const base = { precond: edmPreconditioner(0.7), loss: edmLoss, data, batchSize: 16, seed: 9, adam: { lr: 1e-3, warmup: 5, clip: 1 } };
    const a = new ScoreMLP(small).initialize(0);
    const full = train({ ...base, net: a, steps: 30 });
    const b = new ScoreMLP(small).initialize(0);
    const first = train({ ...base, net: b, steps: 12 });
    train({ ...base, net: b, steps: 30, resume: { adam: first.adam, ema: first.ema } });
    for (const [k, t] of a.parameters()) expect(Buffer.from(t.data.buffer).equals(Buffer.from(b.parameters().get(k)!.data.buffer))).toBe(true);
    for (const [k, s] of full.ema.shadow) expect(Buffer.from(s.buffer).equals(Buffer.from(first.ema.shadow.get(k)!.buffer))).toBe(true);
  });

  it("learns two blobs: Euler sampling of the trained MLP puts half the mass near each centre", () => {
    const N = 2048;
    const net = new ScoreMLP({ ...DEFAULT_MLP, hidden: 64, blocks: 2 }).initialize(0);
    const precond = edmPreconditioner(0.7, 0.002, 20);
    const r = train({ net, precond, loss: edmLoss, data: { images: blobs(N, 1), shape: [N, 2] }, batchSize: 128, steps: 700, seed: 0, adam: { lr: 2e-3, warmup: 50, clip: 1 } });
    expect(r.losses.length).toBe(700);
    const D = networkDenoiser(net, precond, [2]);
    const sig = karrasSigmas(30, 0.002, 20);
    const M = 1000;
    const x = new Rng(5).randn(M, 2);
    for (let i = 0; i < x.length; i++) x[i] *= sig[0];
    for (let k = 0; k < sig.length - 1; k++) {
      const d = D(x, new Float64Array(M).fill(sig[k]), M);
      for (let i = 0; i < x.length; i++) x[i] += ((x[i] - d[i]) / sig[k]) * (sig[k + 1] - sig[k]);
    }
    let right = 0;
    let near = 0;
    for (let i = 0; i < M; i++) {
      if (x[2 * i] > 0) right++;
      if (Math.hypot(Math.abs(x[2 * i]) - 1, x[2 * i + 1]) < 0.4) near++;
    }
    // Binomial(1000, 1/2): sd 0.016; 0.1 is 6 sd. A model that has not learnt the data puts samples
    // far from both centres (an untrained network's Euler samples have std ~ 0.7 around 0).
    expect(Math.abs(right / M - 0.5)).toBeLessThan(0.1);
    expect(near / M).toBeGreaterThan(0.9);
  });

  it("stops with the step number on a non-finite loss, and on abort", () => {
    const net = new ScoreMLP(small).initialize(0);
    const bad = blobs(64, 1);
    for (let i = 0; i < bad.length; i += 2) bad[i] = NaN; // every item, so step 0's batch has one
    const o = { net, precond: edmPreconditioner(0.7), loss: edmLoss, data: { images: bad, shape: [64, 2] }, batchSize: 64, steps: 5, seed: 0, adam: { lr: 1e-3 } };
    expect(() => train(o)).toThrow(NonFiniteLossError);
    expect(() => train(o)).toThrow(/loss at step 0 is NaN/);
    // nothing was updated: the parameters are those before the failing step
    expect([...net.parameters().get("out.weight")!.data].every((v) => v === 0)).toBe(true);
    const ac = new AbortController();
    ac.abort();
    const r = train({ ...o, data: { images: blobs(64, 1), shape: [64, 2] }, signal: ac.signal });
    expect(r.aborted).toBe(true);
    expect(r.step).toBe(0);
  });
});

describe("networks", () => {
  it("the UNet maps [B, C, S, S] to the same shape for 28x28x1 and 32x32x3, with dotted parameter names", () => {
    const a = new UNet({ ...MNIST_UNET, channels: [8, 16], attentionLevels: [1], groups: 4, embDim: 8 }).initialize(0);
    const y = a.forward(new Tensor(new Float32Array(2 * 784), [2, 1, 28, 28]), Float64Array.of(0.1, 3), Int32Array.of(1, 10));
    expect(y.shape).toEqual([2, 1, 28, 28]);
    const b = new UNet({ ...MNIST_UNET, inChannels: 3, size: 32, channels: [8, 16, 16], attentionLevels: [2], groups: 4, embDim: 8, numClasses: 0 }).initialize(0);
    expect(b.forward(new Tensor(new Float32Array(3 * 1024), [1, 3, 32, 32]), Float64Array.of(1)).shape).toEqual([1, 3, 32, 32]);
    const names = [...a.parameters().keys()];
    expect(names).toContain("down.0.res.0.conv1.weight");
    expect(names).toContain("mid.attn.q.weight");
    expect(new Set(names).size).toBe(names.length);
  });

  it("initial values depend only on (seed, parameter name)", () => {
    const a = new ScoreMLP(small).initialize(3).parameters();
    const b = new ScoreMLP({ ...small, numClasses: 5 }).initialize(3).parameters(); // adds a parameter
    expect([...a.get("blocks.0.weight")!.data]).toEqual([...b.get("blocks.0.weight")!.data]);
  });

  it("bad configs name the field", () => {
    expect(() => new UNet({ ...MNIST_UNET, size: 30 })).toThrow(/config.size: must be divisible by 2\^2/);
    expect(() => new UNet({ ...MNIST_UNET, channels: [30, 64, 64] })).toThrow(/config.channels\[0\]/);
    expect(() => new UNet(MNIST_UNET).forward(new Tensor(new Float32Array(16), [1, 1, 4, 4]), [1])).toThrow(/x: must have shape \[B, 1, 28, 28\]/);
  });
});
