// GEMM C[M,N] = A[M,K]·B[K,N] (+ C), f32, SIMD128, GotoBLAS-style blocking:
//
//   for jc in N by NC:  for pc in K by KC:  pack B block (KC x NC) into 8-column panels
//     for ic in M by MC:  pack A block (MC x KC) into 4-row panels
//       for jr in NC by 8:  for ir in MC by 4:  micro_4x8 over kc
//
// The register tile is 4 rows x 8 columns = 8 f32x4 accumulators + 2 B vectors + 1 broadcast A = 11
// live v128 values, under V8's 16 xmm registers (design notes §5: 6x8 and 4x12 spill). Packing pads
// partial panels with zeros, so the micro-kernel always runs a full tile; partial tiles are written
// through a 4x8 bounce tile (a 2x8 kernel serves a last row panel of 1 or 2 rows). Packing also absorbs
// transposes and convolution indexing: the same driver does A·B, Aᵀ·B, A·Bᵀ and, for convolutions the
// faster paths do not cover, conv forward (B = im2col(x) packed on the fly, no im2col buffer), conv input
// gradient (B gathered from dy) and conv weight gradient (B = im2col(x)ᵀ).
//
// Convolution paths, fastest first (the TS front picks): Winograd F(2x2, 3x3) in winograd.ts (3x3 pad 1
// stride 1, >= 8 channels); the direct stride-1 kernel below (taps read in place from a padded image);
// col2im for strided input gradients; the packed GEMM driver for everything else.
//
// Determinism: each C element is sum_k in ascending k, in blocks of KC added to C in ascending block
// order; lanes are independent. The order depends only on K, never on the element's row/column, so a
// batch item's result does not depend on its position in the batch. The relaxed build fuses mul+add
// (relaxed_madd), which may or may not round once depending on the machine: not bit-reproducible.
//
// Scratch: packing buffers live at fixed offsets from __heap_base (see arena_base()); the TS side puts
// its arena after them. Kernels never allocate: workspaces (padded images, tiles) are passed in.

export const MR: i32 = 4;
export const NR: i32 = 8;
export const KC: i32 = 256;
export const MC: i32 = 128;
export const NC: i32 = 512;

const PA_BYTES: usize = <usize>(MC * KC * 4);
const PB_BYTES: usize = <usize>(KC * NC * 4);
const TILE_BYTES: usize = <usize>(MR * NR * 4);

// @ts-ignore: decorator
@inline function scratchBase(): usize {
  return (__heap_base + 63) & ~(<usize>63);
}
// @ts-ignore: decorator
@inline function packA(): usize {
  return scratchBase();
}
// @ts-ignore: decorator
@inline function packB(): usize {
  return scratchBase() + PA_BYTES;
}
// @ts-ignore: decorator
@inline function tile(): usize {
  return scratchBase() + PA_BYTES + PB_BYTES;
}

/** First byte the TS arena may use: past static data and the packing scratch, 64-byte aligned. */
export function arena_base(): usize {
  return (scratchBase() + PA_BYTES + PB_BYTES + TILE_BYTES + 64 + 63) & ~(<usize>63); // + 64: ops.ts bounce
}

// @ts-ignore: decorator
@inline export function madd(acc: v128, a: v128, b: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
  return f32x4.add(acc, f32x4.mul(a, b));
}

// ---- operand modes -------------------------------------------------------------------------------
// A modes: element A(i, k)
export const A_DENSE: i32 = 0; // A[i*lda + k]
export const A_TRANS: i32 = 1; // A[k*lda + i]
export const A_CONVW_T: i32 = 2; // weights w[Co, Ci, R, S]: A(ci, (co, rs)) = w[co*Ci*RS + ci*RS + rs]
export const A_CONVW_TF: i32 = 3; // the same, kernel flipped: A(ci, (co, rs)) = w[co*Ci*RS + ci*RS + RS-1-rs]
// B modes: element B(k, j)
export const B_DENSE: i32 = 0; // B[k*ldb + j]
export const B_TRANS: i32 = 1; // B[j*ldb + k]
export const B_IM2COL: i32 = 2; // x[C,H,W]: B((c,r,s), (oy,ox)) = x[c, oy*st-pad+r, ox*st-pad+s]
export const B_IM2COL_T: i32 = 3; // B((oy,ox), (c,r,s)) = x[c, oy*st-pad+r, ox*st-pad+s]
export const B_GATHER: i32 = 4; // dy[Co,Ho,Wo]: B((co,r,s), (y,x)) = dy[co, (y+pad-r)/st, (x+pad-s)/st] if exact

