// IEEE 754 binary16 ("half", safetensors F16) and bfloat16 (BF16) conversions, written out bit by bit so
// they are exact and identical in every runtime (no Math.f16round in Node 20).
//
// float32 -> half rounds to nearest, ties to even (IEEE 754 §4.3.1), including into the subnormal range
// and up to infinity (values >= 65520 become inf). NaN stays NaN with its sign and the top 10 payload
// bits (set to a quiet NaN if those are all zero), so half -> float32 -> half keeps every one of the 65536
// bit patterns. The array converters move float32 bits through Uint32Array views, never through a JS
// number, because engines may canonicalise NaNs that pass through a number.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Half bits of the float32 with bits `x` (u32), rounded to nearest even. */
export function f32BitsToHalfBits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant === 0 ? 0 : mant >>> 13 || 0x200);
  const e = exp - 112; // rebias 127 -> 15
  if (e >= 31) return sign | 0x7c00; // >= 2^16: beyond the largest half even after rounding
  if (e <= 0) {
    // Subnormal half (or zero): value = hm * 2^-24 with hm = m * 2^(e - 14), m the 24-bit significand.
    if (e < -10) return sign; // < 2^-25: rounds to (signed) zero
    const m = mant | 0x800000;
    const shift = 14 - e; // 14..24
    let hm = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (hm & 1) !== 0)) hm++; // may carry into the smallest normal: right
    return sign | hm;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) !== 0)) h++; // a carry into the exponent is right, up to inf
  return sign | h;
}

/** Half bits of the number v after rounding v to float32 (as a Float32Array store would). */
export function floatToHalfBits(v: number): number {
  f32[0] = v;
  return f32BitsToHalfBits(u32[0]);
}

/** The exact value of half bits h (a float64; every half is exactly representable). */
export function halfBitsToFloat(h: number): number {
  const s = (h & 0x8000) !== 0 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 5.960464477539063e-8; // m * 2^-24
  if (e === 31) return m !== 0 ? NaN : s * Infinity;
  return s * (1024 + m) * 2 ** (e - 25);
}

let table: Uint32Array | null = null;
/** Float32 bits of all 65536 halves, built on first use (256 KB). */
function halfTable(): Uint32Array {
  if (table === null) {
    table = new Uint32Array(65536);
    const f = new Float32Array(table.buffer);
    for (let h = 0; h < 65536; h++) {
      if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0) table[h] = ((h & 0x8000) << 16) | 0x7f800000 | ((h & 0x3ff) << 13);
      else f[h] = halfBitsToFloat(h);
    }
  }
  return table;
}

/** Convert float32 values to half bits. */
export function float32ToHalf(src: Float32Array): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = f32BitsToHalfBits(bits[i]);
  return out;
}

/** Convert half bits to float32 values (exact). */
export function halfToFloat32(src: Uint16Array): Float32Array {
  const t = halfTable();
  const out = new Float32Array(src.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < src.length; i++) bits[i] = t[src[i]];
  return out;
}

/** bfloat16 bits of float32 bits x: the top 16 bits, rounded to nearest even; NaN stays NaN. */
export function f32BitsToBf16Bits(x: number): number {
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) return ((x >>> 16) | 0x40) & 0xffff;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Convert float32 values to bfloat16 bits. */
export function float32ToBf16(src: Float32Array): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = f32BitsToBf16Bits(bits[i]);
  return out;
}

/** Convert bfloat16 bits to float32 values (exact: bf16 is float32's top half). */
export function bf16ToFloat32(src: Uint16Array): Float32Array {
  const out = new Float32Array(src.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < src.length; i++) bits[i] = src[i] << 16;
  return out;
}
