// fp16 and bf16 conversions (src/io/half.ts), checked exhaustively where the domain is small (all 65536
// half and bf16 bit patterns, every midpoint between adjacent halves) and against a float64 reference
// for random float32s. The conversions are exact bit operations, so every comparison is exact: no tolerance.

import { describe, expect, it } from "vitest";
import {
  bf16ToFloat32,
  f32BitsToBf16Bits,
  f32BitsToHalfBits,
  float32ToBf16,
  float32ToHalf,
  floatToHalfBits,
  halfBitsToFloat,
  halfToFloat32,
} from "../../src/io/half.ts";
import { Rng } from "../../src/rng.ts";

const f = new Float32Array(1);
const u = new Uint32Array(f.buffer);
const bitsOf = (x: number): number => {
  f[0] = x;
  return u[0];
};
const fromBits = (b: number): number => {
  u[0] = b >>> 0;
  return f[0];
};
const isHalfNaN = (h: number): boolean => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;

/** Magnitude of positive half bits h for rounding purposes; 0x7c00 stands for 2^16 (unbounded exponent). */
const mag = (h: number): number => (h === 0x7c00 ? 65536 : halfBitsToFloat(h));

/** Reference: the half nearest to float64 x (ties to even), by binary search over the ordered positive halves. */
function refHalf(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65536) return sign | 0x7c00;
  let lo = 0;
  let hi = 0x7c00; // mag(lo) <= a < mag(hi)
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (mag(mid) <= a) lo = mid;
    else hi = mid;
  }
  const dLo = a - mag(lo);
  const dHi = mag(hi) - a;
  const h = dLo < dHi ? lo : dHi < dLo ? hi : (lo & 1) === 0 ? lo : hi;
  return sign | h;
}

describe("half (binary16)", () => {
  it("decodes known values", () => {
    expect(halfBitsToFloat(0x3c00)).toBe(1);
    expect(halfBitsToFloat(0xc000)).toBe(-2);
    expect(halfBitsToFloat(0x7bff)).toBe(65504);
    expect(halfBitsToFloat(0x0001)).toBe(2 ** -24);
    expect(halfBitsToFloat(0x03ff)).toBe(1023 * 2 ** -24);
    expect(halfBitsToFloat(0x0400)).toBe(2 ** -14);
    expect(halfBitsToFloat(0x7c00)).toBe(Infinity);
    expect(halfBitsToFloat(0xfc00)).toBe(-Infinity);
    expect(Object.is(halfBitsToFloat(0x8000), -0)).toBe(true);
    expect(halfBitsToFloat(0x7e00)).toBeNaN();
    expect(halfBitsToFloat(0x3555)).toBeCloseTo(0.333251953125, 15);
  });

  it("all 65536 half values round-trip half -> float32 -> half bit for bit, NaN payloads and signs included", () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const back = float32ToHalf(halfToFloat32(all));
    let bad = 0;
    for (let h = 0; h < 65536; h++) {
      if (back[h] !== h) bad++;
      // through a JS number a NaN may lose its payload, but must stay a NaN
      if (isHalfNaN(h) !== isHalfNaN(floatToHalfBits(halfBitsToFloat(h)))) bad++;
      // the float32 table agrees with the float64 decoder (halves are exact in float32)
      const v = halfBitsToFloat(h);
      if (!(Object.is(halfToFloat32(new Uint16Array([h]))[0], v) || (Number.isNaN(v)))) bad++;
    }
    expect(bad).toBe(0);
  });

  it("every midpoint between adjacent halves rounds to the even neighbour, and its float32 neighbours round to the nearer one", () => {
    let bad = 0;
    for (let h = 0; h < 0x7c00; h++) {
      for (const sign of [0, 0x8000]) {
        const s = sign ? -1 : 1;
        const mid = (mag(h) + mag(h + 1)) / 2; // exact in float32: 12 significant bits at most
        expect(fromBits(bitsOf(mid))).toBe(mid);
        const even = (h & 1) === 0 ? h : h + 1;
        if (floatToHalfBits(s * mid) !== (sign | even)) bad++;
        const below = fromBits(bitsOf(mid) - 1); // next float32 toward zero
        const above = fromBits(bitsOf(mid) + 1);
        if (floatToHalfBits(s * below) !== (sign | h)) bad++;
        if (floatToHalfBits(s * above) !== (sign | (h + 1))) bad++;
      }
    }
    expect(bad).toBe(0);
  });

  it("matches the float64 reference on 300,000 random float32 bit patterns and 300,000 values in the half range", () => {
    const rng = new Rng(20261126);
    const n = 300_000;
    const a = rng.uniform(new Float64Array(n), 0);
    const b = rng.uniform(new Float64Array(n), 1);
    let bad = 0;
    for (let i = 0; i < n; i++) {
      const bits = Math.floor(a[i] * 4294967296) >>> 0; // any float32, incl. NaN, inf, subnormals
      const x = fromBits(bits);
      const got = f32BitsToHalfBits(bits);
      const want = refHalf(x);
      if (Number.isNaN(x) ? !isHalfNaN(got) : got !== want) bad++;
      // log-uniform magnitudes over [2^-26, 2^17): every half binade, the subnormals and the overflow edge
      const y = Math.fround((b[i] < 0.5 ? -1 : 1) * 2 ** (-26 + 43 * ((2 * b[i]) % 1)));
      if (floatToHalfBits(y) !== refHalf(y)) bad++;
    }
    expect(bad).toBe(0);
  });

  it("rounds the edges: overflow to inf at 65520, underflow to zero at 2^-25, signed zeros, inf and NaN", () => {
    expect(floatToHalfBits(65504)).toBe(0x7bff);
    expect(floatToHalfBits(65519.99)).toBe(0x7bff);
    expect(floatToHalfBits(65520)).toBe(0x7c00);
    expect(floatToHalfBits(-1e10)).toBe(0xfc00);
    expect(floatToHalfBits(Infinity)).toBe(0x7c00);
    expect(floatToHalfBits(2 ** -25)).toBe(0); // tie between 0 and 2^-24: even is 0
    expect(floatToHalfBits(Math.fround(2 ** -25 * 1.0000001))).toBe(1);
    expect(floatToHalfBits(2 ** -24 * 1.5)).toBe(2); // tie between 1 and 2 ulps: even is 2
    expect(floatToHalfBits(-0)).toBe(0x8000);
    expect(floatToHalfBits(1e-30)).toBe(0);
    expect(floatToHalfBits(-1e-30)).toBe(0x8000);
    expect(isHalfNaN(floatToHalfBits(NaN))).toBe(true);
    expect(isHalfNaN(f32BitsToHalfBits(0x7f800001))).toBe(true); // a NaN whose payload is all in the dropped bits
    expect(floatToHalfBits(2 ** -14 - 2 ** -25)).toBe(0x0400); // largest subnormal + half ulp rounds up into normals
  });
});