// Convolution geometry for the conv modes (set by the conv entry points before the driver runs).
let gSrcH: i32 = 0; // source image rows (x: H; dy: Ho)
let gSrcW: i32 = 0; // source image cols
let gGridW: i32 = 0; // width of the spatial grid enumerated by j (IM2COL, GATHER) or k (IM2COL_T)
let gR: i32 = 1;
let gS: i32 = 1;
let gSt: i32 = 1;
let gPad: i32 = 0;
let gAC: i32 = 0; // A_CONVW_T: input channels Ci

export function set_conv_geometry(srcH: i32, srcW: i32, gridW: i32, R: i32, S: i32, st: i32, pad: i32, aC: i32): void {
  gSrcH = srcH;
  gSrcW = srcW;
  gGridW = gridW;
  gR = R;
  gS = S;
  gSt = st;
  gPad = pad;
  gAC = aC;
}

// ---- packing ---------------------------------------------------------------------------------------

/** Pack rows [i0, i0+mc) x cols [k0, k0+kc) of A into 4-row panels: panel p holds A(i0+4p+r, k0+k) at [k*4+r]. */
function packABlock(mode: i32, a: usize, lda: i32, i0: i32, k0: i32, mc: i32, kc: i32): void {
  let dst = packA();
  for (let ir = 0; ir < mc; ir += MR) {
    const rows = min(MR, mc - ir);
    if (mode == A_DENSE && rows == MR) {
      // 4 rows x 4 k at a time: load four row vectors, transpose in registers, store four k-columns
      const ld = <usize>lda << 2;
      let s0 = a + ((<usize>(i0 + ir) * <usize>lda + <usize>k0) << 2);
      let s1 = s0 + ld;
      let s2 = s1 + ld;
      let s3 = s2 + ld;
      let k = 0;
      for (; k + 4 <= kc; k += 4) {
        const r0 = v128.load(s0);
        const r1 = v128.load(s1);
        const r2 = v128.load(s2);
        const r3 = v128.load(s3);
        const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
        const t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
        const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
        const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
        const d = dst + (<usize>k << 4);
        v128.store(d, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
        v128.store(d, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7), 16);
        v128.store(d, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), 32);
        v128.store(d, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7), 48);
        s0 += 16;
        s1 += 16;
        s2 += 16;
        s3 += 16;
      }
      for (; k < kc; k++) {
        const d = dst + (<usize>k << 4);
        store<f32>(d, load<f32>(s0));
        store<f32>(d, load<f32>(s1), 4);
        store<f32>(d, load<f32>(s2), 8);
        store<f32>(d, load<f32>(s3), 12);
        s0 += 4;
        s1 += 4;
        s2 += 4;
        s3 += 4;
      }
    } else if (mode == A_TRANS && rows == MR) {
      let src = a + ((<usize>k0 * <usize>lda + <usize>(i0 + ir)) << 2);
      const step = <usize>lda << 2;
      for (let k = 0; k < kc; k++) {
        v128.store(dst + (<usize>k << 4), v128.load(src));
        src += step;
      }
    } else {
      for (let r = 0; r < MR; r++) {
        let d = dst + (<usize>r << 2);
        if (r >= rows) {
          for (let k = 0; k < kc; k++) store<f32>(d + (<usize>k << 4), 0);
          continue;
        }
        const i = i0 + ir + r;
        if (mode == A_DENSE) {
          const src = a + ((<usize>i * <usize>lda + <usize>k0) << 2);
          for (let k = 0; k < kc; k++) store<f32>(d + (<usize>k << 4), load<f32>(src + (<usize>k << 2)));
        } else if (mode == A_TRANS) {
          let src = a + ((<usize>k0 * <usize>lda + <usize>i) << 2);
          const step = <usize>lda << 2;
          for (let k = 0; k < kc; k++) {
            store<f32>(d + (<usize>k << 4), load<f32>(src));
            src += step;
          }
        } else {
          // A_CONVW_T(F): k = co*RS + rs
          const RS = gR * gS;
          const flip = mode == A_CONVW_TF;
          const coStride = gAC * RS;
          let kk = k0;
          let co = kk / RS;
          let rs = kk - co * RS;
          for (let k = 0; k < kc; k++) {
            store<f32>(d + (<usize>k << 4), load<f32>(a + (<usize>(co * coStride + i * RS + (flip ? RS - 1 - rs : rs)) << 2)));
            rs++;
            if (rs == RS) {
              rs = 0;
              co++;
            }
          }
        }
      }
    }
    dst += <usize>(kc * MR) << 2;
  }
}

