// A folder of the user's PNG images as a Dataset (Node only: reads the file system). Files are taken in
// file-name order (code-unit order, independent of locale and file system); dot files and
// sub-directories are skipped; any other file that is not a PNG stops the load with an error naming it.
// Each image is converted to the model's channels, centre-cropped to the model's aspect ratio (or
// stretched, with fit: "stretch"), resized (area average down, bilinear up) and scaled to [-1, 1].

import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { readFileBytes } from "./files.ts";
// errors and decoders through the index, so thrown classes are the ones "edge-diffusion" exports
import { centerCrop, DatasetError, decodePngImage, resize, toChannels, validate, type Dataset } from "../index.ts";
import { DEFAULT_MAX_PIXELS } from "../data/png-decode.ts";

export interface PngFolderOptions {
  /** Model image size: a side length or [height, width]. */
  size: number | [number, number];
  /** Model channels: 1 (gray) or 3 (RGB). */
  channels: 1 | 3;
  /** "crop" (default): centre-crop to the aspect ratio, then resize; "stretch": resize the whole image. */
  fit?: "crop" | "stretch";
  /** Largest number of images (default 100,000). */
  maxFiles?: number;
  /** Largest PNG file, in bytes (default 64 MiB). */
  maxFileBytes?: number;
  /** Largest width x height of one PNG (default 4096 x 4096). */
  maxPixels?: number;
}

export function loadPngFolder(dir: string, opts: PngFolderOptions): Dataset {
  const [h, w] = typeof opts.size === "number" ? [opts.size, opts.size] : opts.size;
  validate.int("opts.size (height)", h, 1, 4096);
  validate.int("opts.size (width)", w, 1, 4096);
  const channels = opts.channels;
  if (channels !== 1 && channels !== 3) throw new DatasetError("bad_shape", `channels must be 1 or 3, got ${String(channels)}`);
  const maxFiles = opts.maxFiles ?? 100_000;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw new DatasetError("not_found", `cannot read the image folder (${(e as Error).message})`, dir);
  }
  names = names.filter((n) => !n.startsWith(".")).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const files = names.map((n) => join(dir, n)).filter((p) => statSync(p).isFile());
  if (files.length === 0) throw new DatasetError("empty", "the folder holds no PNG images", dir);
  if (files.length > maxFiles) throw new DatasetError("bad_file", `the folder holds ${files.length} files, above the limit of ${maxFiles}`, dir);
  const size = channels * h * w;
  const images = new Float32Array(files.length * size);
  files.forEach((file, i) => {
    let bytes: Uint8Array;
    try {
      bytes = readFileBytes(file, opts.maxFileBytes ?? 64 * 1024 * 1024);
    } catch (e) {
      throw new DatasetError("bad_file", (e as Error).message, file);
    }
    let img = toChannels(decodePngImage(bytes, file, opts.maxPixels ?? DEFAULT_MAX_PIXELS), channels);
    if ((opts.fit ?? "crop") === "crop") img = centerCrop(img, h, w);
    img = resize(img, h, w);
    const dst = images.subarray(i * size, (i + 1) * size);
    for (let k = 0; k < size; k++) dst[k] = Math.min(1, Math.max(-1, img.data[k] * 2 - 1));
  });
  return { images, shape: [files.length, channels, h, w] };
}
