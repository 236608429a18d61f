// IDX files (the MNIST / Fashion-MNIST container, LeCun et al.), optionally gzipped; runtime-neutral.
//
//   bytes 0-1  zero          byte 2  element type: 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64
//   byte 3     number of dimensions d      then d big-endian u32 sizes, then the elements, big-endian
//
// Hostile input: the header is checked (length, magic, type byte, 1 <= d <= 8, sizes) and the element
// count x size must equal the bytes that follow exactly, before anything is allocated. A .gz is inflated
// as a stream in 4 KB input slices with a cap on the output (deflate expands at most ~1032x, so the cap
// is overshot by at most ~4 MB before it is noticed); its trailer's declared size is checked first, and
// after inflating, the trailer's CRC-32 and size must match the output (fflate does not check them, so a
// gzip cut inside its trailer would otherwise pass).

import { Gunzip } from "fflate";
import { DatasetError, type Dataset } from "./dataset.ts";

const TYPES = {
  0x08: { name: "u8", size: 1 },
  0x09: { name: "i8", size: 1 },
  0x0b: { name: "i16", size: 2 },
  0x0c: { name: "i32", size: 4 },
  0x0d: { name: "f32", size: 4 },
  0x0e: { name: "f64", size: 8 },
} as const;

export type IdxType = (typeof TYPES)[keyof typeof TYPES]["name"];

