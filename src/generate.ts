// Generate samples from a loaded model: the whole path from seed to PNG or tensor bytes, used by
// `edge-diffusion sample`, the Worker example and the browser demo. Runtime-neutral. One chunk loop
// serves every mode (plain, img2img, inpainting), whole (generate) or a few steps at a time
// (generateSteps). Errors name the options as this API spells them (count, steps, ...).
import { useKernels } from "./autograd/backend.ts";
import { guidedDenoiser } from "./denoiser/guidance.ts";
import { imageGrid } from "./image/grid.ts";
import { encodePng } from "./image/png.ts";
import { writeSafetensors } from "./io/safetensors.ts";
import { initKernels } from "./kernels/index.ts";
import type { LabelledDenoiser } from "./denoiser/contract.ts";

/**
 * What generate() reads of a model: its item shape, classes, sigma range and denoiser. A LoadedModel
 * (this library's model files) is one; so is a diffusers pipeline (diffusersSamplingModel).
 */
export interface SamplingModel {
  itemShape: number[];
  numClasses: number;
  precond: { sigmaMin: number; sigmaMax: number };
  denoiser(labels?: Int32Array): LabelledDenoiser;
}
import { Rng } from "./rng.ts";
import type { Denoiser } from "./denoiser/contract.ts";
import type { Carry, SamplerOptions, SamplerResult } from "./samplers/common.ts";
import { img2imgSigmas, img2imgStart } from "./samplers/img2img.ts";
import { getSampler, initialNoise, resolveSampler } from "./samplers/index.ts";
import { inpaint } from "./samplers/inpaint.ts";
import { exponentialSigmas, karrasSigmas } from "./schedule/sigmas.ts";
import { SAMPLING_DEFAULTS } from "./defaults.ts";
import { ArgumentError, f32, finite, inRange, int, oneOf } from "./validate.ts";

/** The sigma sequences generate() can sample over (see GenerateOptions.schedule). */
export const SIGMA_SCHEDULES = ["karras", "exponential"] as const;
export type SigmaScheduleName = (typeof SIGMA_SCHEDULES)[number];

/**
 * What to generate. Every option has a default: SAMPLING_DEFAULTS (src/defaults.ts, the CLI's too) for
 * count, steps, sampler, seed, guidance and format; for label, "all" on a class-conditional model and
 * null on an unconditional one. So `generate(model)` is `edge-diffusion sample` on that model.
 */
export interface GenerateOptions {
  count?: number;
  steps?: number;
  /**
   * A sampler: one of SAMPLER_NAMES, or a name people type for one (a diffusers scheduler class, an
   * A1111 menu name such as "DPM++ 2M Karras", a k-diffusion function; see resolveSampler).
   */
  sampler?: string;
  /**
   * The sigma sequence over the model's trained range: "karras" (EDM eq. 5, rho = 7; the default) or
   * "exponential" (uniform in log sigma). A sampler name with a schedule suffix ("… Karras") implies it.
   */
  schedule?: SigmaScheduleName;
  seed?: number;
  /** A class, "all" (item i gets class i mod numClasses), or null (unconditional). */
  label?: number | "all" | null;
  /** Classifier-free guidance scale; 1 = the plain conditional model (no guidance). */
  guidance?: number;
  /** "png" grid or "safetensors" tensor [N, C, H, W] in [-1, 1]. */
  format?: "png" | "safetensors";
  cols?: number;
  scale?: number;
  /**
   * Items sampled at a time (default 16). Noise is counter-based, so the samples are byte-identical
   * whatever the chunk; smaller chunks bound the memory (activations scale with the batch).
   */
  chunk?: number;
  /**
   * img2img / SDEdit: start from this image ([C, H, W] in [-1, 1], the model's item shape), noised to the
   * level `strength` in (0, 1] picks, instead of pure noise. Every sample starts from the same image.
   */
  init?: { image: Float32Array; strength: number };
  /**
   * Inpainting: keep `image` where `mask` is 1 and fill in where it is 0 (both [C, H, W]; image in
   * [-1, 1], mask in [0, 1]); `resample` > 1 adds RePaint resampling. Uses the inpainting sampler.
   */
  inpaint?: { image: Float32Array; mask: Float32Array; resample?: number };
  /**
   * Progress: `step` of `total` steps of the run, rounded to whole steps over all items, and `fraction`,
   * the exact share of generate()'s run done (items x steps, chunk after chunk), which moves from the
   * first step of the first chunk however many items there are. (generateSteps runs the chunks a step
   * each in turn, so there `fraction` is only the chunk's own position: count the calls instead.)
   */
  onStep?: (step: number, total: number, fraction: number) => void;
}

