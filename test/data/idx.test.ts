// IDX reader (src/data/idx.ts) on files generated here: every element type, gzip, and malformed files
// (each with its own error code), truncation at every offset, random bytes and a gzip bomb.

import fc from "fast-check";
import { gzipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { DatasetError } from "../../src/data/dataset.ts";
import { gunzipBounded, idxDataset, readIdx } from "../../src/data/idx.ts";
import { errorCodeOf } from "../support/errors.ts";

const TYPE_CODE = { u8: 0x08, i8: 0x09, i16: 0x0b, i32: 0x0c, f32: 0x0d, f64: 0x0e } as const;
const SIZE = { u8: 1, i8: 1, i16: 2, i32: 4, f32: 4, f64: 8 } as const;

/** Build an IDX file (big-endian), as the MNIST distribution files are laid out. */
function idx(type: keyof typeof TYPE_CODE, shape: number[], values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(4 + 4 * shape.length + values.length * SIZE[type]);
  const dv = new DataView(out.buffer);
  out[2] = TYPE_CODE[type];
  out[3] = shape.length;
  shape.forEach((s, i) => dv.setUint32(4 + 4 * i, s, false));
  const o = 4 + 4 * shape.length;
  for (let i = 0; i < values.length; i++) {
    const at = o + i * SIZE[type];
    const v = values[i];
    if (type === "u8") dv.setUint8(at, v);
    else if (type === "i8") dv.setInt8(at, v);
    else if (type === "i16") dv.setInt16(at, v, false);
    else if (type === "i32") dv.setInt32(at, v, false);
    else if (type === "f32") dv.setFloat32(at, v, false);
    else dv.setFloat64(at, v, false);
  }
  return out;
}

const codeOf = (f: () => unknown) => errorCodeOf(f, DatasetError);

describe("IDX reader", () => {
  it("reads every element type, big-endian, plain and gzipped (property)", () => {
    const typeArb = fc.constantFrom(...(Object.keys(TYPE_CODE) as (keyof typeof TYPE_CODE)[]));
    const valueArb = (t: keyof typeof TYPE_CODE) =>
      t === "u8" ? fc.integer({ min: 0, max: 255 }) : t === "i8" ? fc.integer({ min: -128, max: 127 }) : t === "i16" ? fc.integer({ min: -32768, max: 32767 })
        : t === "i32" ? fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) : t === "f32" ? fc.float({ noNaN: true }) : fc.double({ noNaN: true });
    fc.assert(
      fc.property(
        typeArb.chain((t) =>
          fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }).chain((shape) =>
            fc.tuple(fc.constant(t), fc.constant(shape), fc.array(valueArb(t), { minLength: shape.reduce((a, b) => a * b, 1), maxLength: shape.reduce((a, b) => a * b, 1) })),
          ),
        ),
        fc.boolean(),
        ([type, shape, values], gz) => {
          let bytes = idx(type, shape, values);
          if (gz) bytes = gzipSync(bytes);
          const r = readIdx(bytes);
          expect(r.type).toBe(type);
          expect(r.shape).toEqual(shape);
          expect([...r.data].map((v) => v + 0)).toEqual(values.map((v) => (type === "f32" ? Math.fround(v) : v) + 0)); // +0: -0 == 0
        },
      ),
      { seed: 9, numRuns: 200 },
    );
  });

  it("builds a Dataset in [-1, 1] from u8 images and labels, [N, H, W] and channels-last [N, H, W, C]", () => {
    const ds = idxDataset(readIdx(idx("u8", [2, 1, 2], [0, 255, 51, 204])), readIdx(idx("u8", [2], [3, 9])), { numClasses: 10 });
    expect(ds.shape).toEqual([2, 1, 1, 2]);
    expect([...ds.images]).toEqual([-1, 1, 51 / 127.5 - 1, 204 / 127.5 - 1].map(Math.fround));
    expect([...ds.labels!]).toEqual([3, 9]);
    expect(ds.numClasses).toBe(10);
    const rgb = idxDataset(readIdx(idx("u8", [1, 1, 2, 3], [0, 10, 20, 30, 40, 50])));
    expect(rgb.shape).toEqual([1, 3, 1, 2]);
    expect([...rgb.images].map((v) => Math.round((v + 1) * 127.5))).toEqual([0, 30, 10, 40, 20, 50]); // planar
    expect(codeOf(() => idxDataset(readIdx(idx("u8", [2, 1, 1], [0, 0])), readIdx(idx("u8", [3], [0, 0, 0]))))).toBe("bad_shape");
    expect(codeOf(() => idxDataset(readIdx(idx("u8", [1, 1, 1], [0])), readIdx(idx("u8", [1], [10])), { numClasses: 10 }))).toBe("bad_label");
    expect(codeOf(() => idxDataset(readIdx(idx("u8", [1, 1, 1], [0])), readIdx(idx("i8", [1], [-1]))))).toBe("bad_label");
    expect(codeOf(() => idxDataset(readIdx(idx("f32", [1, 1, 1], [0]))))).toBe("bad_shape");
    expect(codeOf(() => idxDataset(readIdx(idx("u8", [0, 28, 28], []))))).toBe("empty");
  });

  it("rejects each malformation with its own code and a message naming the file", () => {
    const ok = idx("u8", [2, 3], [1, 2, 3, 4, 5, 6]);
    const edit = (i: number, v: number) => {
      const b = ok.slice();
      b[i] = v;
      return b;
    };
    const cases: [Uint8Array, string][] = [
      [new Uint8Array([0, 0, 8]), "idx_too_short"],
      [edit(0, 1), "idx_magic"],
      [edit(1, 8), "idx_magic"],
      [edit(2, 0x0a), "idx_dtype"],
      [edit(2, 0xff), "idx_dtype"],
      [edit(3, 0), "idx_dims"],
      [edit(3, 9), "idx_dims"],
      [edit(3, 5), "idx_too_short"], // 5 dims need 24 header bytes, the file has 18
      [edit(3, 3), "idx_size"], // [2, 3, 0x01020304] does not match the 2 bytes left
      [edit(7, 3), "idx_size"], // [3, 3] needs 9 bytes, 6 present
      [new Uint8Array([...ok, 0]), "idx_size"], // trailing byte
      [idx("u8", [0xffffffff, 0xffffffff, 0xffffffff], []), "idx_size"], // 2^96 elements: refused, nothing allocated
      [idx("f64", [2], [1]), "idx_size"],
      [gzipSync(ok).subarray(0, 20), "idx_too_large"], // the "trailer" is now deflate bytes declaring a huge size
      [gzipSync(ok).subarray(0, gzipSync(ok).length - 1), "gzip"], // cut inside the trailer: CRC/size check
      [new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6, 7, 0, 0, 0]), "gzip"],
      [ok, "ok"],
    ];
    for (const [b, code] of cases) expect(codeOf(() => readIdx(b, { name: "train-images-idx3-ubyte" })), `${[...b.subarray(0, 8)]}`).toBe(code);
    expect(() => readIdx(edit(2, 0x0a), { name: "x.idx" })).toThrow(/^x\.idx: unknown IDX element type 0x0a/);
  });

  it("a file cut at every offset, plain or gzipped, and random bytes are refused with DatasetError", () => {
    const ok = idx("i16", [3, 5], Array.from({ length: 15 }, (_, i) => i * 1000 - 7000));
    for (let len = 0; len < ok.length; len++) expect(codeOf(() => readIdx(ok.subarray(0, len)))).not.toBe("ok");
    const gz = gzipSync(ok);
    for (let len = 0; len < gz.length; len++) expect(codeOf(() => readIdx(gz.subarray(0, len)))).not.toBe("ok");
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => void codeOf(() => readIdx(b))), { seed: 10, numRuns: 2000 });
    // random bytes behind a valid-looking header and behind the gzip magic
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => void codeOf(() => readIdx(new Uint8Array([0, 0, 8, 2, ...b])))), { seed: 11, numRuns: 1000 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => void codeOf(() => readIdx(new Uint8Array([0x1f, 0x8b, 8, 0, ...b])))), { seed: 12, numRuns: 1000 });
  });

  it("a gzip bomb is stopped at the output cap, whether or not its trailer tells the truth", () => {
    const zeros = idx("u8", [64, 1024, 1024], new Uint8Array(0)); // header only...
    const bomb = new Uint8Array(zeros.length + 64 * 1024 * 1024);
    bomb.set(zeros);
    const gz = gzipSync(bomb); // 64 MiB of zeros in about 65 KB
    expect(gz.length).toBeLessThan(200_000);
    expect(codeOf(() => readIdx(gz, { maxBytes: 1 << 20 }))).toBe("idx_too_large"); // trailer says 64 MiB
    const lying = gz.slice();
    lying.fill(0, lying.length - 4); // trailer claims 0 bytes: the stream cap still stops it
    const t0 = performance.now();
    expect(codeOf(() => gunzipBounded(lying, 1 << 20))).toBe("idx_too_large");
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(readIdx(gz).shape).toEqual([64, 1024, 1024]); // under the default cap it reads
  });
});