export interface IdxArray {
  type: IdxType;
  shape: number[];
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

export interface IdxOptions {
  /** Largest decoded size accepted, in bytes (default 256 MiB; MNIST's training images are 47 MB). */
  maxBytes?: number;
  /** A name for messages, e.g. the file name. */
  name?: string;
}

export const IDX_MAX_DIMS = 8;
const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;
const GZIP_SLICE = 4096;

let crcTable: Int32Array | null = null;
/** CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) as used by gzip (RFC 1952). */
export function crc32(bytes: Uint8Array): number {
  if (crcTable === null) {
    crcTable = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c;
    }
  }
  let c = -1;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** Whether bytes start with the gzip magic. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Inflate a gzip stream, refusing output above maxBytes. */
export function gunzipBounded(bytes: Uint8Array, maxBytes = DEFAULT_MAX_BYTES, name?: string): Uint8Array {
  if (bytes.length < 18) throw new DatasetError("gzip", `gzip data of ${bytes.length} bytes is too short to be valid`, name);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = dv.getUint32(bytes.length - 4, true); // ISIZE: size mod 2^32, a hint only
  if (declared > maxBytes) {
    throw new DatasetError("idx_too_large", `gzip trailer declares ${declared} bytes uncompressed, above the limit of ${maxBytes} (too large, truncated or corrupt)`, name);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  let over = false;
  let members = 0;
  const g = new Gunzip((chunk) => {
    total += chunk.length;
    if (total > maxBytes) {
      over = true;
      throw new DatasetError("idx_too_large", `gzip data inflates past the limit of ${maxBytes} bytes`, name);
    }
    chunks.push(chunk);
  });
  g.onmember = () => void members++;
  try {
    for (let i = 0; i < bytes.length; i += GZIP_SLICE) {
      g.push(bytes.subarray(i, i + GZIP_SLICE), i + GZIP_SLICE >= bytes.length);
    }
  } catch (e) {
    if (e instanceof DatasetError) throw e;
    throw new DatasetError("gzip", `corrupt gzip data (${e instanceof Error ? e.message : String(e)})`, name);
  }
  if (over) throw new DatasetError("idx_too_large", `gzip data inflates past the limit of ${maxBytes} bytes`, name);
  const out = chunks.length === 1 ? chunks[0] : new Uint8Array(total);
  if (chunks.length !== 1) {
    let pos = 0;
    for (const c of chunks) {
      out.set(c, pos);
      pos += c.length;
    }
  }
  // Single-member streams (what gzip writes): the trailer must describe exactly this output.
  if (members === 0 && (declared !== total % 4294967296 || dv.getUint32(bytes.length - 8, true) !== crc32(out))) {
    throw new DatasetError("gzip", "gzip trailer (CRC-32 and size) does not match the data: truncated or corrupt", name);
  }
  return out;
}

/** Parse an IDX file (gzipped or not). The returned array is a copy in host byte order. */
export function readIdx(bytes: Uint8Array, opts: IdxOptions = {}): IdxArray {
  const name = opts.name;
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  if (!(bytes instanceof Uint8Array)) throw new DatasetError("bad_file", "IDX input must be a Uint8Array", name);
  if (isGzip(bytes)) bytes = gunzipBounded(bytes, maxBytes, name);
  if (bytes.length > maxBytes) throw new DatasetError("idx_too_large", `${bytes.length} bytes, above the limit of ${maxBytes}`, name);
  if (bytes.length < 4) throw new DatasetError("idx_too_short", `${bytes.length} bytes is too short for an IDX header`, name);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new DatasetError("idx_magic", `not an IDX file: it starts with ${bytes[0]}, ${bytes[1]} instead of 0, 0`, name);
  }
  const code = bytes[2] as keyof typeof TYPES;
  const type = TYPES[code];
  if (type === undefined) {
    throw new DatasetError("idx_dtype", `unknown IDX element type 0x${bytes[2].toString(16).padStart(2, "0")} (known: 08 u8, 09 i8, 0b i16, 0c i32, 0d f32, 0e f64)`, name);
  }
  const d = bytes[3];
  if (d < 1 || d > IDX_MAX_DIMS) throw new DatasetError("idx_dims", `${d} dimensions; expected 1 to ${IDX_MAX_DIMS}`, name);
  const headerLen = 4 + 4 * d;
  if (bytes.length < headerLen) {
    throw new DatasetError("idx_too_short", `${bytes.length} bytes cannot hold the header of ${d} dimensions (${headerLen} bytes)`, name);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  let need = type.size;
  for (let i = 0; i < d; i++) {
    const s = dv.getUint32(4 + 4 * i, false);
    shape.push(s);
    need *= s; // float64: exact up to 2^53, and anything near that is far above any real file
  }
  const have = bytes.length - headerLen;
  if (need !== have) {
    throw new DatasetError(
      "idx_size",
      `shape [${shape.join(", ")}] of ${type.name} needs ${Number.isSafeInteger(need) ? need : "more than 2^53"} bytes of data but the file has ${have}`,
      name,
    );
  }
  const count = need / type.size;
  const body = bytes.subarray(headerLen);
  let data: IdxArray["data"];
  switch (type.name) {
    case "u8":
      data = body.slice();
      break;
    case "i8":
      data = new Int8Array(body.slice().buffer);
      break;
    default: {
      const out =
        type.name === "i16" ? new Int16Array(count) : type.name === "i32" ? new Int32Array(count) : type.name === "f32" ? new Float32Array(count) : new Float64Array(count);
      const src = new DataView(body.buffer, body.byteOffset, body.byteLength);
      for (let i = 0; i < count; i++) {
        const o = i * type.size;
        out[i] =
          type.name === "i16" ? src.getInt16(o, false) : type.name === "i32" ? src.getInt32(o, false) : type.name === "f32" ? src.getFloat32(o, false) : src.getFloat64(o, false);
      }
      data = out;
    }
  }
  return { type: type.name, shape, data };
}

/**
 * Images and labels in IDX form as a Dataset: images u8 [N, H, W] (gray) or [N, H, W, C] (channels last,
 * as some exports do), scaled v / 127.5 - 1 into [-1, 1]; labels u8/i8/i32 [N], each in [0, numClasses).
 */
export function idxDataset(images: IdxArray, labels?: IdxArray, opts: { numClasses?: number; name?: string } = {}): Dataset {
  const name = opts.name;
  if (images.type !== "u8") throw new DatasetError("bad_shape", `images must be u8, got ${images.type}`, name);
  if (images.shape.length !== 3 && images.shape.length !== 4) {
    throw new DatasetError("bad_shape", `images must be [N, H, W] or [N, H, W, C], got [${images.shape.join(", ")}]`, name);
  }
  const [n, h, w] = images.shape;
  const c = images.shape.length === 4 ? images.shape[3] : 1;
  if (n < 1 || h < 1 || w < 1 || c < 1 || c > 4) {
    throw new DatasetError(n < 1 ? "empty" : "bad_shape", `images shape [${images.shape.join(", ")}] is not usable`, name);
  }
  const out = new Float32Array(n * c * h * w);
  const src = images.data as Uint8Array;
  const hw = h * w;
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < hw; p++) {
      for (let ch = 0; ch < c; ch++) out[(i * c + ch) * hw + p] = src[(i * hw + p) * c + ch] / 127.5 - 1;
    }
  }
  const ds: Dataset = { images: out, shape: [n, c, h, w] };
  if (labels !== undefined) {
    if (labels.shape.length !== 1 || labels.shape[0] !== n) {
      throw new DatasetError("bad_shape", `labels must be [${n}] to match the images, got [${labels.shape.join(", ")}]`, name);
    }
    if (labels.type === "f32" || labels.type === "f64") throw new DatasetError("bad_label", `labels must be integers, got ${labels.type}`, name);
    const lab = Int32Array.from(labels.data as ArrayLike<number>);
    let max = 0;
    for (let i = 0; i < n; i++) {
      if (lab[i] < 0) throw new DatasetError("bad_label", `label ${lab[i]} at ${i} is negative`, name);
      if (lab[i] > max) max = lab[i];
    }
    const k = opts.numClasses ?? max + 1;
    if (max >= k) throw new DatasetError("bad_label", `label ${max} is outside [0, ${k})`, name);
    ds.labels = lab;
    ds.numClasses = k;
  }
  return ds;
}
