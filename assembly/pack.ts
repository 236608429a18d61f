// Packing of GEMM operands into the panels the micro-kernels read (GotoBLAS-style): a block of A into
// 4-row panels, a block of B into 8-column panels, zero-padded past the matrix so the micro-kernel always
// runs a full tile. Packing also absorbs transposes and convolution indexing, which is how one GEMM driver
// does A·B, Aᵀ·B, A·Bᵀ and, for convolutions, im2col(x) packed on the fly (no im2col buffer), dy gathered
// for the transposed convolution, and im2col(x)ᵀ for the weight gradient.
//
// Convolution geometry is passed down with the operand (the matrix modes ignore it):
//   srcH, srcW     the source image (x: H, W; dy: Ho, Wo)
//   gridW          the width of the spatial grid that j (B_IM2COL, B_GATHER) or k (B_IM2COL_T) runs over
//   R, S, st, pad  kernel size, stride, zero padding
//   RS, aC         A_CONVW_T(F): R·S and the weights' second dimension (w[·, aC, R, S])

import { MR, NR, packA, packB } from "./blocking";

// ---- operand modes -------------------------------------------------------------------------------
// A modes: element A(i, k)
export const A_DENSE: i32 = 0; // A[i*lda + k]
export const A_TRANS: i32 = 1; // A[k*lda + i]
export const A_CONVW_T: i32 = 2; // weights w[Co, Ci, R, S]: A(ci, (co, rs)) = w[co*Ci*RS + ci*RS + rs], aC = Ci
export const A_CONVW_TF: i32 = 3; // the same, kernel flipped: A(ci, (co, rs)) = w[co*Ci*RS + ci*RS + RS-1-rs]
// B modes: element B(k, j)
export const B_DENSE: i32 = 0; // B[k*ldb + j]
export const B_TRANS: i32 = 1; // B[j*ldb + k]
export const B_IM2COL: i32 = 2; // x[C,H,W]: B((c,r,s), (oy,ox)) = x[c, oy*st-pad+r, ox*st-pad+s]
export const B_IM2COL_T: i32 = 3; // B((oy,ox), (c,r,s)) = x[c, oy*st-pad+r, ox*st-pad+s]
export const B_GATHER: i32 = 4; // dy[Co,Ho,Wo]: B((co,r,s), (y,x)) = dy[co, (y+pad-r)/st, (x+pad-s)/st] if exact

/** Pack rows [i0, i0+mc) x cols [k0, k0+kc) of A into 4-row panels: panel p holds A(i0+4p+r, k0+k) at [k*4+r]. */
export function packABlock(mode: i32, a: usize, lda: i32, i0: i32, k0: i32, mc: i32, kc: i32, RS: i32, aC: i32): void {
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
          const flip = mode == A_CONVW_TF;
          const coStride = aC * RS;
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
export function packBBlock(
  mode: i32, b: usize, ldb: i32, k0: i32, j0: i32, kc: i32, nc: i32,
  srcH: i32, srcW: i32, gridW: i32, R: i32, S: i32, st: i32, pad: i32,
): void {
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
      packIm2colT(b, dst, k0, j, kc, cols, srcH, srcW, gridW, R, S, st, pad);
    } else {
      packIm2col(mode, b, dst, k0, j, kc, cols, srcH, srcW, gridW, R, S, st, pad);
    }
    dst += <usize>(kc * NR) << 2;
  }
}

/**
 * B_IM2COL / B_GATHER panel: columns j..j+cols are spatial positions of a grid of width gridW, rows
 * k0..k0+kc are (channel, r, s). Works on runs of columns that share a grid row.
 */
function packIm2col(
  mode: i32, src: usize, dst: usize, k0: i32, j: i32, kc: i32, cols: i32,
  H: i32, W: i32, gridW: i32, R: i32, S: i32, st: i32, pad: i32,
): void {
  const RS = R * S;
  const gather = mode == B_GATHER;
  const oy0 = j / gridW;
  const ox0 = j - oy0 * gridW;
  let ch = k0 / RS;
  let rs = k0 - ch * RS;
  let r = rs / S;
  let s = rs - r * S;
  for (let k = 0; k < kc; k++) {
    const d = dst + (<usize>k << 5);
    const plane = src + ((<usize>ch * <usize>H * <usize>W) << 2);
    let c = 0;
    let oy = oy0;
    let ox = ox0;
    while (c < cols) {
      const run = min(cols - c, gridW - ox);
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
    if (s == S) {
      s = 0;
      r++;
      if (r == R) {
        r = 0;
        ch++;
      }
    }
  }
}

/** B_IM2COL_T panel: rows k0..k0+kc are output positions of a grid of width gridW; columns are (c, r, s). */
function packIm2colT(
  src: usize, dst: usize, k0: i32, j: i32, kc: i32, cols: i32,
  H: i32, W: i32, gridW: i32, R: i32, S: i32, st: i32, pad: i32,
): void {
  const RS = R * S;
  for (let c = 0; c < NR; c++) {
    const d = dst + (<usize>c << 2);
    if (c >= cols) {
      for (let k = 0; k < kc; k++) store<f32>(d + (<usize>k << 5), 0);
      continue;
    }
    const jj = j + c;
    const ch = jj / RS;
    const rs = jj - ch * RS;
    const r = rs / S;
    const s = rs - r * S;
    const plane = src + ((<usize>ch * <usize>H * <usize>W) << 2);
    let oy = k0 / gridW;
    let ox = k0 - oy * gridW;
    let k = 0;
    while (k < kc) {
      const run = min(kc - k, gridW - ox);
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