/** Pack rows [k0, k0+kc) x cols [j0, j0+nc) of B into 8-column panels: panel p holds B(k0+k, j0+8p+c) at [k*8+c]. */
function packBBlock(mode: i32, b: usize, ldb: i32, k0: i32, j0: i32, kc: i32, nc: i32): void {
  let dst = packB();
  for (let jr = 0; jr < nc; jr += NR) {
    const cols = min(NR, nc - jr);
    const j = j0 + jr;
    if (mode == B_DENSE) {
      let src = b + ((<usize>k0 * <usize>ldb + <usize>j) << 2);
      const step = <usize>ldb << 2;
      if (cols == NR) {
        for (let k = 0; k < kc; k++) {
          const d = dst + (<usize>k << 5);
          v128.store(d, v128.load(src));
          v128.store(d, v128.load(src, 16), 16);
          src += step;
        }
      } else {
        for (let k = 0; k < kc; k++) {
          const d = dst + (<usize>k << 5);
          for (let c = 0; c < NR; c++) store<f32>(d + (<usize>c << 2), c < cols ? load<f32>(src + (<usize>c << 2)) : 0);
          src += step;
        }
      }
    } else if (mode == B_TRANS && cols == NR) {
      // 8 columns x 4 k at a time: two 4x4 register transposes per step
      const ld = <usize>ldb << 2;
      const s0 = b + ((<usize>j * <usize>ldb + <usize>k0) << 2);
      let k = 0;
      for (; k + 4 <= kc; k += 4) {
        const o = <usize>k << 2;
        const d = dst + (<usize>k << 5);
        for (let h = 0; h < 2; h++) {
          const sh = s0 + <usize>(4 * h) * ld + o;
          const r0 = v128.load(sh);
          const r1 = v128.load(sh + ld);
          const r2 = v128.load(sh + 2 * ld);
          const r3 = v128.load(sh + 3 * ld);
          const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
          const t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
          const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
          const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
          const dh = d + (<usize>h << 4);
          v128.store(dh, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
          v128.store(dh, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7), 32);
          v128.store(dh, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), 64);
          v128.store(dh, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7), 96);
        }
      }
      for (; k < kc; k++) {
        const d = dst + (<usize>k << 5);
        for (let c = 0; c < NR; c++) store<f32>(d + (<usize>c << 2), load<f32>(s0 + <usize>c * ld + (<usize>k << 2)));
      }
    } else if (mode == B_TRANS) {
      for (let c = 0; c < NR; c++) {
        const d = dst + (<usize>c << 2);
        if (c >= cols) {
          for (let k = 0; k < kc; k++) store<f32>(d + (<usize>k << 5), 0);
        } else {
          const src = b + ((<usize>(j + c) * <usize>ldb + <usize>k0) << 2);
          for (let k = 0; k < kc; k++) store<f32>(d + (<usize>k << 5), load<f32>(src + (<usize>k << 2)));
        }
      }
    } else if (mode == B_IM2COL_T) {
      packIm2colT(b, dst, k0, j, kc, cols);
    } else {
      packIm2col(mode, b, dst, k0, j, kc, cols);
    }
    dst += <usize>(kc * NR) << 2;
  }
}

/**
 * B_IM2COL / B_GATHER panel: columns j..j+cols are spatial positions of a grid of width gGridW, rows
 * k0..k0+kc are (channel, r, s). Works on runs of columns that share a grid row.
 */
function packIm2col(mode: i32, src: usize, dst: usize, k0: i32, j: i32, kc: i32, cols: i32): void {
  const RS = gR * gS;
  const H = gSrcH;
  const W = gSrcW;
  const st = gSt;
  const pad = gPad;
  const gather = mode == B_GATHER;
  const oy0 = j / gGridW;
  const ox0 = j - oy0 * gGridW;
  let ch = k0 / RS;
  let rs = k0 - ch * RS;
  let r = rs / gS;
  let s = rs - r * gS;
  for (let k = 0; k < kc; k++) {
    const d = dst + (<usize>k << 5);
    const plane = src + ((<usize>ch * <usize>H * <usize>W) << 2);
    let c = 0;
    let oy = oy0;
    let ox = ox0;
    while (c < cols) {
      const run = min(cols - c, gGridW - ox);
      if (!gather) {
        const iy = oy * st - pad + r;
        if (<u32>iy >= <u32>H) {
          for (let t = 0; t < run; t++) store<f32>(d + (<usize>(c + t) << 2), 0);
        } else {
          const row = plane + ((<usize>iy * <usize>W) << 2);
          const ix0 = ox * st - pad + s;
          if (st == 1 && run == NR && ix0 >= 0 && ix0 + NR <= W) {
            const p = row + (<usize>ix0 << 2);
            v128.store(d, v128.load(p));
            v128.store(d, v128.load(p, 16), 16);
          } else {
            for (let t = 0; t < run; t++) {
              const ix = ix0 + t * st;
              store<f32>(d + (<usize>(c + t) << 2), <u32>ix < <u32>W ? load<f32>(row + (<usize>ix << 2)) : 0);
            }
          }
        }
      } else {
        // transposed conv gather: ty = y + pad - r must be a multiple of st with ty/st in [0, H)
        const ty = oy + pad - r;
        const iy = ty / st;
        if (ty < 0 || iy * st != ty || iy >= H) {
          for (let t = 0; t < run; t++) store<f32>(d + (<usize>(c + t) << 2), 0);
        } else {
          const row = plane + ((<usize>iy * <usize>W) << 2);
          for (let t = 0; t < run; t++) {
            const tx = ox + t + pad - s;
            const ix = tx / st;
            store<f32>(d + (<usize>(c + t) << 2), tx >= 0 && ix * st == tx && ix < W ? load<f32>(row + (<usize>ix << 2)) : 0);
          }
        }
      }
      c += run;
      ox = 0;
      oy++;
    }
    for (; c < NR; c++) store<f32>(d + (<usize>c << 2), 0);
    s++;
    if (s == gS) {
      s = 0;
      r++;
      if (r == gR) {
        r = 0;
        ch++;
      }
    }
  }
}

