// PNG folders (src/node/png-folder.ts, src/data/png-decode.ts, image-ops.ts) on PNGs encoded here with
// fast-png: file-name order, channel conversion, crop and resize, scaling to [-1, 1], and bad files.
// Pixel values are exact multiples of 1/255 (or 1/65535), so most comparisons allow only float32
// rounding (1e-6); resampling tests use inputs whose exact answer is known.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { encode } from "fast-png";
import { afterAll, describe, expect, it } from "vitest";
import { DatasetError } from "../../src/data/dataset.ts";
import { errorCodeOf } from "../support/errors.ts";
import { centerCrop, resize, toChannels } from "../../src/data/image-ops.ts";
import { decodePngImage } from "../../src/data/png-decode.ts";
import { loadPngFolder } from "../../src/node/png-folder.ts";

const root = mkdtempSync(join(tmpdir(), "edge-diffusion-png-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirCount = 0;
function folder(files: Record<string, Uint8Array | string>): string {
  const d = join(root, `d${dirCount++}`);
  mkdirSync(d);
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(d, name), bytes);
  return d;
}

const png = (width: number, height: number, channels: number, data: Uint8Array | Uint16Array, depth: 8 | 16 = 8) =>
  encode({ width, height, channels, data, depth });
const solid = (w: number, h: number, v: number) => png(w, h, 1, new Uint8Array(w * h).fill(v));
const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-6) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i]), `at ${i}`).toBeLessThanOrEqual(tol);
};