export interface GenerateResult {
  bytes: Uint8Array;
  samples: Float32Array;
  shape: [number, number, number, number];
  labels: Int32Array | null;
}

/** The options with every default filled in: what the rest of this file reads. */
type Resolved = GenerateOptions & Required<Pick<GenerateOptions, "count" | "steps" | "sampler" | "seed" | "label" | "guidance" | "format">>;

function withDefaults(model: SamplingModel, o: GenerateOptions | undefined): Resolved {
  if (o === undefined) o = {};
  if (o === null || typeof o !== "object") throw new ArgumentError("options", `must be an object of generate() options, got ${String(o)}`);
  const d = SAMPLING_DEFAULTS;
  return {
    ...o,
    count: o.count ?? d.count,
    steps: o.steps ?? d.steps,
    sampler: o.sampler ?? d.sampler,
    schedule: o.schedule,
    seed: o.seed ?? d.seed,
    label: o.label === undefined ? (model.numClasses > 0 ? "all" : null) : o.label,
    guidance: o.guidance ?? d.guidance,
    format: o.format ?? d.format,
  };
}

let kernelsReady: Promise<void> | null = null;
/** Switch the ops to the WASM SIMD kernels once (TS fallback where SIMD is missing). */
export function ensureKernels(): Promise<void> {
  kernelsReady ??= initKernels().then((k) => useKernels(k));
  return kernelsReady;
}

/** Everything generate() derives from its options, checked once. */
interface Plan {
  N: number;
  D: number;
  /** options.steps: the length of the sigma sequence the run is cut from. */
  steps: number;
  K: number;
  labels: Int32Array | null;
  /** The sigmas the sampler runs over: all of them, or for img2img the tail its strength keeps. */
  sigmas: Float64Array;
  /** Steps of that run (sigmas.length - 1). */
  runSteps: number;
  /** Items [start, start + n) per chunk. */
  chunks: { start: number; n: number }[];
}

function plan(model: SamplingModel, o: Resolved): Plan {
  const N = int("count", o.count, 1, 4096);
  const steps = int("steps", o.steps, 1, 1000);
  const resolved = resolveSampler(o.sampler);
  if (o.schedule !== undefined) oneOf("schedule", o.schedule, SIGMA_SCHEDULES);
  if (o.schedule !== undefined && resolved.schedule !== undefined && o.schedule !== resolved.schedule) {
    throw new ArgumentError("schedule", `is "${o.schedule}" but the sampler name ${JSON.stringify(o.sampler)} implies "${resolved.schedule}": give one`);
  }
  const schedule = o.schedule ?? resolved.schedule ?? SAMPLING_DEFAULTS.schedule;
  int("seed", o.seed, 0, Number.MAX_SAFE_INTEGER);
  finite("guidance", o.guidance);
  oneOf("format", o.format, ["png", "safetensors"] as const);
  // checked before any sampling: a PNG of points would fail only after the whole run
  if (o.format === "png" && model.itemShape.length !== 3) throw new ArgumentError("format", "a PNG needs an image model; write .safetensors for this model");
  if (o.cols !== undefined) int("cols", o.cols, 1, 4096);
  if (o.scale !== undefined) int("scale", o.scale, 1, 64);
  const K = model.numClasses;
  let labels: Int32Array | null = null;
  if (o.label !== null) {
    if (K === 0) throw new ArgumentError("label", "this model is unconditional: it takes no label");
    if (o.label === "all") labels = Int32Array.from({ length: N }, (_, i) => i % K);
    else labels = new Int32Array(N).fill(int("label", o.label, 0, K - 1));
  }
  const D = model.itemShape.reduce((a, b) => a * b, 1);
  const checkItem = (arg: string, a: Float32Array, lo: number, hi: number) => {
    f32(arg, a);
    if (a.length !== D) throw new ArgumentError(arg, `must have the model's item shape [${model.itemShape.join(", ")}] (${D} values), got ${a.length}`);
    for (let i = 0; i < D; i++) if (!(a[i] >= lo && a[i] <= hi)) throw new ArgumentError(arg, `value ${a[i]} at ${i} is outside [${lo}, ${hi}]`);
  };
  if (o.init && o.inpaint) throw new ArgumentError("init", "cannot be combined with inpaint: use one");
  if (o.init) {
    checkItem("init.image", o.init.image, -1, 1);
    inRange("init.strength", o.init.strength, 0, 1, "(]");
  }
  if (o.inpaint) {
    checkItem("inpaint.image", o.inpaint.image, -1, 1);
    checkItem("inpaint.mask", o.inpaint.mask, 0, 1);
  }
  const all = (schedule === "karras" ? karrasSigmas : exponentialSigmas)(steps, model.precond.sigmaMin, model.precond.sigmaMax);
  const sigmas = o.init ? img2imgSigmas(all, o.init.strength) : all;
  const chunk = int("chunk", o.chunk ?? 16, 1, 4096);
  const chunks = [];
  for (let start = 0; start < N; start += chunk) chunks.push({ start, n: Math.min(chunk, N - start) });
  return { N, D, steps, K, labels, sigmas, runSteps: sigmas.length - 1, chunks };
}

