// Where things are in a diffusers folder. A source is a map from relative file names to bytes (every
// runtime; Workers and browsers have no file system) — a pipeline folder (model_index.json, unet/,
// scheduler/) or a bare model folder (config.json + weights). This module only finds the files and
// refuses what we never read; parsing is unet-config/unet-weights and schedulers/.

import { ArgumentError } from "../validate.ts";

/** Relative file name -> bytes. Names use "/" and no leading "./". */
export type DiffusersFiles = ReadonlyMap<string, Uint8Array> | Readonly<Record<string, Uint8Array>>;

/** Thrown for a folder we cannot use; `code` says why, the message says what to do. */
export class DiffusersFolderError extends Error {
  constructor(
    readonly code: "no_config" | "no_weights" | "pickle" | "not_unet2d" | "bad_index" | "bad_file",
    message: string,
  ) {
    super(message);
    this.name = "DiffusersFolderError";
  }
}

export interface DiffusersLayout {
  kind: "pipeline" | "model";
  /** The model folder's prefix inside the source ("unet/" for a pipeline, "" for a model folder). */
  unetDir: string;
  configName: string;
  /** Weight files in order (one file, or the shards an index lists). */
  weightNames: string[];
  /** The scheduler config, when the source is a pipeline. */
  schedulerName?: string;
  /** model_index.json's class names (pipeline and components), for messages and `info`. */
  pipelineClass?: string;
}

/** The weight file names diffusers writes, by precision variant (we read any of them). */
const WEIGHTS = ["diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors"];
const SHARD_INDEX = "diffusion_pytorch_model.safetensors.index.json";
const PICKLES = /\.(bin|ckpt|pt|pth|pkl)$/i;

/** Normalise a source to a Map with clean relative names. */
export function filesOf(source: DiffusersFiles): Map<string, Uint8Array> {
  if (source === null || typeof source !== "object") throw new ArgumentError("source", "must be a folder path (Node) or a map from file names to bytes");
  const entries = source instanceof Map ? [...source.entries()] : Object.entries(source);
  const out = new Map<string, Uint8Array>();
  for (const [name, bytes] of entries) {
    if (typeof name !== "string") throw new ArgumentError("source", "file names must be strings");
    if (!(bytes instanceof Uint8Array)) throw new ArgumentError(`source[${JSON.stringify(name)}]`, "must be a Uint8Array of the file's bytes");
    const clean = name.replace(/\\/g, "/").replace(/^(\.\/)+/, "").replace(/\/+/g, "/");
    if (clean.split("/").includes("..")) throw new ArgumentError("source", `file name ${JSON.stringify(name)} leaves the folder`);
    out.set(clean, bytes);
  }
  return out;
}

/** The JSON text of a file (UTF-8, BOM allowed), or a typed error naming it. */
export function textOf(files: ReadonlyMap<string, Uint8Array>, name: string): string {
  const bytes = files.get(name);
  if (!bytes) throw new DiffusersFolderError("no_config", `${name} is missing`);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes).replace(/^\uFEFF/, "");
  } catch {
    throw new DiffusersFolderError("bad_file", `${name} is not UTF-8 text`);
  }
}

function refusePickle(names: string[], dir: string): never {
  const p = names.find((n) => n.startsWith(dir) && PICKLES.test(n));
  if (p) {
    throw new DiffusersFolderError(
      "pickle",
      `${p} is a PyTorch pickle, which can run code when loaded, so it is never read here. Convert it once with diffusers in Python: ` +
        `UNet2DModel.from_pretrained(folder).save_pretrained(folder, safe_serialization=True) (or the pipeline's save_pretrained), which writes diffusion_pytorch_model.safetensors`,
    );
  }
  throw new DiffusersFolderError("no_weights", `no weights in ${dir || "the folder"}: expected ${WEIGHTS[0]} (or ${SHARD_INDEX} with its shards)`);
}

/** Find the model (and scheduler) files of a diffusers source. Reads only the small JSON index files. */
export function locateDiffusers(files: ReadonlyMap<string, Uint8Array>): DiffusersLayout {
  const names = [...files.keys()];
  let unetDir = "";
  let kind: DiffusersLayout["kind"] = "model";
  let schedulerName: string | undefined;
  let pipelineClass: string | undefined;
  if (files.has("model_index.json")) {
    kind = "pipeline";
    let index: unknown;
    try {
      index = JSON.parse(textOf(files, "model_index.json"));
    } catch (e) {
      if (e instanceof DiffusersFolderError) throw e;
      throw new DiffusersFolderError("bad_index", "model_index.json is not valid JSON");
    }
    if (index === null || typeof index !== "object" || Array.isArray(index)) throw new DiffusersFolderError("bad_index", "model_index.json must be a JSON object");
    const idx = index as Record<string, unknown>;
    pipelineClass = typeof idx._class_name === "string" ? idx._class_name : undefined;
    const unet = idx.unet;
    if (!Array.isArray(unet) || unet[1] !== "UNet2DModel") {
      throw new DiffusersFolderError("not_unet2d", `model_index.json's unet is ${JSON.stringify(unet ?? null)}; only pipelines with a UNet2DModel (DDPMPipeline, DDIMPipeline, ...) are supported`);
    }
    unetDir = "unet/";
    if (files.has("scheduler/scheduler_config.json")) schedulerName = "scheduler/scheduler_config.json";
  }
  const configName = `${unetDir}config.json`;
  if (!files.has(configName)) {
    throw new DiffusersFolderError("no_config", `${configName} is missing: a diffusers model folder holds config.json and diffusion_pytorch_model.safetensors`);
  }
  let weightNames: string[] | undefined;
  for (const w of WEIGHTS) if (files.has(unetDir + w)) weightNames = [unetDir + w];
  if (!weightNames && files.has(unetDir + SHARD_INDEX)) {
    let map: unknown;
    try {
      map = (JSON.parse(textOf(files, unetDir + SHARD_INDEX)) as { weight_map?: unknown }).weight_map;
    } catch {
      throw new DiffusersFolderError("bad_index", `${unetDir + SHARD_INDEX} is not valid JSON`);
    }
    if (map === null || typeof map !== "object") throw new DiffusersFolderError("bad_index", `${unetDir + SHARD_INDEX} has no weight_map`);
    const shards = [...new Set(Object.values(map as Record<string, unknown>))];
    for (const s of shards) {
      if (typeof s !== "string" || s.includes("/") || !files.has(unetDir + s)) throw new DiffusersFolderError("no_weights", `shard ${JSON.stringify(s)} listed in ${SHARD_INDEX} is missing`);
    }
    weightNames = (shards as string[]).sort().map((s) => unetDir + s);
  }
  if (!weightNames) refusePickle(names, unetDir);
  return { kind, unetDir, configName, weightNames, schedulerName, pipelineClass };
}

/** The files a Node reader needs to read from a folder (so it never reads a 1 GB pickle it will refuse). */
export function wantedFile(name: string): boolean {
  return /(^|\/)(model_index|config|scheduler_config)\.json$/.test(name) || /\.safetensors(\.index\.json)?$/.test(name) || PICKLES.test(name);
}
