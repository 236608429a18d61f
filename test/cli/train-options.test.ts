// `train` from the user's side (issue 14): unwritable destinations fail before any work (point 5), a
// folder of RGB PNGs of any size trains with an image preset by default and samples (point 11), and the
// reported rate and ETA count only this run's steps, up to the last step (point 7).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decode, encode } from "fast-png";
import { describe, expect, it } from "vitest";
import { runTrain, type TrainCliOptions } from "../../src/cli/train.ts";
import { loadModel } from "../../src/model.ts";
import { Rng } from "../../src/rng.ts";
import type { Progress } from "../../src/train/trainer.ts";

const dir = mkdtempSync(join(tmpdir(), "ed-train-opts-"));
const base = (name: string): TrainCliOptions => ({
  dataset: "moons",
  steps: 40,
  batch: 16,
  lr: 1e-3,
  warmup: 5,
  seed: 3,
  ema: 0.99,
  labelDropout: 0,
  checkpointEvery: 10,
  out: join(dir, `${name}.safetensors`),
  checkpoint: join(dir, `${name}.ckpt.safetensors`),
  resume: false,
  fp16: false,
});

describe("train --out and --checkpoint are checked before any work", () => {
  const file = join(dir, "a-file");
  writeFileSync(file, "x");
  const cli = (...a: string[]) => spawnSync(process.execPath, ["dist/cli.js", "train", "--dataset", "moons", "--steps", "300", ...a], { encoding: "utf8" });

  it.each([
    ["--out under /proc (ENOENT)", ["--out", "/proc/edge-diffusion-test/m.safetensors"], /--out: cannot write \/proc\/edge-diffusion-test\/m\.safetensors: cannot create its folder \/proc\/edge-diffusion-test: .*\(ENOENT\)/],
    ["--out under an existing file", ["--out", join(file, "m.safetensors")], /--out: cannot write .*a-file\/m\.safetensors: .*a part of the path is a file, not a folder \((EEXIST|ENOTDIR)\)/],
    ["--checkpoint under an existing file", ["--out", join(dir, "ok.safetensors"), "--checkpoint", join(file, "sub", "c.safetensors")], /--checkpoint: cannot write .*: .*a part of the path is a file, not a folder \((EEXIST|ENOTDIR)\)/],
    ["--out that is a folder", ["--out", mkdirSync(join(dir, "d.safetensors"), { recursive: true }) ?? join(dir, "d.safetensors")], /--out: cannot write .*d\.safetensors: it is a folder/],
  ])("%s: one line naming the flag, exit 2, no training and no stack trace", (_name, argv, message) => {
    const r = cli(...(argv as string[]));
    expect(r.status).toBe(2);
    expect(r.stderr.split("\n")[0]).toMatch(message as RegExp);
    expect(r.stderr).not.toMatch(/training \d+\/|\n\s+at /);
    expect(existsSync(join(dir, "ok.safetensors"))).toBe(false);
  });

  it("the library call fails the same way before loading the dataset", async () => {
    // a dataset that would fail to load if it were reached: the destination is checked first
    await expect(runTrain({ ...base("x"), dataset: `folder:${join(dir, "missing")}`, out: join(file, "m.safetensors") })).rejects.toThrow(/^--out: cannot write/);
  });
});

describe("train on a folder of RGB PNGs", () => {
  it("--size 16 --channels 3 trains an RGB model with an image preset by default, and the CLI samples it", async () => {
    const folder = join(dir, "rgb");
    mkdirSync(folder);
    const rng = new Rng(9);
    for (let i = 0; i < 8; i++) {
      const px = rng.stream(i).uniform(new Float64Array(16 * 16 * 3));
      writeFileSync(join(folder, `img${i}.png`), encode({ width: 16, height: 16, channels: 3, depth: 8, data: Uint8Array.from(px, (u) => Math.floor(u * 256)) }));
    }
    const o = { ...base("rgb"), dataset: `folder:${folder}`, size: 16, channels: 3 as const, steps: 3, batch: 4, checkpointEvery: 3 };
    const r = await runTrain(o);
    expect(r.step).toBe(3);
    const m = loadModel(new Uint8Array(readFileSync(o.out)));
    expect(m.itemShape).toEqual([3, 16, 16]);
    expect(m.numClasses).toBe(0);
    const out = join(dir, "rgb.png");
    const s = spawnSync(process.execPath, ["dist/cli.js", "sample", "--model", o.out, "--count", "2", "--steps", "2", "--threads", "1", "--out", out], { encoding: "utf8" });
    expect(s.stderr + s.status).toMatch(/0$/);
    const png = decode(readFileSync(out));
    expect(png.channels).toBe(3);
    expect(png.width).toBeGreaterThanOrEqual(2 * 16);

    // defaults: 28x28 gray; a size the preset cannot halve is named under --size; toys take no --size
    const gray = await runTrain({ ...o, size: undefined, channels: undefined, out: join(dir, "gray.safetensors"), checkpoint: join(dir, "gray.ckpt.safetensors"), steps: 1 });
    expect(gray.step).toBe(1);
    expect(loadModel(new Uint8Array(readFileSync(join(dir, "gray.safetensors")))).itemShape).toEqual([1, 28, 28]);
    await expect(runTrain({ ...o, size: 18 })).rejects.toThrow(/^--size: must be divisible by 4 for preset mnist, got 18/);
    await expect(runTrain({ ...o, preset: "toy" })).rejects.toThrow(/^--preset: toy does not fit dataset folder:/);
    await expect(runTrain({ ...base("toysize"), size: 16 })).rejects.toThrow(/^--size: applies to image datasets; moons is 2-D points/);
    await expect(runTrain({ ...o, channels: 2 as never })).rejects.toThrow(/^--channels: must be 1 \(gray\) or 3 \(RGB\)/);
  });
});

describe("train progress", () => {
  it("reports rate and ETA to the last step, over this run's steps only, after --resume too", async () => {
    const seen: Progress[] = [];
    await runTrain(base("eta"), (p) => seen.push(p));
    await runTrain({ ...base("eta"), steps: 80, resume: true }, (p) => seen.push(p));
    const [first, resumed] = [seen.filter((p) => p.steps === 40), seen.filter((p) => p.steps === 80)];
    expect(first.map((p) => p.step)).toEqual([10, 20, 30, 40]);
    // the resumed run shows its starting step first, then counts on from there
    expect(resumed.map((p) => p.step)).toEqual([40, 50, 60, 70, 80]);
    for (const p of [...first, ...resumed.slice(1)]) {
      expect(p.itPerSec).toBeGreaterThan(0);
      expect(p.etaSeconds * p.itPerSec).toBeCloseTo(p.steps - p.step, 6);
    }
  });
});
