// Safetensors (huggingface/safetensors, format.md): read and write, runtime-neutral (Uint8Array in and
// out; no Node imports).
//
//   [0, 8)        N: u64 little-endian, the header's byte length
//   [8, 8+N)      UTF-8 JSON object {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {k: v}}
//                 (the writer pads it with spaces so the data starts at a multiple of 8)
//   [8+N, end)    the data buffer; offsets are relative to its start; tensors are contiguous, without holes
//                 or overlaps, and together cover the buffer exactly.
//
// The reader treats its input as hostile. Order of checks: total length, header length against the cap
// and against the bytes actually present (before decoding anything), UTF-8, strict JSON (duplicate keys,
// nesting depth), schema (dtype, shape, offsets, metadata), then the layout of the data buffer (sorted
// offsets: in range, no overlap, no hole, exact cover, shape x dtype size = span). Tensor memory is
// allocated only after all of that passed, so every size it uses was checked against bytes.length.
// Each failure is a SafetensorsError whose `code` says which rule broke and whose message names the tensor.

import { ArgumentError } from "../validate.ts";
import { JsonError, parseJsonStrict, type JsonValue } from "./json.ts";
import { bf16ToFloat32, float32ToBf16, float32ToHalf, halfToFloat32 } from "./half.ts";

/** Element types of the format, with their sizes in bytes. */
const DTYPE_SIZE = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
} as const;

export type Dtype = keyof typeof DTYPE_SIZE;
export const DTYPES = Object.keys(DTYPE_SIZE) as Dtype[];

/** Typed array holding a tensor's elements. F16 and BF16 are read as their raw bits (Uint16Array). */
export type TensorData =
  | Float32Array
  | Float64Array
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | BigInt64Array
  | BigUint64Array;

export interface SafeTensor {
  dtype: Dtype;
  shape: number[];
  data: TensorData;
}

/**
 * Input of the writer. For "F16" and "BF16", data may be a Float32Array (converted, rounding to nearest
 * even) or a Uint16Array of raw bits; every other dtype takes its own typed array (F32: Float32Array,
 * F64: Float64Array, I64: BigInt64Array, U8/BOOL/F8_*: Uint8Array, ...).
 */
export interface TensorInput {
  dtype: Dtype;
  shape: readonly number[];
  data: TensorData;
}

export type SafetensorsErrorCode =
  | "too_short"
  | "header_too_large"
  | "header_past_end"
  | "header_utf8"
  | "header_start"
  | "header_json"
  | "duplicate_key"
  | "json_too_deep"
  | "tensor_info"
  | "unknown_dtype"
  | "bad_shape"
  | "bad_offsets"
  | "size_mismatch"
  | "offsets_out_of_range"
  | "offsets_overlap"
  | "offsets_gap"
  | "buffer_size"
  | "metadata"
  | "bad_bool"
  | "unsupported_dtype";

/** A file that breaks the format; `code` names the rule, `tensor` the tensor when there is one. */
export class SafetensorsError extends Error {
  readonly code: SafetensorsErrorCode;
  readonly tensor: string | undefined;
  constructor(code: SafetensorsErrorCode, message: string, tensor?: string) {
    super(`safetensors: ${tensor !== undefined ? `tensor ${JSON.stringify(tensor)}: ` : ""}${message} [${code}]`);
    this.name = "SafetensorsError";
    this.code = code;
    this.tensor = tensor;
  }
}

/**
 * Default cap on the header length: 16 MiB. The reference implementation caps at 100 MB; our headers
 * are a few KB (about 100 bytes a tensor), and a Worker has 128 MB in all, so a smaller default keeps a
 * hostile header from taking most of the memory. Raise it with `maxHeaderBytes` for huge tensor lists.
 */
