// The GEMM micro-kernels, f32 SIMD128: a 4x8 register tile of C (design notes §5: 11 live v128 values,
// under V8's 16 xmm registers), its 1- and 2-row variant for the last row panel, and the direct
// convolution's variant that reads B through a table of tap offsets instead of a packed panel.
//
// Each C element is Σ_k in ascending k over the kc of one block; lanes are independent. The relaxed
// build fuses mul+add (relaxed_madd), which may or may not round once depending on the machine: not
// bit-reproducible. Partial tiles are computed in full (packing pads with zeros) and written through the
// tile in the fixed scratch (blocking.ts).

import { MR, NR, tile } from "./blocking";

// @ts-ignore: decorator
@inline function madd(acc: v128, a: v128, b: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
  return f32x4.add(acc, f32x4.mul(a, b));
}

/**
 * Apply the 4x8 tile at tile() to C: store or add its mr x nr part. Out of line on purpose: with the
 * C update inlined after the k loop, V8 ran short of xmm registers and spilled an accumulator inside the
 * loop (and zero-extended both panel pointers every step); the micro-kernels now end by storing their
 * accumulators to the tile and calling this.
 */
function applyTile(c: usize, ldc: i32, accum: bool, mr: i32, nr: i32): void {
  const t = tile();
  if (mr == MR && nr == NR) {
    const ld = <usize>ldc << 2;
    let p = c;
    for (let i = 0; i < MR; i++) {
      const tr = t + (<usize>i << 5);
      if (accum) {
        v128.store(p, f32x4.add(v128.load(p), v128.load(tr)));
        v128.store(p, f32x4.add(v128.load(p, 16), v128.load(tr, 16)), 16);
      } else {
        v128.store(p, v128.load(tr));
        v128.store(p, v128.load(tr, 16), 16);
      }
      p += ld;
    }
    return;
  }
  for (let i = 0; i < mr; i++) {
    const row = c + ((<usize>i * <usize>ldc) << 2);
    const trow = t + (<usize>i << 5);
    for (let jx = 0; jx < nr; jx++) {
      const off = <usize>jx << 2;
      const v = load<f32>(trow + off);
      store<f32>(row + off, accum ? load<f32>(row + off) + v : v);
    }
  }
}

/** Store the accumulators of a 4x8 tile to C (see applyTile). */
// @ts-ignore: decorator
@inline function storeTile(
  c: usize, ldc: i32, accum: bool, mr: i32, nr: i32,
  c00: v128, c01: v128, c10: v128, c11: v128, c20: v128, c21: v128, c30: v128, c31: v128,
): void {
  const t = tile();
  v128.store(t, c00);
  v128.store(t, c01, 16);
  v128.store(t, c10, 32);
  v128.store(t, c11, 48);
  v128.store(t, c20, 64);
  v128.store(t, c21, 80);
  v128.store(t, c30, 96);
  v128.store(t, c31, 112);
  applyTile(c, ldc, accum, mr, nr);
}

/** C[4x8] (+)= Apanel[kc x 4]ᵀ · Bpanel[kc x 8]; mr x nr of the tile are stored. */
export function micro4x8(kc: i32, pa: usize, pb: usize, c: usize, ldc: i32, accum: bool, mr: i32, nr: i32): void {
  let c00 = f32x4.splat(0);
  let c01 = c00;
  let c10 = c00;
  let c11 = c00;
  let c20 = c00;
  let c21 = c00;
  let c30 = c00;
  let c31 = c00;
  const paEnd = pa + (<usize>kc << 4);
  do {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    let a = v128.load32_splat(pa);
    c00 = madd(c00, a, b0);
    c01 = madd(c01, a, b1);
    a = v128.load32_splat(pa, 4);
    c10 = madd(c10, a, b0);
    c11 = madd(c11, a, b1);
    a = v128.load32_splat(pa, 8);
    c20 = madd(c20, a, b0);
    c21 = madd(c21, a, b1);
    a = v128.load32_splat(pa, 12);
    c30 = madd(c30, a, b0);
    c31 = madd(c31, a, b1);
    pa += 16;
    pb += 32;
  } while (pa < paEnd); // kc >= 1
  storeTile(c, ldc, accum, mr, nr, c00, c01, c10, c11, c20, c21, c30, c31);
}

/** A 1- or 2-row tile (the last row panel when M % 4 is 1 or 2): same arithmetic, less wasted work. */
export function micro2x8(kc: i32, pa: usize, pb: usize, c: usize, ldc: i32, accum: bool, mr: i32, nr: i32): void {
  let c00 = f32x4.splat(0);
  let c01 = c00;
  let c10 = c00;
  let c11 = c00;
  const paEnd = pa + (<usize>kc << 4);
  if (mr == 1) {
    do {
      const a = v128.load32_splat(pa);
      c00 = madd(c00, a, v128.load(pb));
      c01 = madd(c01, a, v128.load(pb, 16));
      pa += 16;
      pb += 32;
    } while (pa < paEnd);
  } else {
    do {
      const b0 = v128.load(pb);
      const b1 = v128.load(pb, 16);
      let a = v128.load32_splat(pa);
      c00 = madd(c00, a, b0);
      c01 = madd(c01, a, b1);
      a = v128.load32_splat(pa, 4);
      c10 = madd(c10, a, b0);
      c11 = madd(c11, a, b1);
      pa += 16;
      pb += 32;
    } while (pa < paEnd);
  }
  storeTile(c, ldc, accum, mr, nr, c00, c01, c10, c11, c10, c11, c10, c11);
}

/**
 * The direct-convolution twin of micro4x8: B is not packed; row k of the 8-column B panel is the 8
 * contiguous floats at xcol + tab[k] (tab: byte offsets of the taps (channel, r, s) in the padded image).
 */
export function micro4x8Taps(kc: i32, pa: usize, tab: usize, xcol: usize, c: usize, ldc: i32, accum: bool, mr: i32, nr: i32): void {
  let c00 = f32x4.splat(0);
  let c01 = c00;
  let c10 = c00;
  let c11 = c00;
  let c20 = c00;
  let c21 = c00;
  let c30 = c00;
  let c31 = c00;
  const paEnd = pa + (<usize>kc << 4);
  do {
    const pb = xcol + <usize>load<i32>(tab);
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    let a = v128.load32_splat(pa);
    c00 = madd(c00, a, b0);
    c01 = madd(c01, a, b1);
    a = v128.load32_splat(pa, 4);
    c10 = madd(c10, a, b0);
    c11 = madd(c11, a, b1);
    a = v128.load32_splat(pa, 8);
    c20 = madd(c20, a, b0);
    c21 = madd(c21, a, b1);
    a = v128.load32_splat(pa, 12);
    c30 = madd(c30, a, b0);
    c31 = madd(c31, a, b1);
    pa += 16;
    tab += 4;
  } while (pa < paEnd); // kc >= 1
  storeTile(c, ldc, accum, mr, nr, c00, c01, c10, c11, c20, c21, c30, c31);
}