/** B_IM2COL_T panel: rows k0..k0+kc are output positions of a grid of width gGridW; columns are (c, r, s). */
function packIm2colT(src: usize, dst: usize, k0: i32, j: i32, kc: i32, cols: i32): void {
  const RS = gR * gS;
  const H = gSrcH;
  const W = gSrcW;
  const st = gSt;
  const pad = gPad;
  for (let c = 0; c < NR; c++) {
    const d = dst + (<usize>c << 2);
    if (c >= cols) {
      for (let k = 0; k < kc; k++) store<f32>(d + (<usize>k << 5), 0);
      continue;
    }
    const jj = j + c;
    const ch = jj / RS;
    const rs = jj - ch * RS;
    const r = rs / gS;
    const s = rs - r * gS;
    const plane = src + ((<usize>ch * <usize>H * <usize>W) << 2);
    let oy = k0 / gGridW;
    let ox = k0 - oy * gGridW;
    let k = 0;
    while (k < kc) {
      const run = min(kc - k, gGridW - ox);
      const iy = oy * st - pad + r;
      if (<u32>iy >= <u32>H) {
        for (let t = 0; t < run; t++) store<f32>(d + (<usize>(k + t) << 5), 0);
      } else {
        const row = plane + ((<usize>iy * <usize>W) << 2);
        const ix0 = ox * st - pad + s;
        for (let t = 0; t < run; t++) {
          const ix = ix0 + t * st;
          store<f32>(d + (<usize>(k + t) << 5), <u32>ix < <u32>W ? load<f32>(row + (<usize>ix << 2)) : 0);
        }
      }
      k += run;
      ox = 0;
      oy++;
    }
  }
}

// ---- micro-kernel ------------------------------------------------------------------------------------

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
function micro4x8(kc: i32, pa: usize, pb: usize, c: usize, ldc: i32, accum: bool, mr: i32, nr: i32): void {
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
function micro2x8(kc: i32, pa: usize, pb: usize, c: usize, ldc: i32, accum: bool, mr: i32, nr: i32): void {
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
function micro4x8Taps(kc: i32, pa: usize, tab: usize, xcol: usize, c: usize, ldc: i32, accum: bool, mr: i32, nr: i32): void {
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

// ---- driver ------------------------------------------------------------------------------------------

/** C[M,N] (+)= A(M x K) · B(K x N) with operands read through the given modes; C row stride ldc. */
export function gemmDriver(
  M: i32,
  N: i32,
  K: i32,
  aMode: i32,
  a: usize,
  lda: i32,
  bMode: i32,
  b: usize,
  ldb: i32,
  c: usize,
  ldc: i32,
  accumulate: bool,
): void {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate) {
      for (let i = 0; i < M; i++) memory.fill(c + ((<usize>i * <usize>ldc) << 2), 0, <usize>N << 2);
    }
    return;
  }
  const pa0 = packA();
  const pb0 = packB();
  for (let jc = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      packBBlock(bMode, b, ldb, pc, jc, kc, nc);
      const acc = accumulate || pc > 0;
      for (let ic = 0; ic < M; ic += MC) {
        const mc = min(MC, M - ic);
        packABlock(aMode, a, lda, ic, pc, mc, kc);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = min(NR, nc - jr);
          const pb = pb0 + ((<usize>jr * <usize>kc) << 2);
          for (let ir = 0; ir < mc; ir += MR) {
            const mr = min(MR, mc - ir);
            const pa = pa0 + ((<usize>ir * <usize>kc) << 2);
            const cp = c + ((<usize>(ic + ir) * <usize>ldc + <usize>(jc + jr)) << 2);
            if (mr <= 2) micro2x8(kc, pa, pb, cp, ldc, acc, mr, nr);
            else micro4x8(kc, pa, pb, cp, ldc, acc, mr, nr);
          }
        }
      }
    }
  }
}

