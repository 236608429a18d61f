// `sample --model DIR` with a diffusers pipeline folder (issue 12 item 6): fixture a's UNet with a DDIM
// scheduler config samples with the library's samplers; a bare model folder and a pickle are one-line
// errors naming --model.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { decode } from "fast-png";
import { describe, expect, it } from "vitest";

const FIX = resolve(__dirname, "../../../shared/fixtures/diffusers");
const dir = mkdtempSync(join(tmpdir(), "ed-diffusers-cli-"));
const pipe = join(dir, "pipe");
mkdirSync(join(pipe, "unet"), { recursive: true });
mkdirSync(join(pipe, "scheduler"));
for (const f of ["config.json", "diffusion_pytorch_model.safetensors"]) copyFileSync(join(FIX, "a-cifar-ddpm", f), join(pipe, "unet", f));
copyFileSync(join(FIX, "pipelines", "ddim-eta0", "scheduler_config.json"), join(pipe, "scheduler", "scheduler_config.json"));
writeFileSync(join(pipe, "model_index.json"), JSON.stringify({ _class_name: "DDIMPipeline", scheduler: ["diffusers", "DDIMScheduler"], unet: ["diffusers", "UNet2DModel"] }));
const cli = (...a: string[]) => spawnSync(process.execPath, ["dist/cli.js", ...a], { encoding: "utf8" });

describe("sample --model with a diffusers pipeline folder", () => {
  it("samples 16x16 RGB images with a library sampler and the same seed gives the same PNG", () => {
    const out = join(dir, "a.png");
    const r = cli("sample", "--model", pipe, "--count", "4", "--steps", "8", "--sampler", "DPM++ 2M Karras", "--seed", "3", "--out", out);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/diffusers pipeline, 409219 parameters/);
    const png = decode(readFileSync(out));
    expect(png.channels).toBe(3);
    expect(png.width).toBeGreaterThanOrEqual(2 * 16); // a grid of 16x16 tiles (with its gutters)
    const again = join(dir, "b.png");
    expect(cli("sample", "--model", pipe, "--count", "4", "--steps", "8", "--sampler", "DPM++ 2M Karras", "--seed", "3", "--out", again).status).toBe(0);
    expect(readFileSync(again).equals(readFileSync(out))).toBe(true);
  }, 120_000);

  it("a bare model folder and a pickle-only folder are one line naming --model", () => {
    const bare = cli("sample", "--model", join(FIX, "a-cifar-ddpm"), "--out", join(dir, "c.png"));
    expect(bare.status).toBe(2);
    expect(bare.stderr.trim().split("\n")).toHaveLength(1);
    expect(bare.stderr).toMatch(/--model: .*a bare UNet2DModel folder: sampling needs a pipeline folder/);
    const pk = join(dir, "pickle");
    mkdirSync(pk);
    writeFileSync(join(pk, "config.json"), "{}");
    writeFileSync(join(pk, "diffusion_pytorch_model.bin"), "PK\u0003\u0004");
    const p = cli("sample", "--model", pk, "--out", join(dir, "d.png"));
    expect(p.status).toBe(2);
    expect(p.stderr).toMatch(/--model: .*PyTorch pickle.*safe_serialization=True/);
  }, 60_000);

  it("info describes a diffusers pipeline folder: blocks, parameters, dtype, scheduler", () => {
    const r = cli("info", pipe);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/kind +diffusers pipeline \(DDIMPipeline\)/);
    expect(r.stdout).toMatch(/parameters +409,219/);
    expect(r.stdout).toMatch(/dtype +F32/);
    expect(r.stdout).toMatch(/scheduler +DDIMScheduler \(epsilon, 1000 training steps\)/);
    const j = JSON.parse(cli("info", pipe, "--json").stdout);
    expect(j.architecture.block_out_channels).toEqual([16, 32, 32]);
  }, 60_000);
});