/** A chunk's denoiser: conditioned on its labels, guided when guidance != 1. */
function chunkDenoiser(model: SamplingModel, o: Resolved, p: Plan, start: number, n: number): Denoiser {
  const lab = p.labels?.subarray(start, start + n);
  return lab && o.guidance !== 1 ? guidedDenoiser(model.denoiser(), lab, o.guidance) : model.denoiser(lab);
}

/** Progress over all chunks, from a chunk's own step events. */
function chunkProgress(o: Resolved, p: Plan, start: number, n: number) {
  return (e: { step: number; steps: number }) => {
    const fraction = Math.min(1, (start + (n * (e.step + 1)) / e.steps) / p.N);
    o.onStep?.(Math.min(e.steps, Math.round(fraction * e.steps)), e.steps, fraction);
  };
}

/** n copies of one item. */
function repeat(a: Float32Array, n: number, D: number): Float32Array {
  const r = new Float32Array(n * D);
  for (let b = 0; b < n; b++) r.set(a, b * D);
  return r;
}

/**
 * A chunk's batch at step 0: noise at the first sigma (rng.stream("init")), or for img2img its image
 * noised to the first sigma of the tail (rng.stream("sampler").stream("img2img")).
 */
function chunkStart(o: Resolved, p: Plan, rng: Rng, start: number, n: number): Float32Array {
  if (o.init) return img2imgStart(repeat(o.init.image, n, p.D), p.sigmas[0], { rng: rng.stream("sampler"), batch: n, firstItem: start });
  return initialNoise(rng, n, p.D, p.sigmas[0], start);
}

/** Steps of one chunk, the same call in every mode: the chosen sampler, or inpainting with its image and mask. */
function chunkRun(o: Resolved, p: Plan, denoiser: Denoiser, x: Float32Array, n: number, opts: SamplerOptions & Record<string, unknown>): SamplerResult {
  if (o.inpaint) {
    const { image, mask, resample } = o.inpaint;
    return inpaint(denoiser, x, p.sigmas, { ...opts, known: repeat(image, n, p.D), mask: repeat(mask, n, p.D), resample: resample ?? 1 });
  }
  return getSampler(o.sampler)(denoiser, x, p.sigmas, opts);
}

/** Clamp images to [-1, 1] and encode: the last part of every generation. */
function finish(model: SamplingModel, o: Resolved, p: Plan, out: Float32Array): GenerateResult {
  const { N, K, labels, steps } = p;
  // images live in [-1, 1]; low-dimensional data (2-D toys) is not bounded, so it is not clipped
  if (model.itemShape.length === 3) for (let i = 0; i < out.length; i++) out[i] = Math.max(-1, Math.min(1, out[i]));
  const shape = (model.itemShape.length === 3 ? [N, ...model.itemShape] : [N, 1, 1, model.itemShape[0]]) as [number, number, number, number];
  let bytes: Uint8Array;
  if (o.format === "png") {
    // one column per class for "all" (a class per column), but never wider than the samples: 4 samples
    // of 10 classes are one row of 4, not a row of 10 with six blank cells
    const cols = o.cols ?? (labels && o.label === "all" ? Math.min(N, K) : Math.ceil(Math.sqrt(N)));
    bytes = encodePng(imageGrid(out, shape, { cols, scale: o.scale ?? 2, gap: 2 }));
  } else {
    bytes = writeSafetensors({ samples: { dtype: "F32", shape, data: out } }, { labels: labels ? JSON.stringify([...labels]) : "null", seed: String(o.seed), sampler: o.sampler, steps: String(steps) });
  }
  return { bytes, samples: out, shape, labels };
}