/**
 * C (+)= op(A)·op(B), op = transpose when transX != 0. A is M x K (or K x M stored when transposed),
 * B is K x N (or N x K), row-major with leading dimensions lda, ldb, ldc (in elements).
 */
export function gemm_f32(
  transA: i32,
  transB: i32,
  M: i32,
  N: i32,
  K: i32,
  a: usize,
  lda: i32,
  b: usize,
  ldb: i32,
  c: usize,
  ldc: i32,
  accumulate: i32,
): void {
  gemmDriver(M, N, K, transA ? A_TRANS : A_DENSE, a, lda, transB ? B_TRANS : B_DENSE, b, ldb, c, ldc, accumulate != 0);
}

// ---- convolution (NCHW, weights [Co, Ci, R, S], square stride and padding) ------------------------

/** y[n,Co,Ho,Wo] (+)= conv(x[n,Ci,H,W], w[Co,Ci,R,S]); GEMM with M=Co, N=Ho*Wo, K=Ci*R*S, B = im2col(x). */
export function conv2d_f32(
  x: usize, w: usize, y: usize,
  N: i32, Ci: i32, H: i32, W: i32, Co: i32, R: i32, S: i32, st: i32, pad: i32, Ho: i32, Wo: i32,
  accumulate: i32,
): void {
  const xs = <usize>(Ci * H * W) << 2;
  const ys = <usize>(Co * Ho * Wo) << 2;
  const pointwise = R == 1 && S == 1 && st == 1 && pad == 0;
  set_conv_geometry(H, W, Wo, R, S, st, pad, Ci);
  for (let n = 0; n < N; n++) {
    const xn = x + <usize>n * xs;
    const yn = y + <usize>n * ys;
    if (pointwise) gemmDriver(Co, H * W, Ci, A_DENSE, w, Ci, B_DENSE, xn, H * W, yn, H * W, accumulate != 0);
    else gemmDriver(Co, Ho * Wo, Ci * R * S, A_DENSE, w, Ci * R * S, B_IM2COL, xn, 0, yn, Ho * Wo, accumulate != 0);
  }
}

/** dx[n,Ci,H,W] (+)= conv_transpose(dy[n,Co,Ho,Wo], w): GEMM with M=Ci, N=H*W, K=Co*R*S, B gathered from dy. */
export function conv2d_bwd_input_f32(
  dy: usize, w: usize, dx: usize,
  N: i32, Ci: i32, H: i32, W: i32, Co: i32, R: i32, S: i32, st: i32, pad: i32, Ho: i32, Wo: i32,
  accumulate: i32,
): void {
  const xs = <usize>(Ci * H * W) << 2;
  const ys = <usize>(Co * Ho * Wo) << 2;
  const pointwise = R == 1 && S == 1 && st == 1 && pad == 0;
  set_conv_geometry(Ho, Wo, W, R, S, st, pad, Ci);
  for (let n = 0; n < N; n++) {
    const dyn = dy + <usize>n * ys;
    const dxn = dx + <usize>n * xs;
    if (pointwise) gemmDriver(Ci, H * W, Co, A_TRANS, w, Ci, B_DENSE, dyn, H * W, dxn, H * W, accumulate != 0);
    else gemmDriver(Ci, H * W, Co * R * S, A_CONVW_T, w, 0, B_GATHER, dyn, 0, dxn, H * W, accumulate != 0);
  }
}

/** dw[Co,Ci,R,S] (+)= sum_n dy[n]·im2col(x[n])ᵀ: GEMM with M=Co, N=Ci*R*S, K=Ho*Wo; images in ascending order. */
export function conv2d_bwd_weight_f32(
  x: usize, dy: usize, dw: usize,
  N: i32, Ci: i32, H: i32, W: i32, Co: i32, R: i32, S: i32, st: i32, pad: i32, Ho: i32, Wo: i32,
  accumulate: i32,
): void {
  const xs = <usize>(Ci * H * W) << 2;
  const ys = <usize>(Co * Ho * Wo) << 2;
  const pointwise = R == 1 && S == 1 && st == 1 && pad == 0;
  set_conv_geometry(H, W, Wo, R, S, st, pad, Ci);
  for (let n = 0; n < N; n++) {
    const xn = x + <usize>n * xs;
    const dyn = dy + <usize>n * ys;
    const acc = accumulate != 0 || n > 0;
    if (pointwise) gemmDriver(Co, Ci, H * W, A_DENSE, dyn, H * W, B_TRANS, xn, H * W, dw, Ci, acc);
    else gemmDriver(Co, Ci * R * S, Ho * Wo, A_DENSE, dyn, Ho * Wo, B_IM2COL_T, xn, 0, dw, Ci * R * S, acc);
  }
}

