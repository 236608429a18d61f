// Argument parsing for every command, separate from running it: each parse function takes argv and
// returns fully checked options, or throws an ArgumentError naming the option (or node's parseArgs
// TypeError for unknown options). Pure (no files, no side effects), so the fuzz tests can throw any
// argv at it.
import { parseArgs } from "node:util";
import { defaultPreset, PRESET_NAMES, type PresetName } from "../presets.ts";
import { SAMPLING_DEFAULTS } from "../defaults.ts";
import { SIGMA_SCHEDULES, type SigmaScheduleName } from "../generate.ts";
import { resolveSampler } from "../samplers/index.ts";
import { ArgumentError, inRange, int, oneOf } from "../validate.ts";
import { SCHEDULE_NAMES } from "./forward.ts";

/**
 * node's parseArgs takes "-1" after a string option for another option ("argument is ambiguous"); a
 * number is never an option name, so `--count -1` becomes `--count=-1` and reaches the range check.
 */
export function joinNegativeValues(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = argv[i + 1];
    if (/^--[^=]+$/.test(a) && next !== undefined && /^-(\d|\.\d|Infinity)/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** An integer option: digits only (no 1e3, no 0x10, no 1.0), then range-checked. */
export function intOpt(name: string, v: string | undefined, def: number, lo = 0, hi = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return def;
  if (!/^-?\d{1,16}$/.test(v.trim())) throw new ArgumentError(`--${name}`, `must be an integer in [${lo}, ${hi}], got ${JSON.stringify(v)}`);
  return int(`--${name}`, Number(v), lo, hi);
}

/** A real-number option in [lo, hi]. */
export function numOpt(name: string, v: string | undefined, def: number, lo: number, hi: number, ends: "[]" | "(]" | "[)" | "()" = "[]"): number {
  if (v === undefined) return def;
  const x = Number(v);
  if (v.trim() === "" || !Number.isFinite(x)) throw new ArgumentError(`--${name}`, `must be a number in ${ends[0]}${lo}, ${hi}${ends[1]}, got ${JSON.stringify(v)}`);
  return inRange(`--${name}`, x, lo, hi, ends);
}

export interface SampleArgs {
  help: boolean;
  /** undefined: the shipped model. */
  model?: string;
  count: number;
  steps: number;
  sampler: string;
  /** --schedule, when given (else the sampler name's or the library's default). */
  schedule?: SigmaScheduleName;
  seed: number;
  /**
   * As typed: "all", "none", a class index, or undefined (the mode decides: "all" for sample on a
   * conditional model, "none" for img2img and inpaint). Resolved against the model (resolveLabel), so
   * every wrong value gets the one message with the model's range.
   */
  label?: string;
  /** undefined: not given (the default applies where guidance applies, and nothing is said otherwise). */
  guidance?: number;
  out: string;
  format: "png" | "safetensors";
  /** --out-dir: one PNG per sample in this folder instead of one grid (out is then unused). */
  outDir?: string;
  /** --cols: columns of the grid (default: one per class for "all", else a square). */
  cols?: number;
  /** img2img / inpaint: resize --image and --mask of another size to the model's. */
  resize: boolean;
  /** Keep the run's state in OUT.state.json after every step and continue from it when it exists. */
  resume: boolean;
  /** img2img and inpaint: the image PNG. */
  image?: string;
  /** img2img: in (0, 1]. */
  strength?: number;
  /** inpaint: the mask PNG (white = fill in, black = keep). */
  mask?: string;
  /** inpaint: RePaint resampling count (1 = none). */
  resample?: number;
  /** Threads for the denoiser, the main one included; "auto" = the cores Node reports (at most 8). */
  threads: number | "auto";
}

export type SampleMode = "sample" | "img2img" | "inpaint";

export function parseSampleArgs(argv: string[], mode: SampleMode = "sample"): SampleArgs {
  const { values: v } = parseArgs({
    args: joinNegativeValues(argv),
    options: {
      model: { type: "string" },
      count: { type: "string" },
      steps: { type: "string" },
      sampler: { type: "string" },
      schedule: { type: "string" },
      seed: { type: "string" },
      label: { type: "string" },
      guidance: { type: "string" },
      out: { type: "string" },
      threads: { type: "string" },
      "out-dir": { type: "string" },
      cols: { type: "string" },
      resume: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
      ...(mode === "sample" ? {} : { image: { type: "string" as const }, resize: { type: "boolean" as const, default: false } }),
      ...(mode === "img2img" ? { strength: { type: "string" as const } } : {}),
      ...(mode === "inpaint" ? { mask: { type: "string" as const }, resample: { type: "string" as const } } : {}),
    },
    strict: true,
    allowPositionals: false,
  });
  const extra = v as { image?: string; strength?: string; mask?: string; resample?: string; resize?: boolean };
  const out = v.out ?? (mode === "sample" ? "out/samples.png" : `out/${mode}.png`);
  const format = out.endsWith(".safetensors") ? "safetensors" : out.endsWith(".png") ? "png" : null;
  if (!format) throw new ArgumentError("--out", `must end in .png or .safetensors, got ${JSON.stringify(out)}`);
  if (v.model !== undefined && v.model.trim() === "") throw new ArgumentError("--model", "must be a file path, got an empty string");
  if (mode !== "sample" && !v.help) {
    if (!extra.image) throw new ArgumentError("--image", `is required for ${mode}: a PNG of the model's size`);
    if (mode === "inpaint" && !extra.mask) throw new ArgumentError("--mask", "is required for inpaint: a PNG of the model's size, white where the model fills in");
  }
  const outDir = v["out-dir"];
  if (outDir !== undefined && outDir.trim() === "") throw new ArgumentError("--out-dir", "must be a folder path, got an empty string");
  if (outDir !== undefined && v.out !== undefined) throw new ArgumentError("--out-dir", "writes one PNG per sample: give --out or --out-dir, not both");
  return {
    help: v.help!,
    model: v.model,
    image: extra.image,
    strength: mode === "img2img" ? numOpt("strength", extra.strength, 0.6, 0, 1, "(]") : undefined,
    mask: extra.mask,
    resample: mode === "inpaint" ? intOpt("resample", extra.resample, 1, 1, 20) : undefined,
    count: intOpt("count", v.count, mode === "sample" ? SAMPLING_DEFAULTS.count : 8, 1, 4096),
    steps: intOpt("steps", v.steps, SAMPLING_DEFAULTS.steps, 1, 1000),
    sampler: samplerOpt(v.sampler),
    schedule: v.schedule === undefined ? undefined : oneOf("--schedule", v.schedule, SIGMA_SCHEDULES),
    seed: intOpt("seed", v.seed, SAMPLING_DEFAULTS.seed),
    label: v.label,
    guidance: v.guidance === undefined ? undefined : numOpt("guidance", v.guidance, SAMPLING_DEFAULTS.guidance, -100, 100),
    out,
    format: outDir !== undefined ? "png" : format,
    outDir,
    cols: v.cols === undefined ? undefined : intOpt("cols", v.cols, 1, 1, 4096),
    resize: extra.resize ?? false,
    resume: v.resume!,
    threads: v.threads === undefined || v.threads === "auto" ? "auto" : intOpt("threads", v.threads, 1, 1, 64),
  };
}

export interface TrainArgs {
  help: boolean;
  dataset: string;
  preset: PresetName;
  /** folder: images are resized to size x size (default 28) with this many channels (default 1). */
  size?: number;
  channels?: 1 | 3;
  steps: number;
  batch: number;
  lr: number;
  warmup: number;
  ema: number;
  labelDropout: number;
  seed: number;
  checkpointEvery: number;
  out: string;
  /** undefined: out with .ckpt.safetensors. */
  checkpoint?: string;
  resume: boolean;
  fp16: boolean;
  /** Threads computing the gradient shards (auto: the cores, at most 8); the bytes do not depend on it. */
  threads: number | "auto";
  /** Gradient shards per batch (default: 8 for the image presets, 1 for toy); part of what a seed reproduces. */
  shards?: number;
  /** --objective flow: train a rectified-flow velocity model (flow matching). */
  objective?: "preset" | "flow";
  tSampling?: "logit-normal" | "uniform";
}

export function parseTrainArgs(argv: string[]): TrainArgs {
  const { values: v } = parseArgs({
    args: joinNegativeValues(argv),
    options: {
      dataset: { type: "string" },
      preset: { type: "string" },
      size: { type: "string" },
      channels: { type: "string" },
      steps: { type: "string" },
      batch: { type: "string" },
      lr: { type: "string" },
      warmup: { type: "string" },
      ema: { type: "string" },
      "label-dropout": { type: "string" },
      seed: { type: "string" },
      "checkpoint-every": { type: "string" },
      out: { type: "string" },
      checkpoint: { type: "string" },
      resume: { type: "boolean", default: false },
      fp16: { type: "boolean", default: false },
      threads: { type: "string" },
      shards: { type: "string" },
      objective: { type: "string" },
      "t-sampling": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  const dataset = v.dataset ?? "mnist";
  const objective = v.objective === undefined ? undefined : oneOf("--objective", v.objective, ["preset", "flow"] as const);
  if (v["t-sampling"] !== undefined && objective !== "flow") throw new ArgumentError("--t-sampling", "applies to --objective flow");
  const out = v.out ?? "out/model.safetensors";
  if (!out.endsWith(".safetensors")) throw new ArgumentError("--out", `must end in .safetensors, got ${JSON.stringify(out)}`);
  if (v.checkpoint !== undefined && !v.checkpoint.endsWith(".safetensors")) {
    throw new ArgumentError("--checkpoint", `must end in .safetensors, got ${JSON.stringify(v.checkpoint)}`);
  }
  return {
    help: v.help!,
    dataset,
    preset: oneOf("--preset", v.preset ?? defaultPreset(dataset), PRESET_NAMES),
    size: v.size === undefined ? undefined : intOpt("size", v.size, 28, 4, 4096),
    channels: v.channels === undefined ? undefined : (Number(oneOf("--channels", v.channels, ["1", "3"] as const)) as 1 | 3),
    steps: intOpt("steps", v.steps, 3000, 1, 10_000_000),
    batch: intOpt("batch", v.batch, 32, 1, 4096),
    lr: numOpt("lr", v.lr, 1e-3, 0, 1, "(]"),
    warmup: intOpt("warmup", v.warmup, 200, 0, 10_000_000),
    ema: numOpt("ema", v.ema, 0.999, 0, 1, "[)"),
    labelDropout: numOpt("label-dropout", v["label-dropout"], 0.1, 0, 1),
    seed: intOpt("seed", v.seed, 0),
    checkpointEvery: intOpt("checkpoint-every", v["checkpoint-every"], 200, 1, 10_000_000),
    out,
    checkpoint: v.checkpoint,
    resume: v.resume!,
    fp16: v.fp16!,
    threads: v.threads === undefined || v.threads === "auto" ? "auto" : intOpt("threads", v.threads, 1, 1, 64),
    shards: v.shards === undefined ? undefined : intOpt("shards", v.shards, 1, 1, 4096),
    objective,
    tSampling: v["t-sampling"] === undefined ? undefined : oneOf("--t-sampling", v["t-sampling"], ["logit-normal", "uniform"] as const),
  };
}

export interface ForwardArgs {
  help: boolean;
  schedule: string;
  T: number;
  columns: number;
  chain: boolean;
  seed: number;
  size: number;
  scale: number;
  out: string;
}

export function parseForwardArgs(argv: string[]): ForwardArgs {
  const { values: v } = parseArgs({
    args: joinNegativeValues(argv),
    options: {
      schedule: { type: "string" },
      T: { type: "string" },
      columns: { type: "string" },
      chain: { type: "boolean", default: false },
      seed: { type: "string" },
      size: { type: "string" },
      scale: { type: "string" },
      out: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  const out = v.out ?? "out/forward.png";
  if (!out.endsWith(".png")) throw new ArgumentError("--out", `must end in .png, got ${JSON.stringify(out)}`);
  return {
    help: v.help!,
    schedule: oneOf("--schedule", v.schedule ?? "cosine", SCHEDULE_NAMES),
    T: intOpt("T", v.T, 1000, 1, 100_000),
    columns: intOpt("columns", v.columns, 11, 2, 64),
    chain: v.chain!,
    seed: intOpt("seed", v.seed, 0),
    size: intOpt("size", v.size, 32, 8, 256),
    scale: intOpt("scale", v.scale, 2, 1, 16),
    out,
  };
}

/**
 * --label as typed, against a model with K classes (0: unconditional): a class index, "all", or null
 * (unconditional). Unset means "all" for `sample` on a conditional model and null for img2img and
 * inpaint, which keep the image's own content rather than forcing classes 0, 1, 2, ... onto it. Every
 * wrong value gets the one message, with the model's range.
 */
export function resolveLabel(raw: string | undefined, K: number, mode: SampleMode): number | "all" | null {
  if (raw === undefined) return mode === "sample" && K > 0 ? "all" : null;
  const v = raw.trim();
  if (v === "none") return null;
  if (K === 0) throw new ArgumentError("--label", `this model is unconditional: it takes no label (leave --label out, or give none), got ${JSON.stringify(raw)}`);
  if (v === "all") return "all";
  if (/^\d{1,7}$/.test(v) && Number(v) < K) return Number(v);
  throw new ArgumentError("--label", `must be a class in [0, ${K - 1}], "all" or "none", got ${JSON.stringify(raw)}`);
}

export interface InfoArgs {
  help: boolean;
  /** undefined: the shipped model. */
  model?: string;
  json: boolean;
}

export function parseInfoArgs(argv: string[]): InfoArgs {
  const { values: v, positionals } = parseArgs({
    args: argv,
    options: { json: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false } },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length > 1) throw new ArgumentError("MODEL", `takes one model file, got ${positionals.length}: ${positionals.map((p) => JSON.stringify(p)).join(" ")}`);
  if (positionals[0] !== undefined && positionals[0].trim() === "") throw new ArgumentError("MODEL", "must be a file path, got an empty string");
  return { help: v.help!, model: positionals[0], json: v.json! };
}

/** --sampler: any name resolveSampler takes (ours, diffusers', A1111's, k-diffusion's), checked up front. */
function samplerOpt(name: string | undefined): string {
  const n = name ?? SAMPLING_DEFAULTS.sampler;
  try {
    resolveSampler(n);
  } catch (e) {
    if (e instanceof ArgumentError && e.arg === "sampler") throw new ArgumentError("--sampler", e.message.slice("sampler: ".length));
    throw e;
  }
  return n;
}

/** The restoration commands: each a linear inverse problem solved with the model as the prior. */
export type RestoreMode = "superres" | "deblur" | "colorize";
export const RESTORE_METHODS = ["ddrm", "dps", "ilvr"] as const;
export type RestoreMethod = (typeof RESTORE_METHODS)[number];
/** Steps per method when --steps is left out: DDRM's paper uses 20; DPS needs many small steps. */
export const RESTORE_STEPS: Record<RestoreMethod, number> = { ddrm: 20, dps: 100, ilvr: 50 };
/** DPS's zeta for the CLI: 10 restores 4x-pooled digits best of 3, 10 on the shipped model (bench:inverse). */
export const RESTORE_DPS_ZETA = 10;
/**
 * deblur's default measurement noise: that of an 8-bit PNG in [-1, 1] units, the quantization step
 * 2/255 over sqrt(12). A blur's smallest singular values are ~1e-9, so a noiseless y / s would amplify
 * the PNG's rounding a millionfold. superres and colorize default to 0 (their s are 1/scale and
 * 1/sqrt(3)): the result then agrees with the input exactly.
 */
export const PNG_SIGMA_Y = 2 / 255 / Math.sqrt(12);

export interface RestoreArgs {
  help: boolean;
  /** undefined: the shipped model. */
  model?: string;
  image?: string;
  out: string;
  method: RestoreMethod;
  steps: number;
  seed: number;
  count: number;
  /** As typed: a class 0..K-1 or "none" (default: none, the unconditional model). */
  label?: string;
  /** superres: the downsampling factor. */
  scale: number;
  /** deblur: the blur's standard deviation in pixels. */
  sigma: number;
  sigmaY: number;
  eta?: number;
  etaB?: number;
  zeta?: number;
}

export function parseRestoreArgs(argv: string[], mode: RestoreMode): RestoreArgs {
  const { values: v } = parseArgs({
    args: joinNegativeValues(argv),
    options: {
      model: { type: "string" },
      image: { type: "string" },
      out: { type: "string" },
      method: { type: "string" },
      steps: { type: "string" },
      seed: { type: "string" },
      count: { type: "string" },
      label: { type: "string" },
      scale: { type: "string" },
      sigma: { type: "string" },
      "sigma-y": { type: "string" },
      eta: { type: "string" },
      "eta-b": { type: "string" },
      zeta: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  const help = v.help ?? false;
  if (!help && v.image === undefined) throw new ArgumentError("--image", "is required: the PNG to restore");
  if (mode !== "superres" && v.scale !== undefined) throw new ArgumentError("--scale", `belongs to superres, not ${mode}`);
  if (mode !== "deblur" && v.sigma !== undefined) throw new ArgumentError("--sigma", `belongs to deblur, not ${mode} (--sigma-y is the measurement noise)`);
  const method = oneOf("--method", v.method ?? "ddrm", RESTORE_METHODS);
  if (method !== "ddrm" && v["eta-b"] !== undefined) throw new ArgumentError("--eta-b", `applies to --method ddrm, not ${method}`);
  if (method !== "dps" && v.zeta !== undefined) throw new ArgumentError("--zeta", `applies to --method dps, not ${method}`);
  const out = v.out ?? `out/${mode}.png`;
  if (!out.endsWith(".png")) throw new ArgumentError("--out", `must end in .png, got ${JSON.stringify(out)}`);
  return {
    help,
    model: v.model,
    image: v.image,
    out,
    method,
    steps: intOpt("steps", v.steps, RESTORE_STEPS[method], 1, 1000),
    seed: intOpt("seed", v.seed, 0, 0, 2 ** 32 - 1),
    count: intOpt("count", v.count, 1, 1, 64),
    label: v.label,
    scale: intOpt("scale", v.scale, 4, 1, 4096),
    sigma: numOpt("sigma", v.sigma, 1.5, 0, 16, "(]"),
    sigmaY: numOpt("sigma-y", v["sigma-y"], mode === "deblur" ? PNG_SIGMA_Y : 0, 0, 2),
    eta: v.eta === undefined ? undefined : numOpt("eta", v.eta, 0, 0, 1),
    etaB: v["eta-b"] === undefined ? undefined : numOpt("eta-b", v["eta-b"], 1, 0, 1),
    zeta: v.zeta === undefined ? (method === "dps" ? RESTORE_DPS_ZETA : undefined) : numOpt("zeta", v.zeta, 1, 0, 1000),
  };
}