describe("PNG folder", () => {
  it("loads images in file-name order, scaled to [-1, 1], skipping dot files", () => {
    const d = folder({ "b.png": solid(4, 4, 255), "a.png": solid(4, 4, 0), "c10.png": solid(4, 4, 51), "c9.png": solid(4, 4, 204), ".DS_Store": "junk" });
    const ds = loadPngFolder(d, { size: 4, channels: 1 });
    expect(ds.shape).toEqual([4, 1, 4, 4]);
    expect(ds.labels).toBeUndefined();
    // a, b, c10, c9 (code-unit order: "1" < "9")
    close([0, 1, 2, 3].map((i) => ds.images[i * 16]), [-1, 1, 51 / 127.5 - 1, 204 / 127.5 - 1]);
  });

  it("converts channels: RGB to gray by Rec. 601 luma, gray to RGB by copying, alpha over black, 16-bit and palette", () => {
    const rgb = png(1, 1, 3, new Uint8Array([255, 0, 0]));
    const rgba = png(1, 1, 4, new Uint8Array([0, 0, 255, 51]));
    const g16 = png(1, 1, 1, new Uint16Array([65535]), 16);
    const pal = encode({ width: 2, height: 1, channels: 1, depth: 8, data: new Uint8Array([1, 0]), palette: [[0, 0, 0], [0, 255, 0]] });
    const bits = encode({ width: 3, height: 1, channels: 1, depth: 1, data: new Uint8Array([0b10100000]) });
    const d = folder({ "1.png": rgb, "2.png": rgba, "3.png": g16, "4.png": solid(1, 1, 102) });
    const gray = loadPngFolder(d, { size: 1, channels: 1 });
    close(gray.images, [0.299 * 2 - 1, 0.114 * 0.2 * 2 - 1, 1, 102 / 127.5 - 1]);
    const colour = loadPngFolder(d, { size: 1, channels: 3 });
    close(colour.images, [1, -1, -1, -1, -1, 0.2 * 2 - 1, 1, 1, 1, ...[0, 0, 0].map(() => 102 / 127.5 - 1)]);
    close(decodePngImage(pal).data, [0, 0, 1, 0, 0, 0]); // planar RGB of [green, black]
    close(decodePngImage(bits).data, [1, 0, 1]);
  });

  it("centre-crops to the model's aspect ratio, then resizes (area average down, bilinear up)", () => {
    // 6 x 2 image: columns 0,1 and 4,5 white, 2,3 black; a square crop keeps the centre columns 2,3
    const row = [255, 255, 0, 0, 255, 255];
    const d = folder({ "x.png": png(6, 2, 1, new Uint8Array([...row, ...row])) });
    close(loadPngFolder(d, { size: 1, channels: 1 }).images, [-1]);
    close(loadPngFolder(d, { size: 1, channels: 1, fit: "stretch" }).images, [(4 / 6) * 2 - 1]);
    // 2x2 blocks of a 56 x 56 image average back to the 28 x 28 image exactly
    const small = new Uint8Array(28 * 28).map((_, i) => (i * 37) % 256);
    const big = new Uint8Array(56 * 56).map((_, i) => small[Math.floor(Math.floor(i / 56) / 2) * 28 + Math.floor((i % 56) / 2)]);
    const ds = loadPngFolder(folder({ "big.png": png(56, 56, 1, big) }), { size: 28, channels: 1 });
    close(ds.images, Array.from(small, (v) => v / 127.5 - 1), 1e-5);
  });

  it("area resampling keeps constants and linear ramps exactly; bilinear upsampling interpolates between centres", () => {
    const ramp = (n: number) => ({ channels: 1, height: 1, width: n, data: new Float32Array(n).map((_, i) => (i + 0.5) / n) });
    const want = Array.from({ length: 28 }, (_, i) => (i + 0.5) / 28);
    // footprints of whole pixels (112 -> 28): the mean of a sampled ramp is its value at the centre
    close(resize(ramp(112), 1, 28).data, want, 1e-6);
    // fractional footprints (100 -> 28): the source is a staircase within 0.5/n of the ramp, so the
    // averages are too
    close(resize(ramp(100), 1, 28).data, want, 0.5 / 100);
    close(resize({ channels: 2, height: 30, width: 30, data: new Float32Array(1800).fill(0.25) }, 7, 11).data, new Array(154).fill(0.25));
    const up = resize({ channels: 1, height: 1, width: 2, data: new Float32Array([0, 1]) }, 1, 4).data;
    close(up, [0, 0.25, 0.75, 1]); // centres at -0.25, 0.25, 0.75, 1.25 in source pixels, edges held
    expect(centerCrop({ channels: 1, height: 3, width: 3, data: new Float32Array(9) }, 5, 5).width).toBe(3);
    expect(toChannels({ channels: 2, height: 1, width: 1, data: new Float32Array([1, 0.5]) }, 3).data).toEqual(new Float32Array([0.5, 0.5, 0.5]));
  });

  it("rejects a non-PNG file, naming it; and empty or missing folders", () => {
    const d = folder({ "a.png": solid(2, 2, 0), "notes.txt": "hello" });
    expect(() => loadPngFolder(d, { size: 2, channels: 1 })).toThrow(DatasetError);
    expect(() => loadPngFolder(d, { size: 2, channels: 1 })).toThrow(/notes\.txt: not a PNG image/);
    const jpg = folder({ "photo.png": new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]) }); // a JPEG named .png
    expect(() => loadPngFolder(jpg, { size: 2, channels: 1 })).toThrow(/photo\.png: not a PNG image/);
    expect(() => loadPngFolder(folder({}), { size: 2, channels: 1 })).toThrow(/no PNG images/);
    expect(() => loadPngFolder(join(root, "missing"), { size: 2, channels: 1 })).toThrow(/cannot read the image folder/);
    expect(() => loadPngFolder(d, { size: 2, channels: 2 as never })).toThrow(/channels must be 1 or 3/);
  });

  it("hostile PNGs: truncation at every offset, huge declared sizes, random edits: DatasetError and nothing else", () => {
    const ok = png(5, 4, 3, new Uint8Array(60).map((_, i) => i * 4));
    const codeOf = (b: Uint8Array) => errorCodeOf(() => decodePngImage(b, "f.png"), DatasetError);
    for (let len = 0; len < ok.length; len++) expect(codeOf(ok.subarray(0, len)), `cut at ${len}`).not.toBe("ok");
    // IHDR claiming 65535 x 65535: refused from the header, before fast-png allocates 12 GB
    const huge = ok.slice();
    new DataView(huge.buffer).setUint32(16, 65535);
    new DataView(huge.buffer).setUint32(20, 65535);
    expect(() => decodePngImage(huge, "huge.png")).toThrow(/65535 x 65535, above the limit/);
    // image data far larger than the header's 10 x 10: stopped while inflating (a decompression bomb)
    const bomb = solid(2000, 2000, 0);
    new DataView(bomb.buffer).setUint32(16, 10);
    new DataView(bomb.buffer).setUint32(20, 10);
    expect(() => decodePngImage(bomb, "bomb.png")).toThrow(/bomb\.png: PNG image data inflates past the 110 bytes its header allows/);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }), (edits) => {
        const b = ok.slice();
        for (const [at, v] of edits) b[8 + (at % (b.length - 8))] = v; // keep the signature, edit the rest
        codeOf(b);
      }),
      { seed: 13, numRuns: 1500 },
    );
  });
});
