// Safetensors reader and writer (src/io/safetensors.ts): the byte layout against a file built by hand
// from the format description, property-based round trips, and hostile inputs. A hostile input must end
// in a SafetensorsError (never another exception, a crash or a hang), and each malformation in the
// format's list must be reported with its own code. Fuzz runs are seeded, so a failure reproduces.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { float32ToHalf } from "../../src/io/half.ts";
import {
  DTYPES,
  type Dtype,
  readSafetensors,
  SafetensorsError,
  type SafetensorsErrorCode,
  type TensorData,
  type TensorInput,
  toFloat32,
  writeSafetensors,
} from "../../src/io/safetensors.ts";
import { ArgumentError } from "../../src/validate.ts";
import { errorCodeOf } from "../support/errors.ts";

const FC = { seed: 1126, numRuns: 200 };
const enc = new TextEncoder();

/** A file from a raw header string (not padded) and a data buffer. */
function file(header: string | Uint8Array, data: Uint8Array | number = 0, n?: number | bigint): Uint8Array {
  const h = typeof header === "string" ? enc.encode(header) : header;
  const d = typeof data === "number" ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + h.length + d.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(n ?? h.length), true);
  out.set(h, 8);
  out.set(d, 8 + h.length);
  return out;
}

const codeOf = (f: () => unknown) => errorCodeOf(f, SafetensorsError);

const read = (b: Uint8Array, opts?: Parameters<typeof readSafetensors>[1]) => () => readSafetensors(b, opts);

describe("safetensors layout", () => {
  it("writes exactly the bytes the format prescribes (u64 LE length, space-padded JSON, data in offset order)", () => {
    const bytes = writeSafetensors(
      {
        b: { dtype: "F32", shape: [2], data: new Float32Array([1, -2]) },
        a: { dtype: "U8", shape: [3], data: new Uint8Array([7, 8, 9]) },
        c: { dtype: "F16", shape: [], data: new Float32Array([1]) },
      },
      { k: "v" },
    );
    const json =
      '{"__metadata__":{"k":"v"},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
      '"c":{"dtype":"F16","shape":[],"data_offsets":[8,10]},"a":{"dtype":"U8","shape":[3],"data_offsets":[10,13]}}';
    const padded = json + " ".repeat((8 - (json.length % 8)) % 8);
    const want = new Uint8Array([
      ...[padded.length, 0, 0, 0, 0, 0, 0, 0],
      ...enc.encode(padded),
      ...[0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0], // 1.0f, -2.0f little-endian
      ...[0x00, 0x3c], // half 1.0
      ...[7, 8, 9],
    ]);
    expect(padded.length % 8).toBe(0);
    expect([...bytes]).toEqual([...want]);
    const back = readSafetensors(want);
    expect(back.metadata).toEqual({ k: "v" });
    expect([...(back.tensors.b.data as Float32Array)]).toEqual([1, -2]);
    expect(back.tensors.c.shape).toEqual([]);
    expect(toFloat32(back.tensors.c)[0]).toBe(1);
  });

  it("reads a hand-made file with unaligned offsets, an empty tensor and unpadded header", () => {
    const f32 = new Uint8Array(new Float32Array([3.5, -0.25]).buffer);
    const data = new Uint8Array([5, ...f32]);
    const bytes = file(
      '{"u":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"f":{"dtype":"F32","shape":[1,2],"data_offsets":[1,9]},' +
        '"e":{"dtype":"F64","shape":[0,3],"data_offsets":[9,9]}}',
      data,
    );
    const { tensors, metadata } = readSafetensors(bytes);
    expect(metadata).toEqual({});
    expect([...(tensors.f.data as Float32Array)]).toEqual([3.5, -0.25]);
    expect(tensors.f.shape).toEqual([1, 2]);
    expect(tensors.e.data.length).toBe(0);
    expect(tensors.u.data[0]).toBe(5);
    // the result does not alias the input
    bytes.fill(0);
    expect(tensors.f.data[0]).toBe(3.5);
  });

  it("reads an empty file ({} header, no data) and names like __proto__ without touching prototypes", () => {
    expect(readSafetensors(file("{}"))).toEqual({ tensors: {}, metadata: {} });
    const bytes = writeSafetensors({ __proto__: { dtype: "I8", shape: [1], data: new Int8Array([-3]) } } as never);
    // an object literal's __proto__ key sets the prototype; build the name explicitly instead
    const t: Record<string, TensorInput> = {};
    Object.defineProperty(t, "__proto__", { value: { dtype: "I8", shape: [1], data: new Int8Array([-3]) }, enumerable: true });
    const back = readSafetensors(writeSafetensors(t));
    expect(Object.keys(back.tensors)).toEqual(["__proto__"]);
    expect(back.tensors["__proto__"].data[0]).toBe(-3);
    expect(bytes.length).toBeGreaterThanOrEqual(8);
  });

  it("lays tensors out so each starts at a multiple of its element size in the file", () => {
    const bytes = writeSafetensors({
      a: { dtype: "U8", shape: [3], data: new Uint8Array(3) },
      b: { dtype: "F64", shape: [1], data: new Float64Array(1) },
      c: { dtype: "F16", shape: [3], data: new Uint16Array(3) },
      d: { dtype: "F32", shape: [5], data: new Float32Array(5) },
    });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    for (const [name, size] of [["a", 1], ["b", 8], ["c", 2], ["d", 4]] as const) {
      expect((8 + n + header[name].data_offsets[0]) % size).toBe(0);
    }
  });
});

