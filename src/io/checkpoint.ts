// Training checkpoints as one safetensors file (runtime-neutral):
//
//   <name>            network parameters, under their dotted names (so the file is also a plain weights file)
//   ema.<name>        EMA of the parameters (optional)
//   adam.m.<name>     Adam first moments   } optional, together
//   adam.v.<name>     Adam second moments  }
//   __metadata__      {"format": "edge-diffusion.checkpoint", "format_version": "1", "meta": "<JSON>",
//                      "state": "ema,adam" (which optional parts the file holds: "", "ema", "adam" or both)}
//
// `meta` is the caller's JSON object: network config, step, RNG state, optimiser hyper-parameters... It
// is checked to be plain JSON on the way in (no NaN, undefined, functions, cycles) so it comes back equal.
// Parameters and EMA may be stored as F16 to halve the file; Adam moments are always F32 (fp16 would
// flush small second moments to zero and change the resumed run). Unpacking validates everything the
// trainer relies on: the tag, the meta JSON, matching names and shapes across params/EMA/moments, and
// finite values.

import { ArgumentError } from "../validate.ts";
import { JsonError, parseJsonStrict, type JsonValue } from "./json.ts";
import { type ReadOptions, readSafetensors, SafetensorsError, type TensorInput, toFloat32, writeSafetensors } from "./safetensors.ts";

export const CHECKPOINT_FORMAT = "edge-diffusion.checkpoint";
export const CHECKPOINT_VERSION = "1";

export interface ParamTensor {
  shape: number[];
  data: Float32Array;
}
export type ParamMap = Record<string, ParamTensor>;
export type JsonObject = { [key: string]: JsonValue };

export interface Checkpoint {
  params: ParamMap;
  ema?: ParamMap;
  adam?: { m: ParamMap; v: ParamMap };
  /** Plain JSON data (checked on pack); on unpack it is parsed JSON, so validate fields before use. */
  meta: Record<string, unknown>;
}

export interface PackOptions {
  /** Storage type of params and EMA (default "F32"). Adam moments are always F32. */
  dtype?: "F32" | "F16";
}

export interface UnpackOptions extends ReadOptions {
  /** Accept NaN/Inf in tensors (default false: a non-finite checkpoint is refused). */
  allowNonFinite?: boolean;
}

export type CheckpointErrorCode =
  | "not_checkpoint"
  | "bad_meta"
  | "bad_dtype"
  | "unexpected_tensor"
  | "missing_tensor"
  | "shape_mismatch"
  | "non_finite";

/** A safetensors file that is not a valid checkpoint; `code` says why and the message names the tensor. */
export class CheckpointError extends Error {
  readonly code: CheckpointErrorCode;
  constructor(code: CheckpointErrorCode, message: string) {
    super(`checkpoint: ${message} [${code}]`);
    this.name = "CheckpointError";
    this.code = code;
  }
}

const PREFIX = { ema: "ema.", m: "adam.m.", v: "adam.v." } as const;
const META_MAX_DEPTH = 32;

/** Throw unless v is plain JSON that JSON.stringify keeps exactly; `path` names the spot. */
function checkJson(path: string, v: unknown, depth: number): void {
  if (depth > META_MAX_DEPTH) throw new ArgumentError(path, `nests deeper than ${META_MAX_DEPTH} (a cycle?)`);
  if (v === null || typeof v === "string" || typeof v === "boolean") return;
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new ArgumentError(path, `must be finite to survive JSON, got ${v}`);
    return;
  }
  if (Array.isArray(v)) {
    v.forEach((x, i) => checkJson(`${path}[${i}]`, x, depth + 1));
    return;
  }
  if (typeof v === "object" && !ArrayBuffer.isView(v)) {
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) throw new ArgumentError(path, "must be a plain object");
    for (const k of Object.keys(v)) checkJson(`${path}.${k}`, (v as Record<string, unknown>)[k], depth + 1);
    return;
  }
  throw new ArgumentError(path, `is not JSON data (${ArrayBuffer.isView(v) ? "a typed array" : typeof v})`);
}

function addMap(
  out: Record<string, TensorInput>,
  arg: string,
  map: ParamMap,
  prefix: string,
  dtype: "F32" | "F16",
): void {
  if (map === null || typeof map !== "object") throw new ArgumentError(arg, "must be an object of {shape, data}");
  for (const name of Object.keys(map)) {
    const t = map[name];
    if (prefix === "" && (name.startsWith("ema.") || name.startsWith("adam."))) {
      throw new ArgumentError(`${arg}[${JSON.stringify(name)}]`, `parameter names may not start with "ema." or "adam." (reserved)`);
    }
    if (!t || !(t.data instanceof Float32Array)) throw new ArgumentError(`${arg}[${JSON.stringify(name)}].data`, "must be a Float32Array");
    Object.defineProperty(out, prefix + name, { value: { dtype, shape: t.shape, data: t.data }, enumerable: true });
  }
}