/** Where a paused generation stands: enough to continue it, in this process or another. */
export interface GenerationState {
  /** The next step to run (every chunk has run the same steps). */
  step: number;
  /** Every item's current value, [count, ...itemShape] flat. */
  x: Float32Array;
  /** Per chunk, the sampler's loop-carried values (a SamplerResult's carry: JSON-safe). */
  carries: Carry[];
}

/**
 * Progress of generateSteps: the result, or the state to continue from. `steps` counts the steps of the
 * whole run: options.steps, or for img2img the steps after the noising that its strength keeps.
 */
export type GenerationProgress = { done: true; result: GenerateResult } | { done: false; state: GenerationState; steps: number };

/** Check a state handed back to generateSteps against the plan it must continue. */
function checkState(p: Plan, from: GenerationState): void {
  int("from.step", from.step, 1, p.runSteps - 1);
  f32("from.x", from.x);
  if (from.x.length !== p.N * p.D) throw new ArgumentError("from.x", `must hold ${p.N} items of ${p.D} values, got ${from.x.length}`);
  if (!Array.isArray(from.carries) || from.carries.length !== p.chunks.length) throw new ArgumentError("from.carries", `must be an array of ${p.chunks.length} (one per chunk)`);
  from.carries.forEach((c, k) => {
    if (c === null || typeof c !== "object" || Array.isArray(c)) throw new ArgumentError(`from.carries[${k}]`, "must be the carry object a paused state held");
  });
}

/**
 * The one chunk loop: every chunk runs at most `maxSteps` steps (all when undefined) of the same run,
 * from its start or from `from`; the noise is counter-based, so the chunking and the pieces change no byte.
 */
function run(model: SamplingModel, o: Resolved, p: Plan, maxSteps: number | undefined, from: GenerationState | null): GenerationProgress {
  const rng = new Rng(o.seed);
  const out = new Float32Array(p.N * p.D);
  const carries: Carry[] = [];
  let step = p.runSteps;
  p.chunks.forEach(({ start, n }, k) => {
    const x = from ? from.x.subarray(start * p.D, (start + n) * p.D) : chunkStart(o, p, rng, start, n);
    const r = chunkRun(o, p, chunkDenoiser(model, o, p, start, n), x, n, {
      batch: n,
      firstItem: start,
      rng: rng.stream("sampler"),
      onStep: chunkProgress(o, p, start, n),
      maxSteps,
      from: from ? { step: from.step, carry: from.carries[k] } : undefined,
    });
    out.set(r.x, start * p.D);
    carries.push(r.carry);
    step = r.step;
  });
  if (step < p.runSteps) return { done: false, state: { step, x: out, carries }, steps: p.runSteps };
  return { done: true, result: finish(model, o, p, out) };
}

/**
 * Generation a few steps at a time (a Worker's per-request CPU budget, a UI that yields between
 * steps): run at most `maxSteps` steps of every chunk, starting from the beginning or from `from`, and
 * return the state to continue from, or the finished result. Continuing until done gives the same
 * bytes as one generate() call with the same options, in every mode (plain, img2img, inpainting).
 */
export function generateSteps(model: SamplingModel, options: GenerateOptions | undefined, opts: { maxSteps: number; from?: GenerationState | null }): GenerationProgress {
  const o = withDefaults(model, options);
  const p = plan(model, o);
  const maxSteps = int("maxSteps", opts.maxSteps, 1);
  const from = opts.from ?? null;
  if (from) checkState(p, from);
  return run(model, o, p, maxSteps, from);
}

/** Generate `count` samples in one call (the whole run of generateSteps); `generate(model)` samples with SAMPLING_DEFAULTS. */
export function generate(model: SamplingModel, options?: GenerateOptions): GenerateResult {
  const o = withDefaults(model, options);
  const r = run(model, o, plan(model, o), undefined, null);
  if (!r.done) throw new Error("generate: sampling stopped before its last step");
  return r.result;
}