// ---- round trips -------------------------------------------------------------------------------------

const nameArb = fc.oneof(
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.string({ unit: fc.constantFrom("a", ".", "\ud800", "\udfff", '"', "\\", "\u0000", "é", "😀", " ", "\u2028"), maxLength: 8 }),
).filter((s) => s !== "__metadata__");

function dataArb(dtype: Dtype, count: number): fc.Arbitrary<TensorData> {
  const ints = (min: number, max: number) => fc.array(fc.integer({ min, max }), { minLength: count, maxLength: count });
  switch (dtype) {
    case "F32":
    case "F16":
    case "BF16":
      return fc.array(fc.float({ noDefaultInfinity: false }), { minLength: count, maxLength: count }).map((a) => new Float32Array(a));
    case "F64":
      return fc.array(fc.double(), { minLength: count, maxLength: count }).map((a) => new Float64Array(a));
    case "BOOL":
      return ints(0, 1).map((a) => new Uint8Array(a));
    case "U8":
    case "F8_E4M3":
    case "F8_E5M2":
      return ints(0, 255).map((a) => new Uint8Array(a));
    case "I8":
      return ints(-128, 127).map((a) => new Int8Array(a));
    case "I16":
      return ints(-32768, 32767).map((a) => new Int16Array(a));
    case "U16":
      return ints(0, 65535).map((a) => new Uint16Array(a));
    case "I32":
      return ints(-(2 ** 31), 2 ** 31 - 1).map((a) => new Int32Array(a));
    case "U32":
      return ints(0, 2 ** 32 - 1).map((a) => new Uint32Array(a));
    case "I64":
      return fc.array(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), { minLength: count, maxLength: count }).map((a) => new BigInt64Array(a));
    case "U64":
      return fc.array(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), { minLength: count, maxLength: count }).map((a) => new BigUint64Array(a));
  }
}

const tensorArb: fc.Arbitrary<TensorInput> = fc
  .tuple(fc.constantFrom(...DTYPES), fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 }))
  .chain(([dtype, shape]) =>
    dataArb(dtype, shape.reduce((a, b) => a * b, 1)).map((data) => ({ dtype, shape, data })),
  );

const bytesOf = (d: TensorData) => new Uint8Array(d.buffer, d.byteOffset, d.byteLength);