// ---- direct convolution, stride 1 (forward, and the input gradient as a flipped-kernel convolution) ----
//
// The image is copied once into zero-padded planes xp[Cs] of row pitch Wp: x[c, iy, ix] sits at
// xp + c·plane + (iy + padH)·Wp + padW + ix. Output (oy, ox) for tap (c, r, s) then reads
// xp + c·plane + r·Wp + s + q with q = oy·Wp + ox, so over "virtual" columns q = 0 .. Ho·Wp − 1 every tap
// is one contiguous run: the micro-kernel reads B straight from xp through a table of tap offsets (no
// im2col, no B packing). Consecutive rows share their zero gap (Wp − Ws ≥ padW serves as the right pad of
// one row and the left pad of the next), so only Wp − Wo columns per row (1 for 3x3 pad 1) are wasted;
// they are computed and dropped when ct[Cd, Ho·Wp] is compacted into y.

// @ts-ignore: decorator
@inline function directPitch(Ws: i32, S: i32, padW: i32): i32 {
  return max(Ws + padW, Ws + 2 * padW - S + 1);
}
// @ts-ignore: decorator
@inline function directPlane(Hs: i32, Ws: i32, padH: i32, padW: i32, S: i32): i32 {
  return (Hs + 2 * padH) * directPitch(Ws, S, padW) + padW;
}

/** Workspace bytes conv2d_direct_f32 needs (xp + slack, tap table, ct). */
export function conv2d_direct_ws_bytes(Cs: i32, Hs: i32, Ws: i32, Cd: i32, R: i32, S: i32, padH: i32, padW: i32): usize {
  const Wp = directPitch(Ws, S, padW);
  const Ho = Hs + 2 * padH - R + 1;
  const nv = ((Ho * Wp + NR - 1) / NR) * NR;
  const xp = (<usize>(Cs * directPlane(Hs, Ws, padH, padW, S) + S + 2 * NR) << 2) + 64;
  const tab = (<usize>(Cs * R * S) << 2) + 64;
  const ct = (<usize>(Cd * nv) << 2) + 64;
  const ap = (<usize>(((Cd + MR - 1) / MR) * MR * Cs * R * S) << 2) + 64;
  return xp + tab + ct + ap;
}

// @ts-ignore: decorator
@inline function align64(p: usize): usize {
  return (p + 63) & ~(<usize>63);
}

/**
 * y[n, Cd, Ho, Wo] (+)= Σ w-taps · src[n, Cs, Hs, Ws], stride 1, zero padding (padH, padW).
 * flip = 0: forward conv, w[Cd, Cs, R, S]. flip = 1: the input gradient of a conv whose weights are
 * w[Cs, Cd, R, S] (Cs = that conv's outputs): A(cd, (cs, rs)) = w[cs, cd, R·S − 1 − rs].
 */
