import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decode } from "fast-png";
import { describe, expect, it } from "vitest";
import { runTrain, type TrainCliOptions } from "../../src/cli/train.ts";
import { generate as sampleModel } from "../../src/generate.ts";
import { readSafetensors } from "../../src/io/safetensors.ts";
import { loadModel, saveModel } from "../../src/model.ts";
import { MNIST_UNET, UNet } from "../../src/nn/unet.ts";

const dir = mkdtempSync(join(tmpdir(), "ed-train-"));
const base = (name: string): TrainCliOptions => ({
  dataset: "moons",
  preset: "toy",
  steps: 40,
  batch: 32,
  lr: 1e-3,
  warmup: 5,
  seed: 3,
  ema: 0.99,
  labelDropout: 0,
  checkpointEvery: 20,
  out: join(dir, `${name}.safetensors`),
  checkpoint: join(dir, `${name}.ckpt.safetensors`),
  resume: false,
  fp16: false,
});

function weights(path: string): Map<string, Float32Array> {
  const m = loadModel(new Uint8Array(readFileSync(path)));
  return new Map([...m.net.parameters()].map(([k, t]) => [k, t.data]));
}

describe("edge-diffusion train", () => {
  it("stopping at step 20 and resuming to 40 gives the same model as 40 steps in one go", async () => {
    await runTrain(base("straight"));
    await runTrain({ ...base("split"), steps: 20 });
    const r = await runTrain({ ...base("split"), steps: 40, resume: true });
    expect(r.step).toBe(40);
    const a = weights(join(dir, "straight.safetensors"));
    const b = weights(join(dir, "split.safetensors"));
    for (const [k, v] of a) expect(Buffer.from(b.get(k)!.buffer).equals(Buffer.from(v.buffer))).toBe(true);
  });

  it("refuses to resume with different settings, naming the setting", async () => {
    await runTrain({ ...base("mismatch"), steps: 20 });
    await expect(runTrain({ ...base("mismatch"), lr: 2e-3, resume: true })).rejects.toThrow(/--lr: is 0.002 but the checkpoint .* was trained with 0.001/);
  });

  it("--fp16 halves the model file and its weights are the float32 ones rounded to half precision", async () => {
    await runTrain({ ...base("f32"), steps: 10 });
    await runTrain({ ...base("f16"), steps: 10, fp16: true });
    const s32 = readFileSync(join(dir, "f32.safetensors")).length;
    const s16 = readFileSync(join(dir, "f16.safetensors")).length;
    expect(s16).toBeLessThan(0.6 * s32);
    const a = weights(join(dir, "f32.safetensors"));
    const b = weights(join(dir, "f16.safetensors"));
    for (const [k, v] of a) {
      const w = b.get(k)!;
      // half precision: relative error <= 2^-11 for normal values, absolute <= 2^-25 near 0
      v.forEach((x, i) => expect(Math.abs(w[i] - x)).toBeLessThanOrEqual(Math.abs(x) * 2 ** -11 + 2 ** -24));
    }
  });

  it("rejects a preset that does not fit the dataset and unknown datasets", async () => {
    await expect(runTrain({ ...base("bad"), preset: "mnist" })).rejects.toThrow(/--preset: mnist does not fit dataset moons/);
    await expect(runTrain({ ...base("bad"), dataset: "nope" })).rejects.toThrow(/--dataset: must be "mnist", a 2-D toy/);
    await expect(runTrain({ ...base("bad"), steps: 0 })).rejects.toThrow(/--steps/);
    await expect(runTrain({ ...base("bad"), preset: "large" as never })).rejects.toThrow(/^--preset: must be one of "mnist", "mnist-tiny", "toy"/);
  });

  it("writes the model and its checkpoint into folders it creates, leaving no temporary file", async () => {
    const out = join(dir, "new", "models", "m.safetensors");
    const checkpoint = join(dir, "new", "state", "m.ckpt.safetensors");
    await runTrain({ ...base("nested"), steps: 4, checkpointEvery: 2, out, checkpoint });
    expect(weights(out).size).toBeGreaterThan(0);
    expect(readdirSync(join(dir, "new", "models"))).toEqual(["m.safetensors"]);
    expect(readdirSync(join(dir, "new", "state"))).toEqual(["m.ckpt.safetensors"]);
  });
});