describe("safetensors round trips", () => {
  it("write then read gives back every tensor (dtype, shape, bytes) and the metadata, for any names", () => {
    fc.assert(
      fc.property(
        fc.dictionary(nameArb, tensorArb, { maxKeys: 6 }),
        fc.option(fc.dictionary(nameArb, fc.string({ unit: "binary", maxLength: 20 }), { maxKeys: 4 }), { nil: undefined }),
        (tensors, metadata) => {
          const bytes = writeSafetensors(tensors, metadata);
          const back = readSafetensors(bytes);
          expect(Object.keys(back.tensors).sort()).toEqual(Object.keys(tensors).sort());
          expect(back.metadata).toEqual(metadata ?? {});
          for (const [name, t] of Object.entries(tensors)) {
            const r = back.tensors[name];
            expect(r.dtype).toBe(t.dtype);
            expect(r.shape).toEqual(t.shape);
            const want = t.dtype === "F16" ? float32ToHalf(t.data as Float32Array) : t.dtype === "BF16" ? null : t.data;
            if (want) expect(bytesOf(r.data)).toEqual(bytesOf(want));
            else expect(r.data.length).toBe(t.data.length);
          }
          // writing what was read reproduces the file byte for byte
          expect(writeSafetensors(back.tensors, back.metadata)).toEqual(bytes);
        },
      ),
      FC,
    );
  });

  it("F16 stores float32 to within half a half-ulp (relative 2^-11 for normal halves); toFloat32 converts every numeric dtype", () => {
    const x = new Float32Array([0.1, -3.14159, 1e-6, 60000, 1 / 3]);
    const back = toFloat32(readSafetensors(writeSafetensors({ x: { dtype: "F16", shape: [5], data: x } })).tensors.x);
    for (let i = 0; i < x.length; i++) {
      const tol = Math.abs(x[i]) >= 2 ** -14 ? Math.abs(x[i]) * 2 ** -11 : 2 ** -25; // round-to-nearest bound
      expect(Math.abs(back[i] - x[i])).toBeLessThanOrEqual(tol);
    }
    const t = readSafetensors(
      writeSafetensors({
        a: { dtype: "I64", shape: [2], data: new BigInt64Array([-5n, 7n]) },
        b: { dtype: "BF16", shape: [1], data: new Float32Array([1.5]) },
        c: { dtype: "F64", shape: [1], data: new Float64Array([0.1]) },
        d: { dtype: "BOOL", shape: [2], data: new Uint8Array([1, 0]) },
        e: { dtype: "F8_E4M3", shape: [1], data: new Uint8Array([1]) },
      }),
    ).tensors;
    expect([...toFloat32(t.a)]).toEqual([-5, 7]);
    expect([...toFloat32(t.b)]).toEqual([1.5]);
    expect([...toFloat32(t.c)]).toEqual([Math.fround(0.1)]);
    expect([...toFloat32(t.d)]).toEqual([1, 0]);
    expect(codeOf(() => toFloat32(t.e, "e"))).toBe("unsupported_dtype");
  });

  it("the writer rejects bad arguments with ArgumentError naming them", () => {
    const bad: [Record<string, TensorInput>, RegExp][] = [
      [{ a: { dtype: "F32", shape: [3], data: new Float32Array(2) } }, /tensors\["a"\]\.data.*2 elements.*3/],
      [{ a: { dtype: "F32", shape: [-1], data: new Float32Array(0) } }, /shape\[0\]/],
      [{ a: { dtype: "F32", shape: [1], data: new Float64Array(1) } }, /F32 needs a Float32Array, got Float64Array/],
      [{ a: { dtype: "X" as Dtype, shape: [1], data: new Float32Array(1) } }, /dtype/],
      [{ a: { dtype: "BOOL", shape: [1], data: new Uint8Array([2]) } }, /BOOL element 0/],
      [{ __metadata__: { dtype: "F32", shape: [1], data: new Float32Array(1) } }, /reserved/],
    ];
    for (const [t, msg] of bad) {
      expect(() => writeSafetensors(t)).toThrow(ArgumentError);
      expect(() => writeSafetensors(t)).toThrow(msg);
    }
    expect(() => writeSafetensors({}, { k: 1 as unknown as string })).toThrow(/metadata\["k"\]/);
  });
});

