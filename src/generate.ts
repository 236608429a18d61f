// Generate samples from a loaded model: the whole path from seed to PNG or tensor bytes, used by
// `edge-diffusion sample`, the Worker example and the browser demo. Runtime-neutral.
import { useKernels } from "./autograd/backend.ts";
import { guidedDenoiser } from "./denoiser/guidance.ts";
import { imageGrid } from "./image/grid.ts";
import { encodePng } from "./image/png.ts";
import { writeSafetensors } from "./io/safetensors.ts";
import { initKernels } from "./kernels/index.ts";
import type { LoadedModel } from "./model.ts";
import { Rng } from "./rng.ts";
import type { Denoiser } from "./denoiser/contract.ts";
import type { SamplerState } from "./samplers/common.ts";
import { getSampler, img2img, initialNoise, inpaint, resumeSampling, SAMPLER_NAMES, startSampling } from "./samplers/index.ts";
import { karrasSigmas } from "./schedule/sigmas.ts";
import { ArgumentError, f32, finite, inRange, int, oneOf } from "./validate.ts";

export interface GenerateOptions {
  count: number;
  steps: number;
  sampler: string;
  seed: number;
  /** A class, "all" (item i gets class i mod numClasses), or null (unconditional). */
  label: number | "all" | null;
  guidance: number;
  /** "png" grid or "safetensors" tensor [N, C, H, W] in [-1, 1]. */
  format: "png" | "safetensors";
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
  onStep?: (step: number, total: number) => void;
}

export interface GenerateResult {
  bytes: Uint8Array;
  samples: Float32Array;
  shape: [number, number, number, number];
  labels: Int32Array | null;
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
  steps: number;
  K: number;
  labels: Int32Array | null;
  sigmas: Float64Array;
  /** Items [start, start + n) per chunk. */
  chunks: { start: number; n: number }[];
}

function plan(model: LoadedModel, o: GenerateOptions): Plan {
  const N = int("--count", o.count, 1, 4096);
  const steps = int("--steps", o.steps, 1, 1000);
  oneOf("--sampler", o.sampler, SAMPLER_NAMES);
  int("--seed", o.seed, 0, Number.MAX_SAFE_INTEGER);
  finite("--guidance", o.guidance);
  const K = model.numClasses;
  let labels: Int32Array | null = null;
  if (o.label !== null) {
    if (K === 0) throw new ArgumentError("--label", "this model is unconditional: it takes no label");
    if (o.label === "all") labels = Int32Array.from({ length: N }, (_, i) => i % K);
    else labels = new Int32Array(N).fill(int("--label", o.label, 0, K - 1));
  }
  const sigmas = karrasSigmas(steps, model.precond.sigmaMin, model.precond.sigmaMax);
  const D = model.itemShape.reduce((a, b) => a * b, 1);
  const chunk = int("chunk", o.chunk ?? 16, 1, 4096);
  const chunks = [];
  for (let start = 0; start < N; start += chunk) chunks.push({ start, n: Math.min(chunk, N - start) });
  return { N, D, steps, K, labels, sigmas, chunks };
}

/** A chunk's denoiser: conditioned on its labels, guided when guidance != 1. */
function chunkDenoiser(model: LoadedModel, o: GenerateOptions, p: Plan, start: number, n: number): Denoiser {
  const lab = p.labels?.subarray(start, start + n);
  return lab && o.guidance !== 1 ? guidedDenoiser(model.denoiser(), lab, o.guidance) : model.denoiser(lab);
}

/** Progress over all chunks, from a chunk's own step events. */
function chunkProgress(o: GenerateOptions, p: Plan, start: number, n: number) {
  return (e: { step: number; steps: number }) => o.onStep?.(Math.min(e.steps, Math.round(((start + (n * (e.step + 1)) / e.steps) / p.N) * e.steps)), e.steps);
}

