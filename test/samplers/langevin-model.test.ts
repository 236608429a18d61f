// Annealed Langevin on the shipped model with its defaults and the CLI's 20 levels (Karras sigmas
// 0.002..80): finite digits, guided and not. Before issue 14 #2 the step alpha_i = epsilon sigma_i^2 /
// sigma_L^2 (epsilon tuned for NCSN's sigma_L = 0.01) gave alpha / sigma^2 = 5 at sigma_L = 0.002 and the
// first level already produced NaN.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { useKernels } from "../../src/autograd/backend.ts";
import { generate } from "../../src/generate.ts";
import { initKernels } from "../../src/kernels/index.ts";
import { loadModel, type LoadedModel } from "../../src/model.ts";

const ROOT = join(import.meta.dirname, "../..");
let model: LoadedModel;
beforeAll(async () => {
  useKernels(await initKernels());
  model = loadModel(readFileSync(join(ROOT, "models/mnist.safetensors")));
});

describe("langevin on the shipped model", () => {
  for (const guidance of [1, 2]) {
    it(`guidance ${guidance}: 20 levels, default steps per level and step scale, digit-like images`, () => {
      const count = 3;
      const r = generate(model, { count, steps: 20, sampler: "langevin", seed: 0, label: "all", guidance, format: "safetensors" });
      expect(r.samples.every(Number.isFinite)).toBe(true);
      for (let b = 0; b < count; b++) {
        // a digit: mostly black background (brightness (x + 1) / 2 well below one half), strokes present
        const img = r.samples.subarray(b * 784, (b + 1) * 784);
        let s = 0;
        let sq = 0;
        let bright = 0;
        for (const v of img) {
          const p = (v + 1) / 2;
          s += p;
          sq += p * p;
          if (p > 0.75) bright++;
        }
        const mean = s / 784;
        expect(mean, `item ${b}`).toBeGreaterThan(0.03);
        expect(mean, `item ${b}`).toBeLessThan(0.3);
        expect(Math.sqrt(sq / 784 - mean * mean), `item ${b}`).toBeGreaterThan(0.2);
        // a stroke of a digit covers 5-30% of the pixels; noise or a grey field would not
        expect(bright / 784, `item ${b}`).toBeGreaterThan(0.04);
        expect(bright / 784, `item ${b}`).toBeLessThan(0.35);
      }
    }, 120_000);
  }
});