export function conv2d_direct_f32(
  src: usize, w: usize, y: usize,
  N: i32, Cs: i32, Hs: i32, Ws: i32, Cd: i32, R: i32, S: i32, padH: i32, padW: i32,
  accumulate: i32, flip: i32, ws: usize,
): void {
  const Wp = directPitch(Ws, S, padW);
  const Ho = Hs + 2 * padH - R + 1;
  const Wo = Ws + 2 * padW - S + 1;
  const RS = R * S;
  const K = Cs * RS;
  const nvReal = Ho * Wp;
  const xp = align64(ws);
  const plane = directPlane(Hs, Ws, padH, padW, S);
  const tab = align64(xp + (<usize>(Cs * plane + S + 2 * NR) << 2));
  const ct = align64(tab + (<usize>K << 2));
  const nvPad = ((nvReal + NR - 1) / NR) * NR;
  const apk = align64(ct + (<usize>(Cd * nvPad) << 2));
  // tap table: byte offset of (c, r, s) in xp
  for (let c = 0; c < Cs; c++) {
    for (let r = 0; r < R; r++) {
      for (let q = 0; q < S; q++) store<i32>(tab + (<usize>(c * RS + r * S + q) << 2), (c * plane + r * Wp + q) << 2);
    }
  }
  // zero the padded planes once; interiors are overwritten per image, borders and slack stay zero
  memory.fill(xp, 0, <usize>(Cs * plane + S + 2 * NR) << 2);
  gAC = Cd;
  gR = R;
  gS = S;
  const aMode = flip ? A_CONVW_TF : A_DENSE;
  const srcStride = <usize>(Cs * Hs * Ws) << 2;
  const yStride = <usize>(Cd * Ho * Wo) << 2;
  // pack the weights once for all images: block (pc, ic) at apk + (pc·Mpad + ic·kc)·4 floats
  const Mpad = ((Cd + MR - 1) / MR) * MR;
  for (let pc = 0; pc < K; pc += KC) {
    const kc = min(KC, K - pc);
    for (let ic = 0; ic < Cd; ic += MC) {
      const mc = min(MC, Cd - ic);
      packABlock(aMode, w, K, ic, pc, mc, kc);
      const mcPad = ((mc + MR - 1) / MR) * MR;
      memory.copy(apk + ((<usize>pc * <usize>Mpad + <usize>ic * <usize>kc) << 2), packA(), <usize>(mcPad * kc) << 2);
    }
  }
  for (let n = 0; n < N; n++) {
    const sn = src + <usize>n * srcStride;
    for (let c = 0; c < Cs; c++) {
      for (let iy = 0; iy < Hs; iy++) {
        memory.copy(
          xp + ((<usize>(c * plane + (iy + padH) * Wp + padW)) << 2),
          sn + ((<usize>((c * Hs + iy) * Ws)) << 2),
          <usize>Ws << 2,
        );
      }
    }
    // ct[Cd, nvReal] = A · taps(xp), K blocked by KC, M by MC
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      for (let ic = 0; ic < Cd; ic += MC) {
        const mc = min(MC, Cd - ic);
        const pa0 = apk + ((<usize>pc * <usize>Mpad + <usize>ic * <usize>kc) << 2);
        const tk = tab + (<usize>pc << 2);
        for (let jr = 0; jr < nvReal; jr += NR) {
          const nr = min(NR, nvReal - jr);
          const xcol = xp + (<usize>jr << 2);
          for (let ir = 0; ir < mc; ir += MR) {
            const mr = min(MR, mc - ir);
            const pa = pa0 + ((<usize>ir * <usize>kc) << 2);
            micro4x8Taps(kc, pa, tk, xcol, ct + ((<usize>(ic + ir) * <usize>nvReal + <usize>jr) << 2), nvReal, pc > 0, mr, nr);
          }
        }
      }
    }
    // compact ct rows (stride Wp) into y rows (stride Wo)
    const yn = y + <usize>n * yStride;
    for (let c = 0; c < Cd; c++) {
      for (let oy = 0; oy < Ho; oy++) {
        const from = ct + ((<usize>(c * nvReal + oy * Wp)) << 2);
        const to = yn + ((<usize>((c * Ho + oy) * Wo)) << 2);
        if (accumulate) {
          let ox = 0;
          for (; ox + 4 <= Wo; ox += 4) {
            const o = <usize>ox << 2;
            v128.store(to + o, f32x4.add(v128.load(to + o), v128.load(from + o)));
          }
          for (; ox < Wo; ox++) {
            const o = <usize>ox << 2;
            store<f32>(to + o, load<f32>(to + o) + load<f32>(from + o));
          }
        } else {
          memory.copy(to, from, <usize>Wo << 2);
        }
      }
    }
  }
}

// ---- scalar twin -------------------------------------------------------------------------------------

/**
 * The scalar twin of gemm_f32: the same arithmetic in the same order (per element, k ascending within
 * blocks of KC in f32, each block added to C in order), one element at a time. Without FMA the SIMD
 * kernel must match it bit for bit; the tests hold it to that.
 */
export function gemm_scalar_f32(
  transA: i32, transB: i32, M: i32, N: i32, K: i32,
  a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, accumulate: i32,
): void {
  const sai = transA ? 1 : lda;
  const sak = transA ? lda : 1;
  const sbk = transB ? 1 : ldb;
  const sbj = transB ? ldb : 1;
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      const cp = c + ((<usize>i * <usize>ldc + <usize>j) << 2);
      let cv: f32 = accumulate ? load<f32>(cp) : 0;
      for (let pc = 0; pc < K; pc += KC) {
        const kc = min(KC, K - pc);
        let s: f32 = 0;
        for (let k = pc; k < pc + kc; k++) {
          s += load<f32>(a + ((<usize>i * <usize>sai + <usize>k * <usize>sak) << 2)) * load<f32>(b + ((<usize>k * <usize>sbk + <usize>j * <usize>sbj) << 2));
        }
        cv = pc == 0 && !accumulate ? s : cv + s;
      }
      store<f32>(cp, cv);
    }
  }
}

// ---- input gradient through col2im (strided convolutions) -------------------------------------------

/** Workspace bytes for conv2d_bwd_input_col2im_f32: one image's column matrix [Ci·R·S, Ho·Wo]. */
export function conv2d_col2im_ws_bytes(Ci: i32, R: i32, S: i32, Ho: i32, Wo: i32): usize {
  return (<usize>(Ci * R * S * Ho * Wo) << 2) + 64;
}

/**
 * dx[n, Ci, H, W] (+)= col2im(wᵀ · dy[n]): the GEMM dcol[Ci·R·S, Ho·Wo] = wᵀ[Ci·R·S, Co] · dy[Co, Ho·Wo]
 * at full speed, then each column entry is added to the input pixel it came from, taps (r, s) in
 * ascending order. Used for strided convolutions, where gathering dy per input pixel (B_GATHER) is slow.
 */
