// Every sampler with class labels, guided (w = 2) and plain conditional (w = 1), at every small batch size
// and step count: item b of a batch equals item b sampled alone with its label (firstItem = b). Catches a
// sampler that evaluates the denoiser on a sub-batch while the labels stay lined up with the whole batch
// (issue 14 #3: rk45 with guidance said "labels: must have one label per item (2), got 10").
import { describe, expect, it } from "vitest";
import { guidedDenoiser } from "../../src/denoiser/guidance.ts";
import type { Denoiser } from "../../src/denoiser/contract.ts";
import { generate } from "../../src/generate.ts";
import { Rng } from "../../src/rng.ts";
import { getSampler, initialNoise, SAMPLER_NAMES } from "../../src/samplers/index.ts";
import { karrasSigmas } from "../../src/schedule/index.ts";
import { GaussianMixture } from "../../src/testbed/mixture.ts";
import { useKernels } from "../../src/autograd/backend.ts";
import { createTsKernels } from "../../src/kernels/ts/index.ts";
import { loadModel, saveModel } from "../../src/model.ts";
import { UNet } from "../../src/nn/unet.ts";

const gm = GaussianMixture.example2d();
const K = 3;

/** The denoiser generate() builds: the conditional one at w = 1, classifier-free guidance otherwise. */
function conditioned(labels: Int32Array, w: number): Denoiser {
  return w === 1 ? (x, s, b) => gm.conditionalDenoiser(x, s, b, labels) : guidedDenoiser(gm.conditionalDenoiser, labels, w);
}

describe("every sampler x guidance x batch size on the mixture's conditional denoiser", () => {
  for (const name of SAMPLER_NAMES) {
    it(`${name}: item b of a labelled batch equals item b alone, for counts 1..6, steps 1..6, w = 1 and 2`, () => {
      const fn = getSampler(name);
      // rk45 at a loose tolerance so items finish their intervals in different rounds
      const extra = name === "rk45" ? { rtol: 1e-2, atol: 1e-2 } : name === "langevin" ? { stepsPerLevel: 3 } : {};
      for (const w of [1, 2]) {
        for (let count = 1; count <= 6; count++) {
          for (let steps = 1; steps <= 6; steps++) {
            const sig = karrasSigmas(steps, 0.002, 40);
            const labels = Int32Array.from({ length: count }, (_, i) => (i * 2 + steps) % K);
            const x = initialNoise(new Rng(3), count, 2, sig[0]);
            const opts = { rng: new Rng(5), ...extra };
            const all = fn(conditioned(labels, w), x, sig, { ...opts, batch: count }).x;
            expect(all.every(Number.isFinite)).toBe(true);
            for (let b = 0; b < count; b++) {
              const one = fn(conditioned(labels.subarray(b, b + 1), w), x.slice(2 * b, 2 * b + 2), sig, { ...opts, batch: 1, firstItem: b }).x;
              expect(Array.from(one), `${name} w=${w} count=${count} steps=${steps} item ${b}`).toEqual(Array.from(all.subarray(2 * b, 2 * b + 2)));
            }
          }
        }
      }
    });
  }
  it("rk45's items do finish in different rounds here (the case the law is about)", () => {
    // with per-item controllers, a batch whose items need different step counts costs more calls than
    // its cheapest item alone: if not, the test above would not exercise frozen items
    const sig = karrasSigmas(3, 0.002, 40);
    const x = initialNoise(new Rng(3), 6, 2, sig[0]);
    const calls = (d: Denoiser, batch: number, xx: Float32Array) => {
      let n = 0;
      getSampler("rk45")((a, s, b) => (n++, d(a, s, b)), xx, sig, { batch, rtol: 1e-2, atol: 1e-2 });
      return n;
    };
    const labels = Int32Array.from({ length: 6 }, (_, i) => i % K);
    const alone = Array.from({ length: 6 }, (_, b) => calls(conditioned(labels.subarray(b, b + 1), 2), 1, x.slice(2 * b, 2 * b + 2)));
    expect(Math.min(...alone)).toBeLessThan(Math.max(...alone));
    expect(calls(conditioned(labels, 2), 6, x)).toBe(Math.max(...alone));
  });
});

describe("every sampler with guidance on a tiny UNet through generate()", () => {
  useKernels(createTsKernels());
  const net = new UNet({ kind: "unet", inChannels: 1, size: 8, channels: [8, 8], resBlocks: 1, attentionLevels: [], groups: 4, embDim: 8, numClasses: 3 }).initialize(7);
  const model = loadModel(saveModel(net, { parameterization: "edm", sigmaData: 0.5, sigmaMin: 0.002, sigmaMax: 80 }));
  for (const sampler of SAMPLER_NAMES) {
    it(`${sampler}: counts 1, 3 and 5, 4 steps, w = 1 and 2, finite`, () => {
      for (const guidance of [1, 2]) {
        for (const count of [1, 3, 5]) {
          const r = generate(model, { count, steps: 4, sampler, seed: 1, label: "all", guidance, format: "safetensors" });
          expect(r.samples.length).toBe(count * 64);
          expect(r.samples.every(Number.isFinite)).toBe(true);
        }
      }
    });
  }
});