/** Clamp images to [-1, 1] and encode: the last part of every generation. */
function finish(model: LoadedModel, o: GenerateOptions, p: Plan, out: Float32Array): GenerateResult {
  const { N, K, labels, steps } = p;
  // images live in [-1, 1]; low-dimensional data (2-D toys) is not bounded, so it is not clipped
  if (model.itemShape.length === 3) for (let i = 0; i < out.length; i++) out[i] = Math.max(-1, Math.min(1, out[i]));
  const shape = (model.itemShape.length === 3 ? [N, ...model.itemShape] : [N, 1, 1, model.itemShape[0]]) as [number, number, number, number];
  let bytes: Uint8Array;
  if (o.format === "png") {
    if (model.itemShape.length !== 3) throw new ArgumentError("--out", "a PNG needs an image model; write .safetensors for this model");
    const cols = o.cols ?? (labels && o.label === "all" ? K : Math.ceil(Math.sqrt(N)));
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
  /** Per chunk, the sampler's loop-carried values (SamplerState.carry: JSON-safe). */
  carries: SamplerState["carry"][];
}

export type GenerationProgress = { done: true; result: GenerateResult } | { done: false; state: GenerationState; steps: number };

/**
 * Generation a few steps at a time (a Worker's per-request CPU budget, a UI that yields between
 * steps): run at most `maxSteps` steps of every chunk, starting from pure noise or from `from`, and
 * return the state to continue from, or the finished result. Continuing until done gives the same
 * bytes as one generate() call with the same options. Plain sampling only (no init or inpaint).
 */
export function generateSteps(model: LoadedModel, o: GenerateOptions, run: { maxSteps: number; from?: GenerationState | null }): GenerationProgress {
  if (o.init || o.inpaint) throw new ArgumentError(o.init ? "init" : "inpaint", "is not resumable: img2img and inpainting run in one generate() call");
  const p = plan(model, o);
  const maxSteps = int("maxSteps", run.maxSteps, 1);
  const from = run.from ?? null;
  if (from) {
    int("from.step", from.step, 1, p.steps - 1);
    f32("from.x", from.x);
    if (from.x.length !== p.N * p.D) throw new ArgumentError("from.x", `must hold ${p.N} items of ${p.D} values, got ${from.x.length}`);
    if (!Array.isArray(from.carries) || from.carries.length !== p.chunks.length) throw new ArgumentError("from.carries", `must be an array of ${p.chunks.length} (one per chunk)`);
    from.carries.forEach((c, k) => {
      if (c === null || typeof c !== "object" || Array.isArray(c)) throw new ArgumentError(`from.carries[${k}]`, "must be the object a paused state carried (SamplerState.carry)");
    });
  }
  const rng = new Rng(o.seed);
  const out = new Float32Array(p.N * p.D);
  const carries: SamplerState["carry"][] = [];
  let next: number | null = null;
  p.chunks.forEach(({ start, n }, k) => {
    const denoiser = chunkDenoiser(model, o, p, start, n);
    const samplerRng = rng.stream("sampler");
    const common = { batch: n, firstItem: start, rng: samplerRng, maxSteps, onStep: chunkProgress(o, p, start, n) };
    const r = from
      ? resumeSampling(
          { format: "edge-diffusion/sampler-state@1", sampler: o.sampler, step: from.step, batch: n, firstItem: start, sigmas: Array.from(p.sigmas), x: Array.from(from.x.subarray(start * p.D, (start + n) * p.D)), rng: [samplerRng.k0, samplerRng.k1], options: {}, carry: from.carries[k] },
          denoiser,
          common,
        )
      : startSampling(o.sampler, denoiser, initialNoise(rng, n, p.D, p.sigmas[0], start), p.sigmas, common);
    out.set(r.x, start * p.D);
    carries.push(r.state?.carry ?? {});
    next = r.state ? r.state.step : null;
  });
  if (next !== null) return { done: false, state: { step: next, x: out, carries }, steps: p.steps };
  return { done: true, result: finish(model, o, p, out) };
}

export function generate(model: LoadedModel, o: GenerateOptions): GenerateResult {
  if (!o.init && !o.inpaint) {
    const r = generateSteps(model, o, { maxSteps: int("--steps", o.steps, 1, 1000) });
    if (!r.done) throw new Error("generate: sampling paused before its last step");
    return r.result;
  }
  const p = plan(model, o);
  const { N, D, sigmas } = p;
  const rng = new Rng(o.seed);
  const out = new Float32Array(N * D);
  const sampler = getSampler(o.sampler);
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
  const repeat = (a: Float32Array, n: number) => {
    const r = new Float32Array(n * D);
    for (let b = 0; b < n; b++) r.set(a, b * D);
    return r;
  };
  for (const { start, n } of p.chunks) {
    const denoiser = chunkDenoiser(model, o, p, start, n);
    const common = { batch: n, firstItem: start, rng: rng.stream("sampler"), onStep: chunkProgress(o, p, start, n) };
    let y: Float32Array;
    if (o.init) {
      y = img2img(sampler, denoiser, repeat(o.init.image, n), sigmas, { ...common, strength: o.init.strength });
    } else {
      const x0 = initialNoise(rng, n, D, sigmas[0], start);
      const ip = o.inpaint!;
      y = inpaint(denoiser, x0, sigmas, { ...common, known: repeat(ip.image, n), mask: repeat(ip.mask, n), resample: ip.resample ?? 1 });
    }
    out.set(y, start * D);
  }
  return finish(model, o, p, out);
}
