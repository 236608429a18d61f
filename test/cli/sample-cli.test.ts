// What sample, img2img and inpaint do with what they are given (issue 14 #7, #12, #15), on tiny
// untrained models through the built CLI, and `info`, `--version` and the bare command (#10).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { decode } from "fast-png";
import { describe, expect, it } from "vitest";
import { readSafetensors } from "../../src/io/safetensors.ts";
import { CLI, makeFixtures, pool, runCli } from "./fixtures.ts";
import { spawn } from "node:child_process";

const F = makeFixtures();
const T = F.dir;
const fast = ["--model", F.unet, "--steps", "4", "--threads", "1"];
const lastProgress = (stderr: string) => stderr.trim().split("\n").filter((l) => /^sampling .*%\)/.test(l)).pop() ?? "";

describe("sample, img2img, inpaint", () => {
  it("--sampler takes the names people type and --schedule the sigmas (issue 14 #13)", async () => {
    const base = ["sample", ...fast, "--count", "2", "--label", "1"];
    const [ours, a1111, exp, bad, clash] = await pool(
      [
        [...base, "--sampler", "euler_ancestral", "--out", join(T, "ea.safetensors")],
        [...base, "--sampler", "Euler a", "--out", join(T, "ea2.safetensors")],
        [...base, "--sampler", "euler", "--schedule", "exponential", "--out", join(T, "ex.safetensors")],
        [...base, "--schedule", "cosine", "--out", join(T, "bad.safetensors")],
        [...base, "--sampler", "DPM++ 2M Karras", "--schedule", "exponential", "--out", join(T, "clash.safetensors")],
      ],
      3,
      (a) => runCli(a),
    );
    for (const r of [ours, a1111, exp]) expect(r.status, r.stderr).toBe(0);
    const data = (f: string) => readSafetensors(new Uint8Array(readFileSync(join(T, f)))).tensors.samples.data;
    expect(data("ea2.safetensors")).toEqual(data("ea.safetensors"));
    for (const [r, flag] of [[bad, "--schedule"], [clash, "--schedule"]] as const) {
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(new RegExp(`^edge-diffusion sample: ${flag}:`));
    }
  });

  it("img2img's progress ends at 100% (it runs only the tail of the steps its strength keeps)", async () => {
    const r = await runCli(["img2img", ...fast, "--steps", "10", "--image", F.png28, "--strength", "0.5", "--label", "3", "--count", "2", "--out", join(T, "i2i.png")]);
    expect(r.status, r.stderr).toBe(0);
    expect(lastProgress(r.stderr)).toMatch(/\(100%\)/);
  });

  it("img2img and inpaint without --label sample unconditionally; --label keeps its class", async () => {
    const [i2i, inp, lab] = await pool(
      [
        ["img2img", ...fast, "--image", F.png28, "--count", "3", "--out", join(T, "u.safetensors")],
        ["inpaint", ...fast, "--image", F.png28, "--mask", F.png28, "--count", "3", "--out", join(T, "v.safetensors")],
        ["img2img", ...fast, "--image", F.png28, "--count", "3", "--label", "3", "--out", join(T, "w.safetensors")],
      ],
      3,
      (a) => runCli(a),
    );
    for (const r of [i2i, inp, lab]) expect(r.status, r.stderr).toBe(0);
    const labels = (f: string) => readSafetensors(new Uint8Array(readFileSync(join(T, f)))).metadata.labels;
    expect(labels("u.safetensors")).toBe("null");
    expect(labels("v.safetensors")).toBe("null");
    expect(labels("w.safetensors")).toBe("[3,3,3]");
  });

  it("inpaint says which sampler it runs, not the --sampler it ignores", async () => {
    const r = await runCli(["inpaint", ...fast, "--image", F.png28, "--mask", F.png28, "--count", "1", "--sampler", "heun", "--out", join(T, "inp.png")]);
    expect(r.status, r.stderr).toBe(0);
    const header = r.stdout.split("\n")[0];
    expect(header).toMatch(/with the inpainting sampler/);
    expect(header).not.toMatch(/heun/);
  });

  it("--count 4 of 10 classes is a grid of 4 columns; --cols sets them", async () => {
    const [a, b] = await pool(
      [
        ["sample", ...fast, "--count", "4", "--out", join(T, "g4.png")],
        ["sample", ...fast, "--count", "4", "--cols", "2", "--out", join(T, "g2.png")],
      ],
      2,
      (x) => runCli(x),
    );
    expect(a.status, a.stderr).toBe(0);
    expect(b.status, b.stderr).toBe(0);
    // tiles of 28 px at scale 2 with a 2 px gap: cols * 56 + (cols + 1) * 2
    const g4 = decode(readFileSync(join(T, "g4.png")));
    expect([g4.width, g4.height]).toEqual([4 * 56 + 5 * 2, 56 + 2 * 2]);
    const g2 = decode(readFileSync(join(T, "g2.png")));
    expect([g2.width, g2.height]).toEqual([2 * 56 + 3 * 2, 2 * 56 + 3 * 2]);
  });

  it("--out-dir writes one 28x28 PNG per sample, named by index and label, equal to the grid's tiles", async () => {
    const dir = join(T, "each");
    const r = await runCli(["sample", ...fast, "--count", "3", "--out-dir", dir]);
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(["0000-label0.png", "0001-label1.png", "0002-label2.png"]);
    const one = decode(readFileSync(join(dir, "0001-label1.png")));
    expect([one.width, one.height, one.channels]).toEqual([28, 28, 1]);
    const g = await runCli(["sample", ...fast, "--count", "3", "--out", join(T, "grid1.png"), "--cols", "3"]);
    expect(g.status, g.stderr).toBe(0);
    const grid = decode(readFileSync(join(T, "grid1.png"))); // scale 2, gap 2: tile 1 at x = 2 + 56 + 2
    for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) expect(grid.data[(2 + 2 * y) * grid.width + 60 + 2 * x]).toBe(one.data[y * 28 + x]);
  });

  it("--resize takes an image and a mask of another size (without it: test/cli/careless-user)", async () => {
    const ok = await runCli(["img2img", ...fast, "--image", F.png8, "--resize", "--count", "1", "--out", join(T, "rs.png")]);
    expect(ok.status, ok.stderr).toBe(0);
    const inp = await runCli(["inpaint", ...fast, "--image", F.png8, "--mask", F.png8, "--resize", "--count", "1", "--out", join(T, "rs2.png")]);
    expect(inp.status, inp.stderr).toBe(0);
  });

  it("a 2-D toy model samples to .safetensors (points; a PNG is refused up front: careless-user)", async () => {
    const ok = await runCli(["sample", "--model", F.toy, "--steps", "3", "--count", "5", "--out", join(T, "toy.safetensors")]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(readSafetensors(new Uint8Array(readFileSync(join(T, "toy.safetensors")))).tensors.samples.shape).toEqual([5, 1, 1, 2]);
  });

  it("a long job (--count 4096) prints progress with an ETA long before its first tenth", async () => {
    const child = spawn(process.execPath, [CLI, "sample", ...fast, "--steps", "8", "--count", "4096", "--out", join(T, "long.png")]);
    const line = await new Promise<string>((done, fail) => {
      let err = "";
      const timer = setTimeout(() => fail(new Error(`no progress line in 60 s: ${err}`)), 60_000);
      child.stderr.on("data", (d) => {
        err += d;
        const m = /^sampling .*$/m.exec(err);
        if (m) {
          clearTimeout(timer);
          done(m[0]);
        }
      });
    });
    child.kill("SIGKILL");
    const [, pct, eta] = /\((\d+)%\) [\d.]+ s, ETA (\d+) s/.exec(line) ?? [];
    expect(Number(pct)).toBeLessThan(10);
    expect(Number(eta)).toBeGreaterThan(0);
  });
});