// ---- hostile inputs ----------------------------------------------------------------------------------

const VALID = writeSafetensors(
  {
    "down.0.weight": { dtype: "F32", shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
    "ema.down.0.weight": { dtype: "F16", shape: [2, 3], data: new Float32Array(6).fill(0.5) },
    flags: { dtype: "BOOL", shape: [2], data: new Uint8Array([0, 1]) },
    step: { dtype: "I64", shape: [], data: new BigInt64Array([42n]) },
  },
  { config: '{"channels":[32,64]}', "é": "ünïcode" },
);

const entry = (dtype: string, shape: unknown, offsets: unknown) =>
  `{"dtype":${JSON.stringify(dtype)},"shape":${JSON.stringify(shape)},"data_offsets":${JSON.stringify(offsets)}}`;

describe("safetensors hostile inputs", () => {
  it("the valid sample reads", () => {
    expect(Object.keys(readSafetensors(VALID).tensors).length).toBe(4);
  });

  it("a valid file cut at every offset is rejected with a SafetensorsError", () => {
    const codes = new Set<string>();
    for (let len = 0; len < VALID.length; len++) {
      const c = codeOf(read(VALID.subarray(0, len)));
      expect(c, `cut at ${len}`).not.toBe("ok");
      codes.add(c);
    }
    expect([...codes].sort()).toEqual(["header_past_end", "offsets_out_of_range", "too_short"]);
  });

  it("random bytes, random bytes behind a plausible length, and random byte edits of a valid file never escape as anything but SafetensorsError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        codeOf(read(b));
      }),
      { seed: 1, numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), (b, k) => {
        const bytes = new Uint8Array(8 + b.length);
        bytes.set(b, 8);
        new DataView(bytes.buffer).setUint32(0, b.length === 0 ? 0 : k % (b.length + 1), true);
        codeOf(read(bytes));
      }),
      { seed: 2, numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (edits) => {
        const b = VALID.slice();
        for (const [at, v] of edits) b[at % b.length] = v;
        codeOf(read(b));
      }),
      { seed: 3, numRuns: 3000 },
    );
  });

  it("arbitrary JSON as a header (any values in the entries and metadata) is accepted only when valid", () => {
    const anyJson = fc.jsonValue({ maxDepth: 4 });
    const entryArb = fc.oneof(
      anyJson,
      fc.record({ dtype: fc.oneof(fc.constantFrom(...DTYPES), anyJson), shape: fc.oneof(fc.array(fc.oneof(fc.nat(10), anyJson), { maxLength: 3 }), anyJson), data_offsets: fc.oneof(fc.tuple(fc.nat(64), fc.nat(64)), anyJson) }),
    );
    fc.assert(
      fc.property(fc.dictionary(fc.oneof(fc.constant("__metadata__"), fc.string({ maxLength: 4 })), entryArb, { maxKeys: 4 }), fc.nat(64), (h, dataLen) => {
        codeOf(read(file(JSON.stringify(h), dataLen)));
      }),
      { seed: 4, numRuns: 3000 },
    );
  });

  it("length field: too short, absurdly large, past the end, above a custom cap", () => {
    for (let len = 0; len < 8; len++) expect(codeOf(read(new Uint8Array(len)))).toBe("too_short");
    expect(codeOf(read(file("{}", 0, 2n ** 64n - 1n)))).toBe("header_too_large");
    expect(codeOf(read(file("{}", 0, 2n ** 53n + 1n)))).toBe("header_too_large");
    expect(codeOf(read(file("{}", 0, 16 * 1024 * 1024 + 1)))).toBe("header_too_large");
    expect(codeOf(read(file("{}", 0, 1000)))).toBe("header_past_end");
    expect(codeOf(read(file("{}", 0, 3)))).toBe("header_past_end");
    expect(codeOf(read(file("{}  "), { maxHeaderBytes: 3 }))).toBe("header_too_large");
    expect(codeOf(read(file("{}  "), { maxHeaderBytes: 4 }))).toBe("ok");
    expect(() => readSafetensors(new Uint8Array(8), { maxHeaderBytes: -1 })).toThrow(ArgumentError);
  });

  it("a huge header (17 MiB, above the default 16 MiB cap) is refused before decoding", () => {
    const h = new Uint8Array(17 * 1024 * 1024).fill(0x20);
    h[0] = 0x7b;
    h[h.length - 1] = 0x7d;
    const bytes = file(h);
    const t0 = performance.now();
    expect(codeOf(read(bytes))).toBe("header_too_large");
    expect(performance.now() - t0).toBeLessThan(50); // refused from the length alone: nothing decoded
    expect(codeOf(read(file(h), { maxHeaderBytes: 32 * 1024 * 1024 }))).toBe("ok");
  });

  it("header text: invalid UTF-8, not starting with '{', JSON syntax errors", () => {
    expect(codeOf(read(file(new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]))))).toBe("header_utf8");
    expect(codeOf(read(file(new Uint8Array([0x7b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]))))).toBe("header_utf8"); // encoded surrogate
    expect(codeOf(read(file(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]))))).toBe("header_start"); // BOM
    for (const h of [" {}", "[]", "1", '"x"', "", "null"]) expect(codeOf(read(file(h))), h).toBe("header_start");
    for (const h of ["{", '{"a":', "{}}", "{,}", '{"a":1,}', "{'a':1}", '{"a":NaN}', '{"a":01}', '{"a":"\\x"}', '{"a":"\u0001"}', "{}x", '{"a" 1}'])
      expect(codeOf(read(file(h))), h).toBe("header_json");
  });

  it("duplicate keys, at any level and however they are spelled, are rejected (JSON.parse would keep the last)", () => {
    const t = entry("U8", [1], [0, 1]);
    expect(codeOf(read(file(`{"a":${t},"a":${t}}`, 1)))).toBe("duplicate_key");
    expect(codeOf(read(file(`{"a":${t},"\\u0061":${t}}`, 1)))).toBe("duplicate_key");
    expect(codeOf(read(file(`{"a":{"dtype":"U8","dtype":"F32","shape":[1],"data_offsets":[0,1]}}`, 1)))).toBe("duplicate_key");
    expect(codeOf(read(file(`{"__metadata__":{"k":"1","k":"2"}}`)))).toBe("duplicate_key");
    expect(codeOf(read(file(`{"__metadata__":{},"__metadata__":{}}`)))).toBe("duplicate_key");
    expect(codeOf(read(file(`{"a":${t},"b":${entry("U8", [0], [1, 1])}}`, 1)))).toBe("ok"); // distinct keys are fine
  });

  it("deeply nested JSON is refused without recursing into it (no stack overflow)", () => {
    for (const depth of [9, 1000, 1_000_000]) {
      expect(codeOf(read(file(`{"a":${"[".repeat(depth)}`)))).toBe("json_too_deep");
      expect(codeOf(read(file(`{"__metadata__":${'{"x":'.repeat(depth)}`)))).toBe("json_too_deep");
    }
  });

  it("schema: entries, dtypes, shapes, offsets, metadata", () => {
    const cases: [string, number, SafetensorsErrorCode | "ok"][] = [
      ['{"a":1}', 0, "tensor_info"],
      ['{"a":[]}', 0, "tensor_info"],
      ['{"a":{"shape":[1],"data_offsets":[0,4]}}', 4, "tensor_info"],
      ['{"a":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}', 4, "tensor_info"],
      [`{"a":${entry("F32", 1, [0, 4])}}`, 4, "tensor_info"],
      [`{"a":${entry("F32", [1], [0, 4, 8])}}`, 4, "tensor_info"],
      [`{"a":${entry("F32", [1], "0,4")}}`, 4, "tensor_info"],
      [`{"a":${entry("F128", [1], [0, 16])}}`, 16, "unknown_dtype"],
      [`{"a":${entry("f32", [1], [0, 4])}}`, 4, "unknown_dtype"],
      [`{"a":${entry("", [1], [0, 4])}}`, 4, "unknown_dtype"],
      [`{"a":${entry("__proto__", [1], [0, 4])}}`, 4, "unknown_dtype"],
      [`{"a":${entry("F32", [-1], [0, 4])}}`, 4, "bad_shape"],
      [`{"a":${entry("F32", [1.5], [0, 4])}}`, 4, "bad_shape"],
      [`{"a":${entry("F32", ["1"], [0, 4])}}`, 4, "bad_shape"],
      [`{"a":${entry("F32", [null], [0, 4])}}`, 4, "bad_shape"],
      [`{"a":{"dtype":"F32","shape":[9007199254740993],"data_offsets":[0,4]}}`, 4, "bad_shape"],
      [`{"a":${entry("F32", [1], [-4, 0])}}`, 4, "bad_offsets"],
      [`{"a":${entry("F32", [1], [4, 0])}}`, 4, "bad_offsets"],
      [`{"a":${entry("F32", [1], [0, 4.5])}}`, 4, "bad_offsets"],
      [`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,18446744073709551616]}}`, 4, "bad_offsets"],
      [`{"a":${entry("F32", [2, 2], [0, 12])}}`, 12, "size_mismatch"],
      [`{"a":${entry("F32", [], [0, 0])}}`, 0, "size_mismatch"],
      [`{"a":${entry("F16", [3], [0, 4])}}`, 4, "size_mismatch"],
      // a shape whose element count overflows: caught from the span alone, nothing allocated
      [`{"a":${entry("F64", [2 ** 30, 2 ** 30, 2 ** 30], [0, 8])}}`, 8, "size_mismatch"],
      [`{"a":${entry("F32", [1], [0, 4])}}`, 3, "offsets_out_of_range"],
      [`{"a":${entry("F32", [1], [4, 8])}}`, 4, "offsets_out_of_range"],
      [`{"a":${entry("F32", [1], [0, 4])},"b":${entry("F32", [1], [2, 6])}}`, 6, "offsets_overlap"],
      [`{"a":${entry("F32", [1], [0, 4])},"b":${entry("F32", [1], [0, 4])}}`, 4, "offsets_overlap"],
      [`{"a":${entry("F32", [1], [4, 8])}}`, 8, "offsets_gap"],
      [`{"a":${entry("F32", [1], [0, 4])},"b":${entry("F32", [1], [6, 10])}}`, 10, "offsets_gap"],
      [`{"a":${entry("F32", [1], [0, 4])}}`, 5, "buffer_size"],
      ["{}", 1, "buffer_size"],
      ['{"__metadata__":[]}', 0, "metadata"],
      ['{"__metadata__":null}', 0, "metadata"],
      ['{"__metadata__":"x"}', 0, "metadata"],
      ['{"__metadata__":{"k":1}}', 0, "metadata"],
      ['{"__metadata__":{"k":{"nested":"x"}}}', 0, "metadata"],
      [`{"a":${entry("BOOL", [2], [0, 2])}}`, 2, "ok"],
    ];
    for (const [h, dataLen, code] of cases) expect(codeOf(read(file(h, dataLen))), h).toBe(code);
    expect(codeOf(read(file(`{"a":${entry("BOOL", [2], [0, 2])}}`, new Uint8Array([1, 2]))))).toBe("bad_bool");
  });

  it("error messages name the tensor and the problem", () => {
    const e = (() => {
      try {
        readSafetensors(file(`{"w.1":${entry("F32", [2], [0, 4])}}`, 4));
      } catch (err) {
        return err as SafetensorsError;
      }
    })()!;
    expect(e).toBeInstanceOf(SafetensorsError);
    expect(e.tensor).toBe("w.1");
    expect(e.message).toMatch(/tensor "w\.1".*shape \[2\] of F32 needs 8 bytes but data_offsets span 4/);
  });
});
