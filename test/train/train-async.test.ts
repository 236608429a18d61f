// trainAsync (issue 14, point 1): the training loop that yields to the event loop between steps, so an
// abort from an event handler (a SIGINT handler, a UI button, a worker message) is heard within a step,
// while the bytes stay those of the synchronous loop.
import { describe, expect, it } from "vitest";
import { edmPreconditioner } from "../../src/denoiser/precondition.ts";
import { DEFAULT_MLP, ScoreMLP } from "../../src/nn/mlp.ts";
import { Rng } from "../../src/rng.ts";
import type { LossConfig } from "../../src/train/loss.ts";
import { train, trainAsync, type TrainResult } from "../../src/train/trainer.ts";

const small = { ...DEFAULT_MLP, hidden: 32, blocks: 1 };
const loss: LossConfig = { sigmas: { kind: "lognormal", pMean: -1.2, pStd: 1.2 }, weighting: { kind: "simple" }, labelDropout: 0 };
const data = { images: new Rng(4).randn(256, 2), shape: [256, 2] };
const base = { precond: edmPreconditioner(1), loss, data, batchSize: 16, seed: 7, adam: { lr: 1e-3, warmup: 5, clip: 1 }, emaDecay: 0.9 };

/** Every byte of a run's state: weights, EMA, both Adam moments and the step. */
function state(net: ScoreMLP, r: TrainResult): Buffer {
  const parts = [...net.parameters().values()].map((t) => t.data);
  for (const m of [r.ema.shadow, r.adam.m, r.adam.v]) parts.push(...m.values());
  return Buffer.concat([...parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)), Buffer.from(Float64Array.of(r.adam.step).buffer)]);
}

describe("trainAsync", () => {
  it("gives the bytes of train for the same seed, whatever yieldEvery is", async () => {
    const a = new ScoreMLP(small).initialize(0);
    const ref = state(a, train({ ...base, net: a, steps: 25 }));
    for (const yieldEvery of [1, 7]) {
      const b = new ScoreMLP(small).initialize(0);
      const r = await trainAsync({ ...base, net: b, steps: 25, yieldEvery });
      expect(r.aborted).toBe(false);
      expect(r.losses.length).toBe(25);
      expect(state(b, r).equals(ref)).toBe(true);
    }
  });

  it("lets an event handler run between steps: an abort queued as a macrotask stops it after the first step", async () => {
    // The synchronous loop would run all 10,000 steps before this callback could fire.
    const ac = new AbortController();
    setImmediate(() => ac.abort());
    const net = new ScoreMLP(small).initialize(0);
    const r = await trainAsync({ ...base, net, steps: 10_000, signal: ac.signal });
    expect(r.aborted).toBe(true);
    expect(r.step).toBeGreaterThanOrEqual(1);
    expect(r.step).toBeLessThanOrEqual(2);
    expect(r.adam.step).toBe(r.step);
    expect(r.losses.length).toBe(r.step);
  });

  it("an aborted run resumed to the end reproduces the uninterrupted run bit for bit", async () => {
    const a = new ScoreMLP(small).initialize(0);
    const ref = state(a, train({ ...base, net: a, steps: 30 }));
    const b = new ScoreMLP(small).initialize(0);
    const ac = new AbortController();
    const first = await trainAsync({ ...base, net: b, steps: 30, signal: ac.signal, reportEvery: 1, onProgress: (p) => p.step === 11 && ac.abort() });
    expect(first.aborted).toBe(true);
    expect(first.step).toBe(11);
    const rest = await trainAsync({ ...base, net: b, steps: 30, resume: { adam: first.adam, ema: first.ema } });
    expect(state(b, rest).equals(ref)).toBe(true);
  });

  it("names a bad yieldEvery", async () => {
    const net = new ScoreMLP(small).initialize(0);
    await expect(trainAsync({ ...base, net, steps: 2, yieldEvery: 0 })).rejects.toThrow(/^yieldEvery: /);
  });
});
