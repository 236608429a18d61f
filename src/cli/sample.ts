// `edge-diffusion sample | img2img | inpaint`: everything the user gave is checked first (the output
// path, the model file, the label against the model, the images), so a mistake costs no sampling time;
// then the model goes onto worker threads and generate() runs with a progress bar.
import { existsSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { decodePngImage } from "../data/png-decode.ts";
import { SAMPLING_DEFAULTS } from "../defaults.ts";
import { DatasetError } from "../data/dataset.ts";
import { resize, toChannels } from "../data/image-ops.ts";
import { ensureKernels, generate, generateSteps, type GenerateOptions, type GenerateResult, type GenerationState, type SamplingModel } from "../generate.ts";
import { DiffusersFolderError } from "../diffusers/layout.ts";
import { diffusersSamplingModel } from "../diffusers/sampling-model.ts";
import { UNet2DWeightsError } from "../diffusers/unet-weights.ts";
import { loadDiffusers } from "../node/diffusers-folder.ts";
import { imageGrid } from "../image/grid.ts";
import { encodePng } from "../image/png.ts";
import { CheckpointError } from "../io/checkpoint.ts";
import { SafetensorsError } from "../io/safetensors.ts";
import { loadModel, type LoadedModel } from "../model.ts";
import { parallelModel } from "../node/parallel.ts";
import type { ParallelModel } from "../parallel/host.ts";
import { ArgumentError } from "../validate.ts";
import { resolveLabel, type SampleArgs, type SampleMode } from "./args.ts";
import { checkWritable, readInput, writeOutput } from "./files.ts";
import { progress, type ProgressReporter } from "./progress.ts";
import { loadState, removeState, runKey, saveState, statePath } from "./resume.ts";

/** A run stopped by Ctrl-C with its state saved: the CLI says how to continue and exits 130. */
export class Interrupted extends Error {
  constructor(step: number, steps: number, path: string) {
    super(`stopped after step ${step} of ${steps}; the state is in ${path}: run the same command (with --resume) to continue`);
    this.name = "Interrupted";
  }
}

/** Items per chunk: generate()'s default, given explicitly so a resumed run's progress knows the chunks. */
const CHUNK = 16;

/** --guidance when not given: 93% of the shipped model's digits are classified confidently at 2, 72% at 1. */
export const DEFAULT_GUIDANCE = SAMPLING_DEFAULTS.guidance;

/** The shipped model, next to the package root (dist/cli.js or src/cli/*.ts). */
export function shippedModelPath(): string {
  for (const rel of ["../models/mnist.safetensors", "../../models/mnist.safetensors"]) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  return fileURLToPath(new URL("../models/mnist.safetensors", import.meta.url));
}

/** Whether `path` names a diffusers folder (or a file in one) rather than one of our model files. */
export function isDiffusersPath(path: string): boolean {
  try {
    if (statSync(path).isDirectory()) return true;
  } catch {
    return false;
  }
  const name = basename(path);
  return name === "config.json" || name === "model_index.json" || name === "scheduler_config.json" || /^diffusion_pytorch_model(\.fp16)?\.(safetensors|bin)$/.test(name);
}

/** A diffusers pipeline folder as a sampling model, with one-line errors naming --model. */
export function loadDiffusersModel(arg: string, path: string): SamplingModel & { net: { parameterCount(): number } } {
  try {
    return diffusersSamplingModel(loadDiffusers(path));
  } catch (e) {
    if (e instanceof DiffusersFolderError || e instanceof UNet2DWeightsError || e instanceof SafetensorsError || e instanceof ArgumentError) {
      const why = e instanceof ArgumentError ? e.message.slice(e.arg.length + 2) : e.message;
      throw new ArgumentError(arg, `${path}: ${why}`);
    }
    throw e;
  }
}

/** A model file, loaded and validated on this thread, with one-line errors that say what the file is. */
export function loadModelFile(arg: string, path: string): { bytes: Uint8Array; model: LoadedModel } {
  const bytes = readInput(arg, path);
  try {
    return { bytes, model: loadModel(bytes) };
  } catch (e) {
    if (e instanceof SafetensorsError || e instanceof CheckpointError || e instanceof ArgumentError) {
      const why = e instanceof ArgumentError ? e.message : e.message.replace(/^(checkpoint|safetensors): /, "");
      throw new ArgumentError(arg, `${path} is not a model: ${why}`);
    }
    throw e;
  }
}

/** A PNG as one model item [C, H, W] with values in [0, 1]; another size is an error unless `fit` (--resize). */
function readItemPng(arg: string, path: string, itemShape: number[], fit: boolean): Float32Array {
  if (itemShape.length !== 3) throw new ArgumentError(arg, `needs an image model; this one makes points of ${itemShape[0]} values`);
  const [c, h, w] = itemShape;
  let img;
  try {
    img = toChannels(decodePngImage(readInput(arg, path), path), c as 1 | 3);
  } catch (e) {
    if (e instanceof DatasetError) throw new ArgumentError(arg, `${path}: ${e.message.replace(/^.*?: /, "")}`);
    throw e;
  }
  if (img.height !== h || img.width !== w) {
    if (!fit) throw new ArgumentError(arg, `${path} is ${img.width}x${img.height}; the model takes ${w}x${h} (--resize scales it)`);
    img = resize(img, h, w);
  }
  return img.data;
}

/** The generate() request of the arguments, checked against the model: nothing here samples. */
function request(a: SampleArgs, mode: SampleMode, model: SamplingModel): Omit<GenerateOptions, "onStep"> & { count: number } {
  const label = resolveLabel(a.label, model.numClasses, mode);
  if (a.guidance !== undefined && a.guidance !== 1 && label === null) {
    // Classifier-free guidance mixes the conditional and unconditional predictions: with no label there
    // is nothing to mix, and silently dropping the flag would let a user believe it took effect.
    throw new ArgumentError(
      "--guidance",
      model.numClasses === 0
        ? "this model is unconditional: classifier-free guidance needs a class-conditional model; leave --guidance out"
        : `guides towards a label: give --label (0..${model.numClasses - 1} or all) or leave --guidance out`,
    );
  }
  if (a.format === "png" && model.itemShape.length !== 3) {
    throw new ArgumentError(a.outDir !== undefined ? "--out-dir" : "--out", `this model makes points of ${model.itemShape[0]} values, not images: write .safetensors`);
  }
  let init: GenerateOptions["init"];
  let inpaint: GenerateOptions["inpaint"];
  if (mode !== "sample") {
    const image = readItemPng("--image", a.image!, model.itemShape, a.resize).map((v) => 2 * v - 1);
    if (mode === "img2img") init = { image, strength: a.strength! };
    else inpaint = { image, mask: readItemPng("--mask", a.mask!, model.itemShape, a.resize).map((v) => 1 - v), resample: a.resample! };
  }
  const { count, steps, sampler, schedule, seed, cols } = a;
  return { count, steps, sampler, schedule, seed, label, guidance: a.guidance ?? DEFAULT_GUIDANCE, format: a.outDir !== undefined ? "safetensors" : a.format, cols, init, inpaint, chunk: CHUNK };
}

/** generate()'s option names and the flags that set them: its errors reach the user under the flag. */
const FLAG_OF: Record<string, string> = { count: "--count", steps: "--steps", sampler: "--sampler", schedule: "--schedule", seed: "--seed", label: "--label", guidance: "--guidance", format: "--out", cols: "--cols" };

function asFlagError(e: unknown): unknown {
  if (!(e instanceof ArgumentError) || !(e.arg in FLAG_OF)) return e;
  return new ArgumentError(FLAG_OF[e.arg], e.message.slice(e.arg.length + 2));
}

/** One PNG per sample, named by index and label (0007-label3.png), written after the run. */
function writeEach(dir: string, samples: Float32Array, shape: [number, number, number, number], labels: Int32Array | null): string[] {
  const [N, C, H, W] = shape;
  const D = C * H * W;
  const width = String(N - 1).length;
  const names: string[] = [];
  for (let i = 0; i < N; i++) {
    const name = `${String(i).padStart(Math.max(4, width), "0")}${labels ? `-label${labels[i]}` : ""}.png`;
    writeOutput(join(dir, name), encodePng(imageGrid(samples.subarray(i * D, (i + 1) * D), [1, C, H, W], { cols: 1, gap: 0, scale: 1 })));
    names.push(name);
  }
  return names;
}

/**
 * The run one step at a time (every chunk takes the step, then the state is saved atomically), from a
 * saved state when there is one; Ctrl-C stops it after the step in progress. The same bytes as one
 * generate() call (generateSteps' contract).
 */
async function stepwise(
  model: ParallelModel,
  req: Omit<GenerateOptions, "onStep"> & { count: number },
  resume: { path: string; key: string },
  saved: { state: GenerationState; steps: number } | null,
  bar: ProgressReporter,
): Promise<GenerateResult> {
  const N = req.count;
  // items done when chunk j finishes a step: chunks run in order within each step
  const upTo = (j: number) => Math.min(N, (j + 1) * CHUNK);
  let base = saved?.state.step ?? 0;
  let j = 0;
  const onStep = (_s: number, total: number) => bar.update(Math.round((1000 * (base * N + upTo(j++))) / (N * total)));
  let stop = false;
  const onSig = () => {
    if (!stop) console.error(`\nstopping after this step (the state goes to ${resume.path}; the same command with --resume continues)`);
    stop = true;
  };
  process.on("SIGINT", onSig);
  try {
    let p = generateSteps(model, { ...req, onStep }, { maxSteps: 1, from: saved?.state ?? null });
    while (!p.done) {
      saveState(resume.path, resume.key, p.state, p.steps);
      // let a pending Ctrl-C reach its handler between steps (the steps themselves are synchronous)
      await new Promise((r) => setImmediate(r));
      if (stop) throw new Interrupted(p.state.step, p.steps, resume.path);
      base = p.state.step;
      j = 0;
      p = generateSteps(model, { ...req, onStep }, { maxSteps: 1, from: p.state });
    }
    return p.result;
  } finally {
    process.off("SIGINT", onSig);
  }
}

/** What the header line says runs: inpainting ignores --sampler (its own loop re-noises the known part). */
function samplerName(a: SampleArgs, mode: SampleMode): string {
  return mode === "inpaint" ? `the inpainting sampler (replacement${a.resample! > 1 ? `, RePaint x${a.resample}` : ""}; --sampler is not used)` : a.sampler;
}

export async function runSample(a: SampleArgs, mode: SampleMode, modelArg: string | undefined): Promise<void> {
  const t0 = performance.now();
  const modelPath = resolve(modelArg ?? shippedModelPath());
  if (modelArg === undefined && !existsSync(modelPath)) {
    throw new ArgumentError("--model", `not given, and the shipped model ${modelPath} is missing: run 'npm run train:mnist' to make it`);
  }
  const out = resolve(a.out);
  const outDir = a.outDir !== undefined ? resolve(a.outDir) : undefined;
  if (outDir) checkWritable("--out-dir", join(outDir, "0000.png"));
  else checkWritable("--out", out);
  await ensureKernels();
  if (modelArg !== undefined && isDiffusersPath(modelPath)) return runDiffusers(a, mode, modelPath, out, outDir, t0);
  const { bytes, model: base } = loadModelFile("--model", modelPath);
  const req = request(a, mode, base);
  const resume = a.resume ? { path: statePath(outDir ? join(outDir, "samples") : out), key: runKey(bytes, req) } : undefined;
  const saved = resume ? loadState(resume.path, resume.key) : null;
  // Worker threads only now that the model is known good: a bad file gets its own error, not the
  // thread fallback's.
  let model: ParallelModel;
  if (a.threads === 1) model = { ...base, threads: 1, close: async () => {} };
  else {
    try {
      model = await parallelModel(bytes, a.threads === "auto" ? {} : { threads: a.threads });
    } catch (e) {
      if (a.threads !== "auto" || e instanceof ArgumentError) throw e;
      // auto: worker threads are an optimisation; without them, sample on this thread
      console.error(`(worker threads did not start: ${(e as Error).message}; sampling on one thread)`);
      model = { ...base, threads: 1, close: async () => {} };
    }
  }
  try {
    console.log(
      `sampling ${a.count} from ${modelPath} (${model.net.parameterCount()} parameters) with ${samplerName(a, mode)}, ${a.steps} steps, seed ${a.seed}, ${model.threads} thread${model.threads > 1 ? "s" : ""}`,
    );
    if (saved) console.log(`resuming at step ${saved.state.step} of ${saved.steps} from ${resume!.path}`);
    // The bar counts the whole run's work (items x steps) from generate()'s exact fraction, so it moves
    // from the first step of the first chunk (a 4096-sample job shows its ETA at once) and ends at 100%
    // whatever the run's length (img2img runs only the tail its strength keeps).
    const from = saved ? Math.round((1000 * saved.state.step) / saved.steps) : 0;
    const bar = progress("sampling", 1000, "", { percentOnly: true, from });
    let r: GenerateResult;
    try {
      r = resume
        ? await stepwise(model, req, resume, saved, bar)
        : generate(model, { ...req, onStep: (_s, _t, fraction) => bar.update(Math.round(1000 * (fraction ?? 0))) });
    } catch (e) {
      throw asFlagError(e);
    } finally {
      bar.stop();
    }
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    if (outDir) {
      const names = writeEach(outDir, r.samples, r.shape, r.labels);
      console.log(`wrote ${names.length} PNGs to ${outDir} (${names[0]} ... ${names[names.length - 1]}) in ${secs} s`);
    } else {
      writeOutput(out, r.bytes);
      console.log(`wrote ${out} (${r.shape.join("x")}) in ${secs} s`);
    }
    if (resume) removeState(resume.path);
  } finally {
    await model.close();
  }
}

/**
 * Sampling from a diffusers pipeline folder: the pipeline's UNet and scheduler as a Denoiser, any of the
 * library's samplers, on this thread (worker threads load this library's model files only).
 */
async function runDiffusers(a: SampleArgs, mode: SampleMode, modelPath: string, out: string, outDir: string | undefined, t0: number): Promise<void> {
  if (a.resume) throw new ArgumentError("--resume", "is not available for diffusers folders yet; leave it out");
  const model = loadDiffusersModel("--model", modelPath);
  const req = request(a, mode, model);
  console.log(`sampling ${a.count} from ${modelPath} (diffusers pipeline, ${model.net.parameterCount()} parameters) with ${samplerName(a, mode)}, ${a.steps} steps, seed ${a.seed}, 1 thread`);
  const bar = progress("sampling", 1000, "", { percentOnly: true });
  let r: GenerateResult;
  try {
    r = generate(model, { ...req, onStep: (_s, _t, fraction) => bar.update(Math.round(1000 * (fraction ?? 0))) });
  } catch (e) {
    throw asFlagError(e);
  } finally {
    bar.stop();
  }
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  if (outDir) {
    const names = writeEach(outDir, r.samples, r.shape, r.labels);
    console.log(`wrote ${names.length} PNGs to ${outDir} (${names[0]} ... ${names[names.length - 1]}) in ${secs} s`);
  } else {
    writeOutput(out, r.bytes);
    console.log(`wrote ${out} (${r.shape.join("x")}) in ${secs} s`);
  }
}