function sameKeys(a: ParamMap, b: ParamMap): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k));
}

/** Serialise a checkpoint into safetensors bytes. */
export function packCheckpoint(ckpt: Checkpoint, opts: PackOptions = {}): Uint8Array {
  const dtype = opts.dtype ?? "F32";
  if (dtype !== "F32" && dtype !== "F16") throw new ArgumentError("opts.dtype", `must be "F32" or "F16", got ${String(dtype)}`);
  if (!ckpt || typeof ckpt !== "object") throw new ArgumentError("checkpoint", "must be {params, meta, ema?, adam?}");
  if (!ckpt.meta || typeof ckpt.meta !== "object" || Array.isArray(ckpt.meta)) throw new ArgumentError("meta", "must be a JSON object");
  checkJson("meta", ckpt.meta, 0);
  const tensors: Record<string, TensorInput> = {};
  addMap(tensors, "params", ckpt.params, "", dtype);
  if (ckpt.ema !== undefined) {
    if (!sameKeys(ckpt.ema, ckpt.params)) throw new ArgumentError("ema", "must have exactly the parameters' names");
    addMap(tensors, "ema", ckpt.ema, PREFIX.ema, dtype);
  }
  if (ckpt.adam !== undefined) {
    if (!ckpt.adam || !sameKeys(ckpt.adam.m ?? {}, ckpt.params) || !sameKeys(ckpt.adam.v ?? {}, ckpt.params)) {
      throw new ArgumentError("adam", "must be {m, v}, each with exactly the parameters' names");
    }
    addMap(tensors, "adam.m", ckpt.adam.m, PREFIX.m, "F32");
    addMap(tensors, "adam.v", ckpt.adam.v, PREFIX.v, "F32");
  }
  const state = [ckpt.ema !== undefined ? "ema" : "", ckpt.adam !== undefined ? "adam" : ""].filter((x) => x).join(",");
  return writeSafetensors(tensors, {
    format: CHECKPOINT_FORMAT,
    format_version: CHECKPOINT_VERSION,
    state,
    meta: JSON.stringify(ckpt.meta),
  });
}

const EXPECTED = `an edge-diffusion model or checkpoint (safetensors with __metadata__.format "${CHECKPOINT_FORMAT}", as 'edge-diffusion train' writes)`;

/**
 * What a file that is not safetensors is, from its first bytes, for the error that refuses it: PyTorch's
 * torch.save writes a zip archive (since 1.6) or a bare pickle (protocol 2..5: 0x80, version byte), the
 * formats of .pt, .bin and .ckpt files. Undefined when the bytes are none of the kinds recognised here.
 */
function foreignFileKind(bytes: Uint8Array): string | undefined {
  const b = (i: number) => (bytes.length > i ? bytes[i] : -1);
  if (b(0) === 0x50 && b(1) === 0x4b && b(2) === 0x03 && b(3) === 0x04) return "a PyTorch file (a zip archive as torch.save writes: .pt, .bin, .ckpt), not safetensors";
  if (b(0) === 0x80 && b(1) >= 2 && b(1) <= 5) return "a PyTorch pickle (.bin, .ckpt, .pt from torch.save), not safetensors";
  if (b(0) === 0x89 && b(1) === 0x50 && b(2) === 0x4e && b(3) === 0x47) return "a PNG image";
  if (b(0) === 0x1f && b(1) === 0x8b) return "a gzip file";
  if (b(0) === 0x47 && b(1) === 0x47 && b(2) === 0x55 && b(3) === 0x46) return "a GGUF file";
  return undefined;
}

/** What a safetensors file without our tag holds, from its tensor names (diffusers and LDM layouts). */
function foreignSafetensorsKind(names: string[]): string {
  const has = (re: RegExp) => names.some((n) => re.test(n));
  if (has(/^conv_in\.weight$/) && has(/^down_blocks\.\d+\./) && has(/^time_embedding\./)) {
    return "a diffusers UNet2DModel weights file (conv_in, down_blocks, time_embedding, ...), which edge-diffusion cannot load";
  }
  if (has(/^model\.diffusion_model\./)) return "a Stable Diffusion (LDM) checkpoint, which edge-diffusion cannot load";
  return "a safetensors file without edge-diffusion's metadata";
}