describe("bfloat16", () => {
  it("all 65536 bf16 values round-trip bf16 -> float32 -> bf16 (NaNs stay NaN)", () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const back = float32ToBf16(bf16ToFloat32(all));
    let bad = 0;
    for (let h = 0; h < 65536; h++) {
      const nan = (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0;
      if (nan ? !((back[h] & 0x7f80) === 0x7f80 && (back[h] & 0x7f) !== 0) : back[h] !== h) bad++;
    }
    expect(bad).toBe(0);
  });

  it("rounds random float32s to the nearer bf16, ties to even, against a float64 reference", () => {
    const rng = new Rng(7);
    const a = rng.uniform(new Float64Array(200_000));
    let bad = 0;
    for (let i = 0; i < a.length; i++) {
      let bits = Math.floor(a[i] * 4294967296) >>> 0;
      if (i % 4 === 0) bits = (bits & 0xffff0000) | 0x8000; // force exact ties
      const x = fromBits(bits);
      if (Number.isNaN(x)) continue;
      const lo = fromBits(bits & 0xffff0000);
      const hiBits = (bits & 0xffff0000) + 0x10000;
      // the next bf16 up in magnitude; past the largest finite it is inf, which rounds like 2^128
      const hi = (hiBits & 0x7fffffff) === 0x7f800000 ? Math.sign(x) * 2 ** 128 : fromBits(hiBits);
      const dLo = Math.abs(x - lo);
      const dHi = Math.abs(hi - x);
      const loH = bits >>> 16;
      const want = dLo < dHi ? loH : dHi < dLo ? (loH + 1) & 0xffff : (loH & 1) === 0 ? loH : (loH + 1) & 0xffff;
      if (f32BitsToBf16Bits(bits) !== want) bad++;
    }
    expect(bad).toBe(0);
  });
});