export function conv2d_bwd_input_col2im_f32(
  dy: usize, w: usize, dx: usize,
  N: i32, Ci: i32, H: i32, W: i32, Co: i32, R: i32, S: i32, st: i32, pad: i32, Ho: i32, Wo: i32,
  accumulate: i32, ws: usize,
): void {
  const dcol = (ws + 63) & ~(<usize>63);
  const RS = R * S;
  const P = Ho * Wo;
  const xs = <usize>(Ci * H * W) << 2;
  const ys = <usize>(Co * P) << 2;
  for (let n = 0; n < N; n++) {
    const dxn = dx + <usize>n * xs;
    gemmDriver(Ci * RS, P, Co, A_TRANS, w, Ci * RS, B_DENSE, dy + <usize>n * ys, P, dcol, P, false);
    if (!accumulate) memory.fill(dxn, 0, xs);
    for (let ci = 0; ci < Ci; ci++) {
      const plane = dxn + ((<usize>(ci * H * W)) << 2);
      for (let r = 0; r < R; r++) {
        let s0 = 0;
        if (st == 2 && S >= 2) {
          // taps s = 0 and 1 of stride 2 fill interleaved columns 2·ox − pad and 2·ox − pad + 1: add both
          // with one interleave, 4 ox at a time where all 8 columns are inside the row. Each dx element
          // gets at most one of the two, so the order of additions per element is unchanged.
          s0 = 2;
          const c0 = dcol + ((<usize>((ci * RS + r * S) * P)) << 2);
          const c1 = c0 + (<usize>P << 2);
          const lo = max(0, (pad + 1) / 2); // ix0 = 2·ox − pad >= 0
          const hiNum = W - 2 + pad; // ix0 + 1 <= W − 1
          const hi = hiNum < 0 ? -1 : min(Wo - 1, hiNum / 2);
          for (let oy = 0; oy < Ho; oy++) {
            const iy = oy * st - pad + r;
            if (<u32>iy >= <u32>H) continue;
            const row = plane + ((<usize>(iy * W)) << 2);
            const a0 = c0 + ((<usize>(oy * Wo)) << 2);
            const a1 = c1 + ((<usize>(oy * Wo)) << 2);
            let ox = lo;
            for (; ox + 3 <= hi; ox += 4) {
              const v0 = v128.load(a0 + (<usize>ox << 2));
              const v1 = v128.load(a1 + (<usize>ox << 2));
              const p = row + ((<usize>(2 * ox - pad)) << 2);
              v128.store(p, f32x4.add(v128.load(p), v128.shuffle<f32>(v0, v1, 0, 4, 1, 5)));
              v128.store(p, f32x4.add(v128.load(p, 16), v128.shuffle<f32>(v0, v1, 2, 6, 3, 7)), 16);
            }
            for (; ox <= hi; ox++) {
              const p = row + ((<usize>(2 * ox - pad)) << 2);
              store<f32>(p, load<f32>(p) + load<f32>(a0 + (<usize>ox << 2)));
              store<f32>(p, load<f32>(p, 4) + load<f32>(a1 + (<usize>ox << 2)), 4);
            }
            // the ox outside [lo, hi]: each tap on its own, where its column is inside the row
            for (let s = 0; s < 2; s++) {
              const col = s == 0 ? a0 : a1;
              for (let o = 0; o < Wo; o++) {
                if (o >= lo && o <= hi) continue;
                const ix = 2 * o - pad + s;
                if (<u32>ix >= <u32>W) continue;
                const p = row + ((<usize>ix) << 2);
                store<f32>(p, load<f32>(p) + load<f32>(col + (<usize>o << 2)));
              }
            }
          }
        }
        for (let s = s0; s < S; s++) {
          const col = dcol + ((<usize>((ci * RS + r * S + s) * P)) << 2);
          // output columns whose input column ix = ox·st − pad + s lies in [0, W)
          const hiNum = W - 1 + pad - s;
          if (hiNum < 0) continue; // every ix > W − 1 (and integer division would round toward 0)
          const oxLo = max(0, (pad - s + st - 1) / st);
          const oxHi = min(Wo - 1, hiNum / st);
          for (let oy = 0; oy < Ho; oy++) {
            const iy = oy * st - pad + r;
            if (<u32>iy >= <u32>H) continue;
            const row = plane + ((<usize>(iy * W)) << 2);
            const src = col + ((<usize>(oy * Wo)) << 2);
            for (let ox = oxLo; ox <= oxHi; ox++) {
              const p = row + ((<usize>(ox * st - pad + s)) << 2);
              store<f32>(p, load<f32>(p) + load<f32>(src + (<usize>ox << 2)));
            }
          }
        }
      }
    }
  }
}
