// superres, deblur and colorize through the built CLI (issue 16 #3): a result consistent with the input
// on the shipped model, the other methods and commands on tiny untrained models (what the CLI does with
// them, not quality), and every mistake a one-line error before any work.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { decode } from "fast-png";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { encodePng } from "../../src/image/png.ts";
import { averagePool } from "../../src/inverse/operators.ts";
import { loadMnist } from "../../src/node/mnist.ts";
import { saveModel } from "../../src/model.ts";
import { MNIST_UNET, UNet } from "../../src/nn/unet.ts";
import { makeFixtures, pool, runCli } from "./fixtures.ts";

const F = makeFixtures();
const T = F.dir;
const png = (name: string, w: number, h: number, channels: 1 | 3, f: (i: number) => number) => {
  const p = join(T, name);
  writeFileSync(p, encodePng({ width: w, height: h, channels, data: Uint8Array.from({ length: w * h * channels }, (_, i) => f(i)) }));
  return p;
};
// a held-out MNIST digit averaged to 7x7
const digit = loadMnist({ split: "test" }).images.subarray(0, 784);
const pooled = averagePool([1, 28, 28], 4).A(digit, 1);
const small = png("small7.png", 7, 7, 1, (i) => Math.round((pooled[i] + 1) * 127.5));
const rgbModel = join(T, "rgb.safetensors");
writeFileSync(rgbModel, saveModel(new UNet({ ...MNIST_UNET, inChannels: 3, size: 8, channels: [8, 16], attentionLevels: [], groups: 4, embDim: 8, numClasses: 0 }).initialize(4), { parameterization: "edm", sigmaData: 0.5, sigmaMin: 0.002, sigmaMax: 80 }));
const gray8 = png("gray8.png", 8, 8, 1, (i) => (i * 7) % 256);
const oneLine = (r: { status: number | null; stderr: string }, cmd: string, flag: string, fragment: RegExp) => {
  expect(r.status, r.stderr).toBe(2);
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
  expect(r.stderr).toMatch(new RegExp(`^edge-diffusion ${cmd}: ${flag}:`));
  expect(r.stderr).toMatch(fragment);
};

describe("superres on the shipped model", () => {
  it("writes a 28x28 PNG whose 4x4 block means are the 7x7 input (exactly before clipping to the PNG's range), with progress on stderr", async () => {
    const out = join(T, "big.png");
    const r = await runCli(["superres", "--image", small, "--scale", "4", "--steps", "10", "--out", out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/wrote .*big\.png .*\|\|A x - y\|\| = /);
    expect(r.stderr).toMatch(/superres \(ddrm\) .*100%/);
    const img = decode(readFileSync(out));
    expect([img.width, img.height]).toEqual([28, 28]);
    const inp = decode(readFileSync(small)).data;
    // noiseless by default: A x = y to float32 rounding before the PNG's clipping to [0, 255] and rounding
    const residual = Number(/\|\|A x - y\|\| = (\S+)/.exec(r.stdout)![1]);
    expect(residual).toBeLessThan(1e-5);
    let meanDiff = 0;
    for (let i = 0; i < 7; i++) {
      for (let j = 0; j < 7; j++) {
        let s = 0;
        for (let a = 0; a < 4; a++) for (let b = 0; b < 4; b++) s += img.data[(4 * i + a) * 28 + 4 * j + b];
        meanDiff += Math.abs(s / 16 - inp[i * 7 + j]) / 49;
      }
    }
    // clipping moves a block's mean where the model overshoots [-1, 1]; on average a few levels of 255
    expect(meanDiff).toBeLessThan(4);
  });
});

describe("the other methods and commands", () => {
  it("dps and ilvr run superres; deblur runs; colorize runs on an RGB model and keeps the gray input", async () => {
    const d28 = F.png28;
    const runs = await pool(
      [
        ["superres", "--image", small, "--method", "dps", "--steps", "3", "--model", F.unet, "--out", join(T, "dps.png")],
        ["superres", "--image", small, "--method", "ilvr", "--steps", "3", "--model", F.unet, "--count", "2", "--out", join(T, "ilvr.png")],
        ["deblur", "--image", d28, "--sigma", "1", "--steps", "3", "--model", F.uncond, "--out", join(T, "deblur.png")],
        ["colorize", "--image", gray8, "--model", rgbModel, "--steps", "3", "--sigma-y", "0", "--out", join(T, "colour.png")],
      ],
      2,
      (a) => runCli(a),
    );
    for (const r of runs) expect(r.status, r.stderr).toBe(0);
    expect(decode(readFileSync(join(T, "ilvr.png"))).width).toBeGreaterThan(2 * 28);
    const c = decode(readFileSync(join(T, "colour.png")));
    expect(c.channels).toBe(3);
    const g = decode(readFileSync(gray8)).data;
    for (let p = 0; p < 64; p++) {
      const mean = (c.data[3 * p] + c.data[3 * p + 1] + c.data[3 * p + 2]) / 3;
      // noiseless DDRM keeps the channel mean exactly, up to PNG rounding (and clipping at 0 and 255)
      if (g[p] > 20 && g[p] < 235) expect(Math.abs(mean - g[p]), `pixel ${p}`).toBeLessThan(1.5);
    }
  });
});

describe("mistakes are one line on stderr, exit 2, before any work", () => {
  it.each([
    ["superres", ["--image", small, "--scale", "3"], "--scale", /must divide the model's size 28x28 \(allowed: 1, 2, 4, 7, 14, 28\), got 3/],
    ["superres", ["--image", F.png28, "--scale", "4"], "--image", /is 28x28; --scale 4 on this 28x28 model takes a 7x7 image/],
    ["superres", ["--scale", "4"], "--image", /is required/],
    ["deblur", ["--image", join(T, "missing.png")], "--image", /missing\.png/],
    ["deblur", ["--image", F.png28, "--sigma", "0"], "--sigma", /\(0, 16\]/],
    ["colorize", ["--image", F.png28], "--model", /needs a colour \(3-channel\) model; the shipped model is 28x28 with 1 channel \(grayscale\)/],
    ["superres", ["--image", small, "--method", "sde"], "--method", /"ddrm", "dps", "ilvr"/],
    ["superres", ["--image", small, "--zeta", "2"], "--zeta", /applies to --method dps/],
    ["deblur", ["--image", F.png28, "--scale", "2"], "--scale", /belongs to superres/],
    ["superres", ["--image", small, "--label", "12"], "--label", /class 0\.\.9 or none/],
    ["superres", ["--image", small, "--out", join(F.file, "x.png")], "--out", /cannot write/],
  ] as const)("%s %j", async (cmd, args, flag, fragment) => {
    oneLine(await runCli([cmd, ...args]), cmd, flag, fragment);
  });
});
