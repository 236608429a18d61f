// diffusers folders in and out (issue 12 items 3-5): a pipeline folder made of fixture a's UNet and a
// recorded loop's scheduler config reproduces DDPMPipeline's and DDIMPipeline's outputs end to end (the
// real UNet, not the recorded model outputs); the pipeline's Denoiser lets a library sampler reproduce
// the DDIM loop; a model made here round-trips through the diffusers format bit for bit.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { useKernels } from "../../src/autograd/backend.ts";
import { loadDiffusers, saveDiffusers, diffusersPipeline } from "../../src/diffusers/pipeline.ts";
import { createScheduler } from "../../src/diffusers/schedulers/index.ts";
import { parseConfigJson } from "../../src/diffusers/schedulers/config.ts";
import { runSchedulerLoop } from "../../src/diffusers/loop.ts";
import { schedulerSigmas } from "../../src/diffusers/denoiser.ts";
import { createUNet2DModel } from "../../src/diffusers/unet-model.ts";
import { initKernels } from "../../src/kernels/index.ts";
import { readDiffusersFolder, loadDiffusers as loadFolder } from "../../src/node/diffusers-folder.ts";
import { sampleDdim } from "../../src/samplers/index.ts";
import { expectArgumentError } from "../support/errors.ts";
import { FIXTURES } from "./unet2d-fixtures.ts";
import { maxAbsDiff, readLoop } from "./schedulers/vp-support.ts";

useKernels(await initKernels());
const enc = (s: string) => new TextEncoder().encode(s);

/** Fixture a's UNet with a recorded loop's scheduler, as the files of a pipeline folder. */
function pipelineFiles(loop: string, configText?: string): Map<string, Uint8Array> {
  const model = readDiffusersFolder(join(FIXTURES, "a-cifar-ddpm"));
  const sched = parseConfigJson(readLoop(loop).config)._class_name as string; // the config may hold -Infinity
  const cls = sched === "DDIMScheduler" ? "DDIMPipeline" : "DDPMPipeline";
  const files = new Map<string, Uint8Array>([
    ["model_index.json", enc(JSON.stringify({ _class_name: cls, scheduler: ["diffusers", sched], unet: ["diffusers", "UNet2DModel"] }))],
    ["scheduler/scheduler_config.json", enc(configText ?? readLoop(loop).config)],
  ]);
  for (const [k, v] of model) files.set(`unet/${k}`, v);
  return files;
}

/** diffusers' pipeline loop with the pipeline's own UNet: noise of step i from the recording. */
function runPipeline(loop: string): { ours: Float32Array; theirs: Float32Array } {
  const rec = readLoop(loop);
  const p = loadDiffusers(pipelineFiles(loop));
  const s = p.scheduler!;
  s.setTimesteps(rec.timesteps.length);
  expect(Array.from(s.timesteps)).toEqual(rec.timesteps);
  const [B, C, H, W] = rec.shape;
  let x = rec.samples[0];
  Array.from(s.timesteps).forEach((t, i) => {
    const out = p.unet.forward({ data: s.scaleModelInput(x, t), shape: [B, C, H, W] }, [t]).data;
    x = s.step(out, t, x, { noise: rec.noise.get(i), shape: rec.shape, eta: loop === "ddim-eta1" ? 1 : 0 }).prevSample;
  });
  return { ours: x, theirs: rec.final };
}

const peak = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

describe("a diffusers pipeline folder reproduces diffusers' pipelines with the real UNet", () => {
  // README tolerances: the model within 1e-5 per call; DDIM's loop accumulates to ~5e-5 at |x| ~ 1
  it.each([
    ["ddpm", 2e-4],
    ["ddim-eta0", 1e-4],
    ["ddim-eta1", 2e-4],
  ])("%s: the final sample within %s of diffusers'", (loop, tol) => {
    const { ours, theirs } = runPipeline(loop as string);
    expect(maxAbsDiff(ours, theirs)).toBeLessThan((tol as number) * Math.max(1, peak(theirs)));
  });

  it("DPM-Solver++ 2M (random weights make |x| ~ 660): within 1e-5 of the largest value (the replay's 1e-6, plus our UNet's 1e-6 per call)", () => {
    const { ours, theirs } = runPipeline("dpmpp2m");
    expect(maxAbsDiff(ours, theirs) / peak(theirs)).toBeLessThan(1e-6 * 10);
  });
});

