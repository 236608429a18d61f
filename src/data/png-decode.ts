// PNG decoding for datasets, runtime-neutral, through fast-png, with a preflight for hostile files:
// fast-png allocates from the header's width and height and inflates the image data without a bound,
// so before calling it we walk the chunk structure (every length inside the file, IHDR first and valid,
// IDAT present, IEND last), cap width x height, and inflate the IDAT stream once with a cap at the size
// the header implies. Only then does fast-png decode.

import { decode } from "fast-png";
import { Unzlib } from "fflate";
import { DatasetError } from "./dataset.ts";
import type { PlanarImage } from "./image-ops.ts";

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Default cap on width x height: 4096 x 4096. */
export const DEFAULT_MAX_PIXELS = 4096 * 4096;
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };

export function hasPngSignature(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && SIGNATURE.every((b, i) => bytes[i] === b);
}

const bad = (file: string | undefined, msg: string) => new DatasetError("bad_file", msg, file);

/** Check a PNG's structure and sizes without trusting it; returns its header fields. */
export function pngPreflight(bytes: Uint8Array, file?: string, maxPixels = DEFAULT_MAX_PIXELS): { width: number; height: number; channels: number; depth: number } {
  if (!hasPngSignature(bytes)) throw bad(file, "not a PNG image (no PNG signature)");
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 8;
  let width = 0, height = 0, channels = 0, depth = 0, interlace = 0;
  const idat: Uint8Array[] = [];
  let sawEnd = false;
  for (let k = 0; !sawEnd; k++) {
    if (pos + 12 > bytes.length) throw bad(file, "truncated PNG: chunk header past the end of the file");
    const len = dv.getUint32(pos, false);
    const type = String.fromCharCode(bytes[pos + 4], bytes[pos + 5], bytes[pos + 6], bytes[pos + 7]);
    if (len > bytes.length - pos - 12) throw bad(file, `truncated PNG: chunk ${JSON.stringify(type)} of ${len} bytes runs past the end`);
    const body = bytes.subarray(pos + 8, pos + 8 + len);
    if (k === 0) {
      if (type !== "IHDR" || len !== 13) throw bad(file, "PNG does not start with a 13-byte IHDR chunk");
      width = dv.getUint32(pos + 8, false);
      height = dv.getUint32(pos + 12, false);
      depth = body[8];
      const colorType = body[9];
      interlace = body[12];
      if (width < 1 || height < 1 || width > 0x7fffffff || height > 0x7fffffff) throw bad(file, `PNG size ${width} x ${height} is invalid`);
      if (width * height > maxPixels) throw bad(file, `PNG is ${width} x ${height}, above the limit of ${maxPixels} pixels`);
      if (!(colorType in CHANNELS) || !DEPTHS[colorType].includes(depth)) throw bad(file, `PNG colour type ${colorType} with bit depth ${depth} is invalid`);
      if (body[10] !== 0 || body[11] !== 0 || interlace > 1) throw bad(file, "PNG uses an unknown compression, filter or interlace method");
      channels = CHANNELS[colorType];
    } else if (type === "IDAT") idat.push(body);
    else if (type === "IEND") sawEnd = true;
    pos += 12 + len;
  }
  if (idat.length === 0) throw bad(file, "PNG has no image data (IDAT)");
  // Raw size: one filter byte per row (per pass when interlaced, at most 7 passes' worth of rows).
  const rowBytes = Math.ceil((width * channels * depth) / 8);
  const cap = interlace ? 2 * (height + 8) * (rowBytes + 2) : height * (1 + rowBytes);
  let total = 0;
  const z = new Unzlib((chunk) => {
    total += chunk.length;
    if (total > cap) throw bad(file, `PNG image data inflates past the ${cap} bytes its header allows`);
  });
  try {
    for (let i = 0; i < idat.length; i++) {
      const d = idat[i];
      for (let o = 0; o < d.length; o += 4096) z.push(d.subarray(o, o + 4096), i === idat.length - 1 && o + 4096 >= d.length);
    }
  } catch (e) {
    if (e instanceof DatasetError) throw e;
    throw bad(file, `corrupt PNG image data (${e instanceof Error ? e.message : String(e)})`);
  }
  return { width, height, channels, depth };
}

/** Decode a PNG into a planar float image with values in [0, 1] (palette expanded, bits unpacked). */
export function decodePngImage(bytes: Uint8Array, file?: string, maxPixels = DEFAULT_MAX_PIXELS): PlanarImage {
  pngPreflight(bytes, file, maxPixels);
  let png: ReturnType<typeof decode>;
  try {
    png = decode(bytes);
  } catch (e) {
    throw bad(file, `cannot decode PNG (${e instanceof Error ? e.message : String(e)})`);
  }
  const { width: w, height: h } = png;
  let channels = png.channels;
  let depth: number = png.depth;
  let data: ArrayLike<number> = png.data;
  if (png.palette) {
    // Expand indices (packed at depth < 8) through the palette (RGB or RGBA entries).
    const pal = png.palette;
    const pc = pal[0]?.length ?? 3;
    const rowBytes = Math.ceil((w * depth) / 8);
    if (png.data.length < h * rowBytes) throw bad(file, `decoded PNG has ${png.data.length} bytes of indices, expected ${h * rowBytes}`);
    const out = new Uint8Array(w * h * pc);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const bit = x * depth;
        const byte = png.data[y * rowBytes + (bit >> 3)];
        const index = depth === 8 ? byte : (byte >> (8 - depth - (bit & 7))) & ((1 << depth) - 1);
        const entry = pal[index];
        if (entry === undefined) throw bad(file, `PNG palette index ${index} is out of range`);
        for (let c = 0; c < pc; c++) out[(y * w + x) * pc + c] = entry[c];
      }
    }
    data = out;
    channels = pc;
    depth = 8;
  }
  const hw = w * h;
  const planar = new Float32Array(channels * hw);
  const max = 2 ** depth - 1;
  if (depth < 8) {
    const rowBytes = Math.ceil((w * channels * depth) / 8);
    if (channels !== 1 || data.length < h * rowBytes) throw bad(file, `decoded PNG has ${data.length} bytes, expected ${h * rowBytes}`);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const bit = x * depth; // gray only at depth < 8: one channel
        const byte = data[y * rowBytes + (bit >> 3)];
        planar[y * w + x] = ((byte >> (8 - depth - (bit & 7))) & max) / max;
      }
    }
  } else {
    if (data.length !== hw * channels) throw bad(file, `decoded PNG has ${data.length} samples, expected ${hw * channels}`);
    for (let p = 0; p < hw; p++) for (let c = 0; c < channels; c++) planar[c * hw + p] = data[p * channels + c] / max;
  }
  return { channels, height: h, width: w, data: planar };
}