describe("info, --version, the bare command", () => {
  it("info describes a model: architecture, parameters, dtype, size, classes, preconditioning, training", async () => {
    const r = await runCli(["info", F.unet]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/architecture +UNet, 1 channel 28x28, levels 8-16/);
    expect(r.stdout).toMatch(/parameters +[\d,]+/);
    expect(r.stdout).toMatch(/dtype +F32/);
    expect(r.stdout).toMatch(/classes +10 /);
    expect(r.stdout).toMatch(/precondition +EDM .*sigma_data 0\.5/);
    const j = await runCli(["info", "--json", join(process.cwd(), "models/mnist.safetensors")]);
    const o = JSON.parse(j.stdout) as { parameters: number; dtype: string[]; classes: number; step: number; bytes: number };
    expect(o.dtype).toEqual(["F16"]);
    expect(o.classes).toBe(10);
    expect(o.step).toBe(3000);
    expect(o.bytes).toBe(readFileSync("models/mnist.safetensors").length);
  });

  it("--version prints package.json's version; the bare command prints usage with every command", async () => {
    const v = await runCli(["--version"]);
    expect(v.stdout.trim()).toBe((JSON.parse(readFileSync("package.json", "utf8")) as { version: string }).version);
    const bare = await runCli([]);
    expect(bare.status).toBe(0);
    expect(bare.stdout).toMatch(/^Usage: edge-diffusion <command>/m);
    for (const cmd of ["sample", "img2img", "inpaint", "forward", "train", "info", "start", "help"]) expect(bare.stdout).toMatch(new RegExp(`^  ${cmd} `, "m"));
    expect(bare.stdout).not.toMatch(/sampling|wrote/);
  });
});
