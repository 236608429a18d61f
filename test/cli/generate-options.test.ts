// generate()'s up-front checks and grid layout (issue 14 #7): a wrong format or a PNG of points fails
// before the first step, and "all" labels never make a grid wider than the samples.
import { describe, expect, it } from "vitest";
import { decode } from "fast-png";
import { generate } from "../../src/generate.ts";
import { loadModel, saveModel } from "../../src/model.ts";
import { ScoreMLP } from "../../src/nn/mlp.ts";
import { MNIST_UNET, UNet } from "../../src/nn/unet.ts";

const EDM = { parameterization: "edm", sigmaData: 0.5, sigmaMin: 0.002, sigmaMax: 80 } as const;
const unet = loadModel(saveModel(new UNet({ ...MNIST_UNET, channels: [8, 16], attentionLevels: [1], groups: 4, embDim: 8 }).initialize(1), EDM));
const toy = loadModel(saveModel(new ScoreMLP({ kind: "mlp", dim: 2, hidden: 16, blocks: 1, embDim: 8, numClasses: 0 }).initialize(3), EDM));
const base = { count: 2, steps: 2, sampler: "euler", seed: 0, label: "all" as const, guidance: 1, format: "png" as const };

describe("generate() options", () => {
  it("refuses a format other than png or safetensors, before sampling", () => {
    let steps = 0;
    expect(() => generate(unet, { ...base, format: "jpg" as never, onStep: () => steps++ })).toThrow(/^format: must be one of "png", "safetensors", got "jpg"$/);
    expect(steps).toBe(0);
  });

  it("refuses a PNG of a 2-D model before the first step", () => {
    let steps = 0;
    expect(() => generate(toy, { ...base, label: null, format: "png", onStep: () => steps++ })).toThrow(/^format: a PNG needs an image model/);
    expect(steps).toBe(0);
  });

  it("label all: one column per class, but no more columns than samples", () => {
    // tiles 28 px at scale 2 with 2 px gaps: width = cols * 56 + (cols + 1) * 2
    const width = (count: number) => decode(generate(unet, { ...base, count }).bytes).width;
    expect(width(4)).toBe(4 * 56 + 5 * 2);
    expect(width(12)).toBe(10 * 56 + 11 * 2);
    expect(decode(generate(unet, { ...base, count: 4, cols: 2 }).bytes).width).toBe(2 * 56 + 3 * 2);
  });

  it("onStep's fraction rises through the whole run to exactly 1, from the first chunk's first step", () => {
    const fr: number[] = [];
    generate(unet, { ...base, count: 5, steps: 3, chunk: 2, format: "safetensors", onStep: (_s, _t, f) => fr.push(f) });
    expect(fr).toHaveLength(3 * 3); // 3 chunks x 3 steps
    expect(fr[0]).toBeCloseTo(2 / 3 / 5, 12);
    for (let i = 1; i < fr.length; i++) expect(fr[i]).toBeGreaterThan(fr[i - 1]);
    expect(fr[fr.length - 1]).toBe(1);
  });
});