describe("edge-diffusion sample", () => {
  // a tiny class-conditional image model, saved without training (the sampler path is what is tested)
  const net = new UNet({ ...MNIST_UNET, channels: [8, 16], attentionLevels: [1], groups: 4, embDim: 8 }).initialize(1);
  const modelPath = join(dir, "tiny-unet.safetensors");
  writeFileSync(modelPath, saveModel(net, { parameterization: "edm", sigmaData: 0.5, sigmaMin: 0.002, sigmaMax: 80 }));
  const model = loadModel(new Uint8Array(readFileSync(modelPath)));

  it("writes the raw [N, C, H, W] tensor in [-1, 1], the same for the same seed", () => {
    const o = { count: 3, steps: 4, sampler: "heun", seed: 5, label: "all" as const, guidance: 1, format: "safetensors" as const };
    const a = sampleModel(model, o);
    const b = sampleModel(model, o);
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
    const f = readSafetensors(a.bytes);
    expect(f.tensors.samples.shape).toEqual([3, 1, 28, 28]);
    expect([...(f.tensors.samples.data as Float32Array)].every((v) => v >= -1 && v <= 1)).toBe(true);
    expect([...a.labels!]).toEqual([0, 1, 2]);
    expect(Buffer.from(sampleModel(model, { ...o, seed: 6 }).bytes).equals(Buffer.from(a.bytes))).toBe(false);
  });

  it("sample i is the same in a batch of 1 and of 4 (counter-based noise)", () => {
    const o = { steps: 3, sampler: "euler_ancestral", seed: 2, label: 4, guidance: 1, format: "safetensors" as const };
    const one = sampleModel(model, { ...o, count: 1 }).samples;
    const four = sampleModel(model, { ...o, count: 4 }).samples;
    expect([...four.subarray(0, 784)]).toEqual([...one]);
  });

  it("chunking does not change the bytes: 5 samples in chunks of 1, 2 and 5 are identical", () => {
    const o = { count: 5, steps: 3, sampler: "dpmpp_2m_sde", seed: 8, label: "all" as const, guidance: 1.5, format: "safetensors" as const };
    const a = sampleModel(model, { ...o, chunk: 5 }).bytes;
    for (const chunk of [1, 2]) expect(Buffer.from(sampleModel(model, { ...o, chunk }).bytes).equals(Buffer.from(a))).toBe(true);
  });

  it("inpainting keeps the known region exactly; img2img at a small strength stays near the image", () => {
    const image = new Float32Array(784).map((_, i) => ((i % 28) / 27) * 1.6 - 0.8);
    const keep = new Float32Array(784).map((_, i) => (i < 392 ? 1 : 0)); // upper half known
    const r = sampleModel(model, { count: 2, steps: 6, sampler: "euler", seed: 1, label: 2, guidance: 1, format: "safetensors", inpaint: { image, mask: keep } });
    for (let b = 0; b < 2; b++) for (let i = 0; i < 392; i++) expect(r.samples[b * 784 + i]).toBeCloseTo(image[i], 5);
    const lower = r.samples.subarray(392, 784);
    expect(lower.some((v, i) => Math.abs(v - image[392 + i]) > 0.05)).toBe(true); // the rest was generated
    const s = sampleModel(model, { count: 1, steps: 20, sampler: "euler", seed: 1, label: 2, guidance: 1, format: "safetensors", init: { image, strength: 0.05 } });
    // strength 0.05 of 20 Karras steps starts at sigma ~0.002: the result is the image up to that noise
    let maxErr = 0;
    for (let i = 0; i < 784; i++) maxErr = Math.max(maxErr, Math.abs(s.samples[i] - image[i]));
    expect(maxErr).toBeLessThan(0.05);
    expect(() => sampleModel(model, { count: 1, steps: 2, sampler: "euler", seed: 0, label: 1, guidance: 1, format: "png", inpaint: { image, mask: keep.subarray(0, 100) } })).toThrow(/inpaint.mask: must have the model's item shape \[1, 28, 28\]/);
    expect(() => sampleModel(model, { count: 1, steps: 2, sampler: "euler", seed: 0, label: 1, guidance: 1, format: "png", init: { image, strength: 1.5 } })).toThrow(/init.strength: must be in \(0, 1\]/);
  });

  it("a PNG grid has one tile per sample; bad labels and guidance are named", () => {
    const r = sampleModel(model, { count: 4, steps: 2, sampler: "euler", seed: 0, label: 3, guidance: 2, format: "png", cols: 2, scale: 1 });
    const png = decode(r.bytes);
    expect(png.width).toBe(2 * 28 + 3 * 2);
    expect(png.height).toBe(2 * 28 + 3 * 2);
    expect(() => sampleModel(model, { count: 1, steps: 2, sampler: "euler", seed: 0, label: 10, guidance: 1, format: "png" })).toThrow(/^label: must be an integer in \[0, 9\]/);
    expect(() => sampleModel(model, { count: 1, steps: 2, sampler: "nope", seed: 0, label: 1, guidance: 1, format: "png" })).toThrow(/^sampler: unknown sampler "nope": must be one of/);
  });

  it("the built CLI runs img2img and inpaint from PNGs and names a PNG of the wrong size", async () => {
    const { encodePng } = await import("../../src/image/png.ts");
    const img = join(dir, "digit.png");
    const mask = join(dir, "mask.png");
    writeFileSync(img, encodePng({ width: 28, height: 28, channels: 1, data: new Uint8Array(784).map((_, i) => (i % 28) * 9) }));
    writeFileSync(mask, encodePng({ width: 28, height: 28, channels: 1, data: new Uint8Array(784).map((_, i) => (i < 392 ? 0 : 255)) }));
    const run = (...a: string[]) => spawnSync(process.execPath, ["dist/cli.js", ...a, "--model", modelPath, "--count", "2", "--steps", "2"], { encoding: "utf8" });
    const i2i = run("img2img", "--image", img, "--strength", "0.5", "--out", join(dir, "i2i.png"));
    expect(i2i.stderr + i2i.status).toMatch(/0$/);
    const inp = run("inpaint", "--image", img, "--mask", mask, "--out", join(dir, "inp.png"));
    expect(inp.stderr + inp.status).toMatch(/0$/);
    const small = join(dir, "small.png");
    writeFileSync(small, encodePng({ width: 10, height: 10, channels: 1, data: new Uint8Array(100) }));
    const bad = run("inpaint", "--image", img, "--mask", small);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--mask: .*small\.png is 10x10; the model takes 28x28/);
    expect(run("img2img", "--strength", "0.5").stderr).toMatch(/--image: is required for img2img/);
  });

  it("the built CLI samples a model file and rejects a file that is not a model", () => {
    const out = join(dir, "grid.png");
    const ok = spawnSync(process.execPath, ["dist/cli.js", "sample", "--model", modelPath, "--count", "2", "--steps", "2", "--out", out], { encoding: "utf8" });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain(`wrote ${out}`);
    expect(decode(readFileSync(out)).width).toBeGreaterThan(28);
    // the library names its option (label); the CLI reports it under the flag that set it
    const badLabel = spawnSync(process.execPath, ["dist/cli.js", "sample", "--model", modelPath, "--count", "1", "--steps", "1", "--label", "10", "--out", out], { encoding: "utf8" });
    expect(badLabel.status).toBe(2);
    expect(badLabel.stderr).toMatch(/edge-diffusion sample: --label: must be a class in \[0, 9\]/);
    const junk = join(dir, "junk.safetensors");
    writeFileSync(junk, new Uint8Array(100));
    const bad = spawnSync(process.execPath, ["dist/cli.js", "sample", "--model", junk], { encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--model: .*junk\.safetensors is not a model/);
  });
});

describe("edge-diffusion train on files", () => {
  it("trains an image model from IDX files (images + labels) and from a folder of PNGs, and samples it", async () => {
    const { encodePng } = await import("../../src/image/png.ts");
    const { mkdirSync } = await import("node:fs");
    // 12 images 8x8 with labels 0..2, written as IDX (magic 0x0803 / 0x0801, big-endian dims)
    const N = 12;
    const img = new Uint8Array(16 + N * 64);
    const dv = new DataView(img.buffer);
    dv.setUint32(0, 0x803);
    dv.setUint32(4, N);
    dv.setUint32(8, 8);
    dv.setUint32(12, 8);
    for (let i = 0; i < N * 64; i++) img[16 + i] = (i * 37) % 256;
    const lab = new Uint8Array(8 + N);
    new DataView(lab.buffer).setUint32(0, 0x801);
    new DataView(lab.buffer).setUint32(4, N);
    for (let i = 0; i < N; i++) lab[8 + i] = i % 3;
    writeFileSync(join(dir, "img.idx"), img);
    writeFileSync(join(dir, "lab.idx"), lab);
    const o = { ...base("idx"), dataset: `idx:${join(dir, "img.idx")},${join(dir, "lab.idx")}`, preset: "mnist-tiny" as const, steps: 3, batch: 4 };
    await runTrain(o);
    const m = loadModel(new Uint8Array(readFileSync(o.out)));
    expect(m.itemShape).toEqual([1, 8, 8]);
    expect(m.numClasses).toBe(3);
    const r = sampleModel(m, { count: 3, steps: 2, sampler: "euler", seed: 0, label: "all", guidance: 1, format: "png" });
    expect(decode(r.bytes).width).toBeGreaterThan(8);

    const folder = join(dir, "pngs");
    mkdirSync(folder);
    for (let i = 0; i < 3; i++) writeFileSync(join(folder, `${i}.png`), encodePng({ width: 20, height: 12, channels: 1, data: new Uint8Array(240).fill(40 * i) }));
    const f = { ...base("folder"), dataset: `folder:${folder}`, preset: "mnist-tiny" as const, steps: 2, batch: 2 };
    await runTrain(f);
    const mf = loadModel(new Uint8Array(readFileSync(f.out)));
    expect(mf.itemShape).toEqual([1, 28, 28]);
    expect(mf.numClasses).toBe(0);
    await expect(runTrain({ ...f, dataset: "idx:" })).rejects.toThrow(/--dataset: idx: needs a file/);
    await expect(runTrain({ ...f, dataset: `idx:${join(dir, "nope.idx")}` })).rejects.toThrow(/nope\.idx/);
  });
});