export const DEFAULT_MAX_HEADER_BYTES = 16 * 1024 * 1024;
/** The writer refuses headers above the reference implementation's cap, which no reader would accept. */
const WRITER_MAX_HEADER_BYTES = 100_000_000;
/** Deep enough for the schema (object > object > array); anything deeper is rejected before recursion. */
const MAX_JSON_DEPTH = 8;
const METADATA_KEY = "__metadata__";

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export interface ReadOptions {
  /** Largest header accepted, in bytes (default DEFAULT_MAX_HEADER_BYTES = 16 MiB). */
  maxHeaderBytes?: number;
}

export interface SafetensorsFile {
  tensors: Record<string, SafeTensor>;
  metadata: Record<string, string>;
}

interface Entry {
  name: string;
  dtype: Dtype;
  shape: number[];
  begin: number;
  end: number;
}

function isObject(v: JsonValue | undefined): v is { [key: string]: JsonValue } {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A short, safe description of an untrusted JSON value for a message (never throws, never huge). */
function show(v: JsonValue | undefined): string {
  if (typeof v === "string") return JSON.stringify(v.length > 32 ? `${v.slice(0, 32)}...` : v);
  if (typeof v === "number" || typeof v === "boolean" || v === null) return String(v);
  if (v === undefined) return "nothing";
  return Array.isArray(v) ? "an array" : "an object";
}

/** obj[key] = value as an own property, even for keys like "__proto__". */
function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function isIndex(v: JsonValue): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/** Parse and validate a safetensors file. The returned arrays are copies: they never alias `bytes`. */
export function readSafetensors(bytes: Uint8Array, opts: ReadOptions = {}): SafetensorsFile {
  if (!(bytes instanceof Uint8Array)) throw new ArgumentError("bytes", "must be a Uint8Array");
  const cap = opts.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  if (!Number.isSafeInteger(cap) || cap < 2) throw new ArgumentError("opts.maxHeaderBytes", `must be an integer >= 2, got ${cap}`);
  if (bytes.length < 8) {
    throw new SafetensorsError("too_short", `file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = dv.getUint32(4, true) * 4294967296 + dv.getUint32(0, true); // exact below 2^53, huge above
  if (n > cap) {
    throw new SafetensorsError("header_too_large", `header length ${n} exceeds the cap of ${cap} bytes`);
  }
  if (n > bytes.length - 8) {
    throw new SafetensorsError(
      "header_past_end",
      `header length ${n} runs past the end of the file (${bytes.length - 8} bytes after the length field)`,
    );
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    throw new SafetensorsError("header_utf8", "header is not valid UTF-8");
  }
  if (text.charCodeAt(0) !== 0x7b) throw new SafetensorsError("header_start", "header does not start with '{'");
  let header: JsonValue;
  try {
    header = parseJsonStrict(text, MAX_JSON_DEPTH);
  } catch (e) {
    if (e instanceof JsonError) {
      const code = e.code === "json_duplicate_key" ? "duplicate_key" : e.code === "json_too_deep" ? "json_too_deep" : "header_json";
      throw new SafetensorsError(code, `header JSON: ${e.message}`);
    }
    throw e;
  }
  if (!isObject(header)) throw new SafetensorsError("header_start", "header JSON is not an object"); // unreachable after the '{' check

  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const name of Object.keys(header)) {
    const info = header[name];
    if (name === METADATA_KEY) {
      if (!isObject(info)) throw new SafetensorsError("metadata", "__metadata__ is not an object");
      for (const k of Object.keys(info)) {
        const v = info[k];
        if (typeof v !== "string") {
          throw new SafetensorsError("metadata", `__metadata__ value of ${JSON.stringify(k)} is not a string`);
        }
        setOwn(metadata, k, v);
      }
      continue;
    }
    entries.push(parseEntry(name, info));
  }

  // Layout: sorted by begin, the spans must tile [0, buffer length) exactly.
  const bufferStart = 8 + n;
  const bufferLen = bytes.length - bufferStart;
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  for (const e of entries) {
    if (e.end > bufferLen) {
      throw new SafetensorsError(
        "offsets_out_of_range",
        `data_offsets [${e.begin}, ${e.end}] run past the data buffer (${bufferLen} bytes)`,
        e.name,
      );
    }
    if (e.begin < pos) {
      throw new SafetensorsError("offsets_overlap", `data_offsets [${e.begin}, ${e.end}] overlap the previous tensor, which ends at ${pos}`, e.name);
    }
    if (e.begin > pos) {
      throw new SafetensorsError("offsets_gap", `data_offsets [${e.begin}, ${e.end}] leave a hole: the previous tensor ends at ${pos}`, e.name);
    }
    pos = e.end;
  }
  if (pos !== bufferLen) {
    throw new SafetensorsError("buffer_size", `tensors cover ${pos} bytes but the data buffer has ${bufferLen}`);
  }

  const tensors: Record<string, SafeTensor> = {};
  for (const e of entries) {
    // own, aligned buffer: a copy (Node's Buffer#slice is a view into a shared pool, so never bytes.slice)
    const raw = new Uint8Array(bytes.subarray(bufferStart + e.begin, bufferStart + e.end));
    const data = view(e.dtype, raw);
    if (e.dtype === "BOOL") {
      for (let i = 0; i < raw.length; i++) {
        if (raw[i] > 1) throw new SafetensorsError("bad_bool", `BOOL element ${i} is ${raw[i]}, not 0 or 1`, e.name);
      }
    }
    setOwn(tensors, e.name, { dtype: e.dtype, shape: e.shape, data });
  }
  return { tensors, metadata };
}

function parseEntry(name: string, info: JsonValue): Entry {
  if (!isObject(info)) throw new SafetensorsError("tensor_info", "entry is not an object", name);
  const dtype = info.dtype;
  if (typeof dtype !== "string") throw new SafetensorsError("tensor_info", "dtype is missing or not a string", name);
  if (!Object.prototype.hasOwnProperty.call(DTYPE_SIZE, dtype)) {
    throw new SafetensorsError("unknown_dtype", `unknown dtype ${JSON.stringify(dtype.slice(0, 32))} (known: ${DTYPES.join(", ")})`, name);
  }
  const size = DTYPE_SIZE[dtype as Dtype];
  const shape = info.shape;
  if (!Array.isArray(shape)) throw new SafetensorsError("tensor_info", "shape is missing or not an array", name);
  for (let i = 0; i < shape.length; i++) {
    if (!isIndex(shape[i])) {
      throw new SafetensorsError("bad_shape", `shape[${i}] = ${show(shape[i])} is not a non-negative safe integer`, name);
    }
  }
  const off = info.data_offsets;
  if (!Array.isArray(off) || off.length !== 2) {
    throw new SafetensorsError("tensor_info", `data_offsets is ${show(off)}, not a pair [begin, end]`, name);
  }
  const [begin, end] = off;
  if (!isIndex(begin) || !isIndex(end) || end < begin) {
    throw new SafetensorsError("bad_offsets", `data_offsets [${show(begin)}, ${show(end)}] are not integers with 0 <= begin <= end`, name);
  }
  // Element count x size against the span. In float64 the product cannot throw; past 2^53 it is only
  // approximate, but then it exceeds any span (<= 2^53) anyway, and a zero dimension makes it exactly 0.
  const span = end - begin;
  let bytesNeeded = (shape as number[]).includes(0) ? 0 : size;
  if (bytesNeeded !== 0) for (const d of shape as number[]) bytesNeeded *= d;
  if (bytesNeeded !== span) {
    const need = Number.isSafeInteger(bytesNeeded) ? `${bytesNeeded}` : "more than 2^53";
    const dims = shape.length > 8 ? `${shape.slice(0, 8).join(", ")}, ... (${shape.length} dims)` : shape.join(", ");
    throw new SafetensorsError("size_mismatch", `shape [${dims}] of ${dtype} needs ${need} bytes but data_offsets span ${span}`, name);
  }
  return { name, dtype: dtype as Dtype, shape: (shape as number[]).slice(), begin, end };
}

/** A typed array over `raw` (offset 0, its own buffer) for `dtype`, in host byte order. */
function view(dtype: Dtype, raw: Uint8Array): TensorData {
  const size = DTYPE_SIZE[dtype];
  if (!LITTLE_ENDIAN && size > 1) swapBytes(raw, size);
  const b = raw.buffer;
  const len = raw.length / size;
  switch (dtype) {
    case "BOOL":
    case "U8":
    case "F8_E5M2":
    case "F8_E4M3":
      return raw;
    case "I8":
      return new Int8Array(b, 0, len);
    case "I16":
      return new Int16Array(b, 0, len);
    case "U16":
    case "F16":
    case "BF16":
      return new Uint16Array(b, 0, len);
    case "I32":
      return new Int32Array(b, 0, len);
    case "U32":
      return new Uint32Array(b, 0, len);
    case "F32":
      return new Float32Array(b, 0, len);
    case "F64":
      return new Float64Array(b, 0, len);
    case "I64":
      return new BigInt64Array(b, 0, len);
    case "U64":
      return new BigUint64Array(b, 0, len);
  }
}

function swapBytes(raw: Uint8Array, size: number): void {
  for (let i = 0; i < raw.length; i += size) {
    for (let a = i, z = i + size - 1; a < z; a++, z--) {
      const t = raw[a];
      raw[a] = raw[z];
      raw[z] = t;
    }
  }
}

/**
 * A tensor's values as float32: F32 as is (a copy), F16/BF16 decoded exactly, F64 and integers rounded to
 * float32, BOOL as 0/1. The 8-bit float formats are not supported (SafetensorsError "unsupported_dtype").
 */
export function toFloat32(t: SafeTensor, name?: string): Float32Array {
  switch (t.dtype) {
    case "F32":
      return Float32Array.from(t.data as Float32Array);
    case "F16":
      return halfToFloat32(t.data as Uint16Array);
    case "BF16":
      return bf16ToFloat32(t.data as Uint16Array);
    case "F8_E4M3":
    case "F8_E5M2":
      throw new SafetensorsError("unsupported_dtype", `${t.dtype} cannot be converted to float32 here`, name);
    case "I64":
    case "U64": {
      const src = t.data as BigInt64Array | BigUint64Array;
      const out = new Float32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = Number(src[i]);
      return out;
    }
    default:
      return Float32Array.from(t.data as ArrayLike<number>);
  }
}

/** Which typed array each dtype's writer input must be (F16/BF16 also take a Float32Array). */
const INPUT_ARRAY: Record<Dtype, string> = {
  BOOL: "Uint8Array",
  U8: "Uint8Array",
  I8: "Int8Array",
  F8_E5M2: "Uint8Array",
  F8_E4M3: "Uint8Array",
  I16: "Int16Array",
  U16: "Uint16Array",
  F16: "Uint16Array",
  BF16: "Uint16Array",
  I32: "Int32Array",
  U32: "Uint32Array",
  F32: "Float32Array",
  F64: "Float64Array",
  I64: "BigInt64Array",
  U64: "BigUint64Array",
};

function encodeData(name: string, t: TensorInput): Uint8Array {
  const arg = `tensors[${JSON.stringify(name)}]`;
  if (t === null || typeof t !== "object") throw new ArgumentError(arg, "must be {dtype, shape, data}");
  if (!Object.prototype.hasOwnProperty.call(DTYPE_SIZE, t.dtype)) {
    throw new ArgumentError(`${arg}.dtype`, `must be one of ${DTYPES.join(", ")}, got ${String(t.dtype)}`);
  }
  if (!Array.isArray(t.shape)) throw new ArgumentError(`${arg}.shape`, "must be an array");
  let count = 1;
  t.shape.forEach((d, i) => {
    if (!Number.isSafeInteger(d) || d < 0) throw new ArgumentError(`${arg}.shape[${i}]`, `must be a non-negative integer, got ${d}`);
    count *= d;
  });
  let data: TensorData = t.data;
  if ((t.dtype === "F16" || t.dtype === "BF16") && data instanceof Float32Array) {
    data = t.dtype === "F16" ? float32ToHalf(data) : float32ToBf16(data);
  }
  const want = INPUT_ARRAY[t.dtype];
  const tag = ArrayBuffer.isView(data) ? Object.prototype.toString.call(data).slice(8, -1) : typeof data;
  if (tag !== want) {
    const got = tag;
    const alt = t.dtype === "F16" || t.dtype === "BF16" ? " or Float32Array" : "";
    throw new ArgumentError(`${arg}.data`, `${t.dtype} needs a ${want}${alt}, got ${got}`);
  }
  if (data.length !== count) {
    throw new ArgumentError(`${arg}.data`, `has ${data.length} elements but shape [${t.shape.join(", ")}] has ${count}`);
  }
  const out = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  if (t.dtype === "BOOL") {
    for (let i = 0; i < out.length; i++) {
      if (out[i] > 1) throw new ArgumentError(`${arg}.data`, `BOOL element ${i} is ${out[i]}, not 0 or 1`);
    }
  }
  if (!LITTLE_ENDIAN) swapBytes(out, DTYPE_SIZE[t.dtype]);
  return out;
}

/**
 * Serialise tensors (and optional string metadata) as a safetensors file. Tensors are laid out by
 * decreasing element size, then by name, so with the 8-aligned header every tensor starts at a multiple
 * of its element size in the file (zero-copy views stay possible for readers that want them).
 */
export function writeSafetensors(tensors: Record<string, TensorInput>, metadata?: Record<string, string>): Uint8Array {
  if (tensors === null || typeof tensors !== "object") throw new ArgumentError("tensors", "must be an object of tensors");
  const names = Object.keys(tensors);
  const blobs = new Map<string, Uint8Array>();
  for (const name of names) {
    if (name === METADATA_KEY) throw new ArgumentError("tensors", `"${METADATA_KEY}" is reserved and cannot name a tensor`);
    blobs.set(name, encodeData(name, tensors[name]));
  }
  names.sort((a, b) => DTYPE_SIZE[tensors[b].dtype] - DTYPE_SIZE[tensors[a].dtype] || (a < b ? -1 : a > b ? 1 : 0));

  const parts: string[] = [];
  if (metadata !== undefined && (metadata === null || typeof metadata !== "object" || Object.keys(metadata).length > 0)) {
    if (metadata === null || typeof metadata !== "object") throw new ArgumentError("metadata", "must be an object of strings");
    const m: string[] = [];
    for (const k of Object.keys(metadata)) {
      if (typeof metadata[k] !== "string") {
        throw new ArgumentError(`metadata[${JSON.stringify(k)}]`, `must be a string, got ${typeof metadata[k]}`);
      }
      m.push(`${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`);
    }
    parts.push(`"${METADATA_KEY}":{${m.join(",")}}`);
  }
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    const len = blobs.get(name)!.length;
    parts.push(
      `${JSON.stringify(name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(",")}],"data_offsets":[${offset},${offset + len}]}`,
    );
    offset += len;
  }
  const json = new TextEncoder().encode(`{${parts.join(",")}}`);
  const headerLen = Math.ceil(json.length / 8) * 8;
  if (headerLen > WRITER_MAX_HEADER_BYTES) {
    throw new ArgumentError("tensors", `header would be ${headerLen} bytes, above the format's 100 MB cap`);
  }
  const out = new Uint8Array(8 + headerLen + offset);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, headerLen, true);
  dv.setUint32(4, 0, true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLen);
  let pos = 8 + headerLen;
  for (const name of names) {
    const b = blobs.get(name)!;
    out.set(b, pos);
    pos += b.length;
  }
  return out;
}