/** Parse and validate checkpoint bytes. Safetensors-level problems throw SafetensorsError; the rest CheckpointError. */
export function unpackCheckpoint(bytes: Uint8Array, opts: UnpackOptions = {}): Checkpoint {
  let file: ReturnType<typeof readSafetensors>;
  try {
    file = readSafetensors(bytes, opts);
  } catch (e) {
    // A file of another kind is named instead of the parser's low-level reason. Only once parsing has
    // failed: a valid safetensors header length can begin with the same bytes as a pickle (0x80 0x02).
    const foreign = e instanceof SafetensorsError && bytes instanceof Uint8Array ? foreignFileKind(bytes) : undefined;
    if (foreign) throw new CheckpointError("not_checkpoint", `this is ${foreign}; expected ${EXPECTED}`);
    throw e;
  }
  const { tensors, metadata } = file;
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(
      "not_checkpoint",
      `this is ${foreignSafetensorsKind(Object.keys(tensors))} (__metadata__.format is ${JSON.stringify(metadata.format ?? null)}, not "${CHECKPOINT_FORMAT}"); expected ${EXPECTED}`,
    );
  }
  if (metadata.format_version !== CHECKPOINT_VERSION) {
    throw new CheckpointError("not_checkpoint", `unsupported format_version ${JSON.stringify(metadata.format_version ?? null)} (this library reads "${CHECKPOINT_VERSION}")`);
  }
  let meta: JsonValue;
  try {
    meta = parseJsonStrict(metadata.meta ?? "", META_MAX_DEPTH);
  } catch (e) {
    if (e instanceof JsonError) throw new CheckpointError("bad_meta", `__metadata__.meta is not valid JSON: ${e.message}`);
    throw e;
  }
  if (meta === null || typeof meta !== "object" || Array.isArray(meta)) throw new CheckpointError("bad_meta", "__metadata__.meta is not a JSON object");

  const maps = { params: {} as ParamMap, ema: {} as ParamMap, m: {} as ParamMap, v: {} as ParamMap };
  for (const key of Object.keys(tensors)) {
    const t = tensors[key];
    let map: ParamMap = maps.params;
    let name = key;
    for (const which of ["ema", "m", "v"] as const) {
      if (key.startsWith(PREFIX[which])) {
        map = maps[which];
        name = key.slice(PREFIX[which].length);
        break;
      }
    }
    if (map === maps.params && (key.startsWith("adam.") || key.startsWith("ema."))) {
      throw new CheckpointError("unexpected_tensor", `tensor ${JSON.stringify(key)} uses a reserved prefix but is not ema.*, adam.m.* or adam.v.*`);
    }
    if (t.dtype !== "F32" && t.dtype !== "F16" && t.dtype !== "BF16") {
      throw new CheckpointError("bad_dtype", `tensor ${JSON.stringify(key)} is ${t.dtype}; checkpoints hold F32, F16 or BF16`);
    }
    const data = toFloat32(t, key);
    if (!opts.allowNonFinite) {
      for (let i = 0; i < data.length; i++) {
        if (!Number.isFinite(data[i])) throw new CheckpointError("non_finite", `tensor ${JSON.stringify(key)} has ${data[i]} at element ${i}`);
      }
    }
    Object.defineProperty(map, name, { value: { shape: t.shape, data }, enumerable: true, writable: true, configurable: true });
  }

  const check = (label: string, map: ParamMap, prefix: string): void => {
    for (const name of Object.keys(map)) {
      if (!Object.prototype.hasOwnProperty.call(maps.params, name)) {
        throw new CheckpointError("unexpected_tensor", `tensor ${JSON.stringify(prefix + name)} has no parameter ${JSON.stringify(name)}`);
      }
    }
    for (const name of Object.keys(maps.params)) {
      if (!Object.prototype.hasOwnProperty.call(map, name)) {
        throw new CheckpointError("missing_tensor", `${label} has no entry for parameter ${JSON.stringify(name)} (expected tensor ${JSON.stringify(prefix + name)})`);
      }
      const a = maps.params[name].shape;
      const b = map[name].shape;
      if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
        throw new CheckpointError("shape_mismatch", `${JSON.stringify(prefix + name)} has shape [${b.join(", ")}] but the parameter has [${a.join(", ")}]`);
      }
    }
  };
  const out: Checkpoint = { params: maps.params, meta: meta as JsonObject };
  const state = metadata.state ?? "";
  if (!/^(|ema|adam|ema,adam)$/.test(state)) {
    throw new CheckpointError("not_checkpoint", `__metadata__.state is ${JSON.stringify(state.slice(0, 40))}, not "", "ema", "adam" or "ema,adam"`);
  }
  const hasEma = state.includes("ema");
  const hasAdam = state.includes("adam");
  const unlisted = (hasEma ? [] : Object.keys(maps.ema).map((k) => PREFIX.ema + k)).concat(
    hasAdam ? [] : [...Object.keys(maps.m).map((k) => PREFIX.m + k), ...Object.keys(maps.v).map((k) => PREFIX.v + k)],
  );
  if (unlisted.length > 0) {
    throw new CheckpointError("unexpected_tensor", `tensor ${JSON.stringify(unlisted[0])} belongs to a part that __metadata__.state ("${state}") does not list`);
  }
  if (hasEma) {
    check("EMA", maps.ema, PREFIX.ema);
    out.ema = maps.ema;
  }
  if (hasAdam) {
    check("Adam m", maps.m, PREFIX.m);
    check("Adam v", maps.v, PREFIX.v);
    out.adam = { m: maps.m, v: maps.v };
  }
  return out;
}