describe("the pipeline as the library's Denoiser", () => {
  // With clip_sample (the recorded DDIM config) the two differ on purpose: diffusers keeps the network's
  // eps next to the clipped x0, a Denoiser implies eps from the clipped x0. Without clipping they agree.
  it("the library's DDIM sampler on the pipeline's Denoiser and sigmas gives the DDIM scheduler's loop (clip_sample off)", () => {
    const rec = readLoop("ddim-eta0");
    const cfg = JSON.stringify({ ...parseConfigJson(rec.config), clip_sample: false });
    const p = loadDiffusers(pipelineFiles("ddim-eta0", cfg));
    const [B, C, H, W] = rec.shape;
    const loopOut = runSchedulerLoop(p.scheduler!, (x, t) => p.unet.forward({ data: x, shape: [B, C, H, W] }, [t]).data, rec.samples[0], { steps: rec.timesteps.length });
    p.scheduler!.setTimesteps(rec.timesteps.length);
    const sigmas = schedulerSigmas(p.scheduler!);
    // VP latents at t0 -> VE: x_ve = x_vp sqrt(1 + sigma0^2); DDIM ends at alpha = 1, where VE = VP
    const x = rec.samples[0].map((v) => v * Math.sqrt(1 + sigmas[0] * sigmas[0]));
    const { x: y } = sampleDdim(p.denoiser(), x, sigmas, { batch: B });
    // float32 rounding in two spaces (VE here, VP there), relative to the sample's size
    expect(maxAbsDiff(y, loopOut)).toBeLessThan(1e-4 * Math.max(1, peak(loopOut)));
  });

  it("a bare model folder has no scheduler, and its denoiser says how to get one", () => {
    const p = loadFolder(join(FIXTURES, "a-cifar-ddpm"));
    expect(p.kind).toBe("model");
    expect(p.scheduler).toBeUndefined();
    expectArgumentError(() => p.denoiser(), "scheduler");
  });
});

describe("saving in diffusers' format", () => {
  const config = readDiffusersFolder(join(FIXTURES, "a-cifar-ddpm")).get("config.json")!;

  it("a model made here round-trips through a pipeline folder bit for bit (weights, config, scheduler)", () => {
    const unet = createUNet2DModel(new TextDecoder().decode(config), { seed: 5 });
    const scheduler = createScheduler("DDPMScheduler", { beta_schedule: "squaredcos_cap_v2", prediction_type: "v_prediction" });
    const files = saveDiffusers({ unet, scheduler });
    expect(Object.keys(files).sort()).toEqual(["model_index.json", "scheduler/scheduler_config.json", "unet/config.json", "unet/diffusion_pytorch_model.safetensors"]);
    const back = loadDiffusers(files);
    expect(back.kind).toBe("pipeline");
    expect(back.pipelineClass).toBe("DDPMPipeline");
    expect(back.scheduler!.toJson()).toBe(scheduler.toJson());
    const a = unet.module.parameters();
    for (const [name, t] of back.unet.module.parameters()) expect(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).equals(Buffer.from(a.get(name)!.data.buffer, a.get(name)!.data.byteOffset, a.get(name)!.data.byteLength)), name).toBe(true);
    // and saving again gives the same bytes
    const again = saveDiffusers({ unet: back.unet, scheduler: back.scheduler });
    for (const k of Object.keys(files)) expect(Buffer.from(again[k]).equals(Buffer.from(files[k])), k).toBe(true);
  });

  it("fixture a saved by us equals diffusers' own files (config.json text and tensor bytes)", () => {
    const disk = readDiffusersFolder(join(FIXTURES, "a-cifar-ddpm"));
    const p = loadDiffusers(disk);
    const ours = saveDiffusers(p.unet);
    expect(new TextDecoder().decode(ours["config.json"])).toBe(new TextDecoder().decode(disk.get("config.json")!));
    const back = loadDiffusers(ours);
    const x = { data: new Float32Array(2 * 3 * 16 * 16).map((_, i) => Math.sin(i)), shape: [2, 3, 16, 16] };
    expect(Array.from(back.unet.forward(x, [10, 900]).data)).toEqual(Array.from(p.unet.forward(x, [10, 900]).data));
  });

  it("diffusersPipeline pairs a model with a scheduler by class name; saveDiffusers refuses what is not a model", () => {
    const unet = createUNet2DModel(new TextDecoder().decode(config), { seed: 1 });
    const p = diffusersPipeline(unet, { className: "DDIMScheduler" });
    expect(p.scheduler!.className).toBe("DDIMScheduler");
    expect(Object.keys(saveDiffusers(p)).includes("model_index.json")).toBe(true);
    expectArgumentError(() => saveDiffusers({} as never), "model");
    expectArgumentError(() => loadDiffusers("some/folder" as never), "source");
  });
});
