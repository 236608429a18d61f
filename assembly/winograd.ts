// 3x3 convolution, stride 1, pad 1, by Winograd's minimal filtering F(2x2, 3x3) (Lavin & Gray 2016,
// "Fast Algorithms for Convolutional Neural Networks", §4): each 2x2 output tile is A^T [ (G g G^T) ⊙
// (B^T d B) ] A over a 4x4 input patch d, so the channel sums become 16 GEMMs (one per position ξ of
// the 4x4 transformed tile) with 2.25x fewer multiplies than direct convolution:
//
//   U[ξ][cd][cs] = (G g[cd,cs] G^T)[ξ]      weights, once per call (in f64, rounded once)
//   V[ξ][cs][t]  = (B^T d[cs,t] B)[ξ]       input tiles t of a chunk of images (SIMD, 4 tiles at a time)
//   M[ξ]         = U[ξ] · V[ξ]              16 GEMMs, K = cs (the GEMM driver of gemm.ts)
//   y[cd, tile t] = A^T M[·][cd][t] A       output tiles (SIMD, 4 tiles at a time)
//
// Every sum has a fixed order, so results are still deterministic and independent of batch position;
// they differ from direct convolution by rounding (the transforms add a few ulps; see the tests).
// flip = 1 runs the input gradient of a 3x3 pad-1 conv: weights w[Cs, Cd, 3, 3] used transposed and
// rotated by 180°, which is the same F(2x2, 3x3) convolution.

import { align64 } from "./blocking";
import { gemm } from "./gemm";
import { A_DENSE, B_DENSE, B_TRANS } from "./pack";

// The geometry of a call, from the image size (and, for the chunk, the batch): computed where needed.
/** Tile rows. */
// @ts-ignore: decorator
@inline function tilesH(H: i32): i32 {
  return (H + 1) >> 1;
}
/** Tile columns. */
// @ts-ignore: decorator
@inline function tilesW(W: i32): i32 {
  return (W + 1) >> 1;
}
/** Images per GEMM: enough tiles to fill the 8-wide panels, few enough to keep V and M of one ξ in cache. */
// @ts-ignore: decorator
@inline function chunkOf(N: i32, H: i32, W: i32): i32 {
  return max(1, min(N, 256 / (tilesH(H) * tilesW(W))));
}
/** Row pitch of V and M: the tiles of a chunk + SIMD slack. */
// @ts-ignore: decorator
@inline function pitchOf(N: i32, H: i32, W: i32): i32 {
  return chunkOf(N, H, W) * tilesH(H) * tilesW(W) + 8;
}
/** Padded image rows. */
// @ts-ignore: decorator
@inline function paddedH(H: i32): i32 {
  return 2 * tilesH(H) + 2;
}
/** Padded image columns: tile columns rounded up to 4, + slack. */
// @ts-ignore: decorator
@inline function paddedW(W: i32): i32 {
  return 2 * ((tilesW(W) + 3) & ~3) + 2 + 8;
}

/** Workspace bytes for conv3x3_wino_f32: U, V, M, the padded image. */
export function conv3x3_wino_ws_bytes(N: i32, Cs: i32, H: i32, W: i32, Cd: i32): usize {
  const Tp = pitchOf(N, H, W);
  const u = <usize>(16 * Cd * Cs) << 2;
  const v = <usize>(16 * Cs * Tp) << 2;
  const m = <usize>(16 * Cd * Tp) << 2;
  const xp = <usize>(Cs * paddedH(H) * paddedW(W) + 16) << 2;
  return u + v + m + xp + 64 + 5 * 64; // + output bounce tile, + alignment
}

/** U[ξ][cd][cs] = G g G^T with G = [[1,0,0],[½,½,½],[½,−½,½],[0,0,1]], in f64. */
function transformWeights(w: usize, u: usize, Cs: i32, Cd: i32, flip: i32): void {
  const plane = <usize>(Cd * Cs) << 2; // bytes between U[ξ] and U[ξ+1]
  for (let cd = 0; cd < Cd; cd++) {
    for (let cs = 0; cs < Cs; cs++) {
      // forward: g = w[cd, cs]; flip: g[r][s] = w[cs, cd, 2 − r, 2 − s]
      const base = w + (<usize>(flip ? (cs * Cd + cd) * 9 : (cd * Cs + cs) * 9) << 2);
      const o = flip ? 8 : 0;
      const sg: i32 = flip ? -1 : 1;
      let q = u + (<usize>(cd * Cs + cs) << 2);
      // columns j of G g: (g0, ½(g0 + g1 + g2), ½(g0 − g1 + g2), g2) over the rows g0, g1, g2
      for (let i = 0; i < 4; i++) {
        // row i of t = G g (three values over j), in f64
        let t0: f64 = 0;
        let t1: f64 = 0;
        let t2: f64 = 0;
        for (let j = 0; j < 3; j++) {
          const g0 = <f64>load<f32>(base + (<usize>(o + sg * j) << 2));
          const g1 = <f64>load<f32>(base + (<usize>(o + sg * (3 + j)) << 2));
          const g2 = <f64>load<f32>(base + (<usize>(o + sg * (6 + j)) << 2));
          const tij = i == 0 ? g0 : i == 1 ? 0.5 * (g0 + g1 + g2) : i == 2 ? 0.5 * (g0 - g1 + g2) : g2;
          if (j == 0) t0 = tij;
          else if (j == 1) t1 = tij;
          else t2 = tij;
        }
        // U[4i + j] = (t G^T)[i][j]
        store<f32>(q, <f32>t0);
        q += plane;
        store<f32>(q, <f32>(0.5 * (t0 + t1 + t2)));
        q += plane;
        store<f32>(q, <f32>(0.5 * (t0 - t1 + t2)));
        q += plane;
        store<f32>(q, <f32>t2);
        q += plane;
      }
    }
  }
}

/**
 * V[ξ][cs][t0 + t] for the tiles of one H x W image (padded copy at xp), 4 horizontally adjacent tiles per
 * step; Tp: row pitch of V. Lane l of a step is tile tx + l; its patch row i is xp[2ty + i][2(tx + l) .. + 3],
 * read as the even and odd lanes of 8 consecutive floats.
 */
function transformInput(xp: usize, v: usize, Cs: i32, t0: i32, H: i32, W: i32, Tp: i32): void {
  const Th = tilesH(H);
  const Tw = tilesW(W);
  const Wp = paddedW(W);
  const plane = paddedH(H) * Wp;
  const xiStride = <usize>(Cs * Tp) << 2; // bytes between V[ξ] and V[ξ+1]
  for (let cs = 0; cs < Cs; cs++) {
    const pl = xp + (<usize>(cs * plane) << 2);
    for (let ty = 0; ty < Th; ty++) {
      for (let tx = 0; tx < Tw; tx += 4) {
        let p = pl + (<usize>(2 * ty * Wp + 2 * tx) << 2);
        // rows of the patch: d[i][j] for 4 tiles; then B^T on rows (combining i) and B on columns (j)
        let a = v128.load(p);
        let b = v128.load(p, 16);
        let c = v128.load(p, 8);
        let e = v128.load(p, 24);
        const d00 = v128.shuffle<f32>(a, b, 0, 2, 4, 6);
        const d01 = v128.shuffle<f32>(a, b, 1, 3, 5, 7);
        const d02 = v128.shuffle<f32>(c, e, 0, 2, 4, 6);
        const d03 = v128.shuffle<f32>(c, e, 1, 3, 5, 7);
        p += <usize>Wp << 2;
        a = v128.load(p);
        b = v128.load(p, 16);
        c = v128.load(p, 8);
        e = v128.load(p, 24);
        const d10 = v128.shuffle<f32>(a, b, 0, 2, 4, 6);
        const d11 = v128.shuffle<f32>(a, b, 1, 3, 5, 7);
        const d12 = v128.shuffle<f32>(c, e, 0, 2, 4, 6);
        const d13 = v128.shuffle<f32>(c, e, 1, 3, 5, 7);
        p += <usize>Wp << 2;
        a = v128.load(p);
        b = v128.load(p, 16);
        c = v128.load(p, 8);
        e = v128.load(p, 24);
        const d20 = v128.shuffle<f32>(a, b, 0, 2, 4, 6);
        const d21 = v128.shuffle<f32>(a, b, 1, 3, 5, 7);
        const d22 = v128.shuffle<f32>(c, e, 0, 2, 4, 6);
        const d23 = v128.shuffle<f32>(c, e, 1, 3, 5, 7);
        p += <usize>Wp << 2;
        a = v128.load(p);
        b = v128.load(p, 16);
        c = v128.load(p, 8);
        e = v128.load(p, 24);
        const d30 = v128.shuffle<f32>(a, b, 0, 2, 4, 6);
        const d31 = v128.shuffle<f32>(a, b, 1, 3, 5, 7);
        const d32 = v128.shuffle<f32>(c, e, 0, 2, 4, 6);
        const d33 = v128.shuffle<f32>(c, e, 1, 3, 5, 7);
        // B^T d: rows r0 = d0 − d2, r1 = d1 + d2, r2 = d2 − d1, r3 = d1 − d3
        const r00 = f32x4.sub(d00, d20), r01 = f32x4.sub(d01, d21), r02 = f32x4.sub(d02, d22), r03 = f32x4.sub(d03, d23); // prettier-ignore
        const r10 = f32x4.add(d10, d20), r11 = f32x4.add(d11, d21), r12 = f32x4.add(d12, d22), r13 = f32x4.add(d13, d23); // prettier-ignore
        const r20 = f32x4.sub(d20, d10), r21 = f32x4.sub(d21, d11), r22 = f32x4.sub(d22, d12), r23 = f32x4.sub(d23, d13); // prettier-ignore
        const r30 = f32x4.sub(d10, d30), r31 = f32x4.sub(d11, d31), r32 = f32x4.sub(d12, d32), r33 = f32x4.sub(d13, d33); // prettier-ignore
        // (B^T d) B: the same combination on columns; store V[ξ = 4i + j]
        let q = v + ((<usize>(cs * Tp + t0 + ty * Tw + tx)) << 2);
        q = storeRow(q, xiStride, r00, r01, r02, r03);
        q = storeRow(q, xiStride, r10, r11, r12, r13);
        q = storeRow(q, xiStride, r20, r21, r22, r23);
        storeRow(q, xiStride, r30, r31, r32, r33);
      }
    }
  }
}

// @ts-ignore: decorator
@inline function storeRow(q: usize, step: usize, x0: v128, x1: v128, x2: v128, x3: v128): usize {
  v128.store(q, f32x4.sub(x0, x2));
  q += step;
  v128.store(q, f32x4.add(x1, x2));
  q += step;
  v128.store(q, f32x4.sub(x2, x1));
  q += step;
  v128.store(q, f32x4.sub(x1, x3));
  return q + step;
}

/**
 * y[cd, 2ty + a, 2tx + b] (+)= (A^T M A)[a][b] with A^T = [[1, 1, 1, 0], [0, 1, −1, −1]], for the tiles
 * of one image (columns t0 .. t0 + T of M, row pitch Tp), 4 tiles per step; outputs past H or W are not
 * written. t: a 64-byte bounce area for output rows.
 */
function transformOutput(m: usize, y: usize, Cd: i32, H: i32, W: i32, t0: i32, Tp: i32, accumulate: bool, t: usize): void {
  const Th = tilesH(H);
  const Tw = tilesW(W);
  const xiStride = <usize>(Cd * Tp) << 2;
  for (let cd = 0; cd < Cd; cd++) {
    const yc = y + ((<usize>(cd * H * W)) << 2);
    for (let ty = 0; ty < Th; ty++) {
      for (let tx = 0; tx < Tw; tx += 4) {
        let q = m + ((<usize>(cd * Tp + t0 + ty * Tw + tx)) << 2);
        // s_i = A^T on columns of row i of M (rows i = 0..3 are ξ = 4i .. 4i + 3)
        const m00 = v128.load(q);
        const m01 = v128.load(q + xiStride);
        const m02 = v128.load(q + 2 * xiStride);
        const m03 = v128.load(q + 3 * xiStride);
        q += 4 * xiStride;
        const m10 = v128.load(q);
        const m11 = v128.load(q + xiStride);
        const m12 = v128.load(q + 2 * xiStride);
        const m13 = v128.load(q + 3 * xiStride);
        q += 4 * xiStride;
        const m20 = v128.load(q);
        const m21 = v128.load(q + xiStride);
        const m22 = v128.load(q + 2 * xiStride);
        const m23 = v128.load(q + 3 * xiStride);
        q += 4 * xiStride;
        const m30 = v128.load(q);
        const m31 = v128.load(q + xiStride);
        const m32 = v128.load(q + 2 * xiStride);
        const m33 = v128.load(q + 3 * xiStride);
        // rows: u0 = m0 + m1 + m2, u1 = m1 − m2 − m3 (combining ξ rows i)
        const u00 = f32x4.add(f32x4.add(m00, m10), m20);
        const u01 = f32x4.add(f32x4.add(m01, m11), m21);
        const u02 = f32x4.add(f32x4.add(m02, m12), m22);
        const u03 = f32x4.add(f32x4.add(m03, m13), m23);
        const u10 = f32x4.sub(f32x4.sub(m10, m20), m30);
        const u11 = f32x4.sub(f32x4.sub(m11, m21), m31);
        const u12 = f32x4.sub(f32x4.sub(m12, m22), m32);
        const u13 = f32x4.sub(f32x4.sub(m13, m23), m33);
        // columns: y[a][0] = u0 + u1 + u2, y[a][1] = u1 − u2 − u3
        const y00 = f32x4.add(f32x4.add(u00, u01), u02);
        const y01 = f32x4.sub(f32x4.sub(u01, u02), u03);
        const y10 = f32x4.add(f32x4.add(u10, u11), u12);
        const y11 = f32x4.sub(f32x4.sub(u11, u12), u13);
        // interleave b = 0, 1 lanes: 8 consecutive output columns 2tx .. 2tx + 7 per output row
        v128.store(t, v128.shuffle<f32>(y00, y01, 0, 4, 1, 5));
        v128.store(t, v128.shuffle<f32>(y00, y01, 2, 6, 3, 7), 16);
        v128.store(t, v128.shuffle<f32>(y10, y11, 0, 4, 1, 5), 32);
        v128.store(t, v128.shuffle<f32>(y10, y11, 2, 6, 3, 7), 48);
        const x0 = 2 * tx;
        const cols = min(8, W - x0);
        for (let a = 0; a < 2; a++) {
          const oy = 2 * ty + a;
          if (oy >= H) break;
          const dst = yc + ((<usize>(oy * W + x0)) << 2);
          const src = t + (<usize>a << 5);
          if (cols == 8) {
            if (accumulate) {
              v128.store(dst, f32x4.add(v128.load(dst), v128.load(src)));
              v128.store(dst, f32x4.add(v128.load(dst, 16), v128.load(src, 16)), 16);
            } else {
              v128.store(dst, v128.load(src));
              v128.store(dst, v128.load(src, 16), 16);
            }
          } else {
            for (let j = 0; j < cols; j++) {
              const o = <usize>j << 2;
              const val = load<f32>(src + o);
              store<f32>(dst + o, accumulate ? load<f32>(dst + o) + val : val);
            }
          }
        }
      }
    }
  }
}

/**
 * y[N, Cd, H, W] (+)= conv3x3(src[N, Cs, H, W], w), stride 1, pad 1, by F(2x2, 3x3); ws: workspace of
 * conv3x3_wino_ws_bytes(N, Cs, H, W, Cd) bytes.
 */
export function conv3x3_wino_f32(
  src: usize, w: usize, y: usize, N: i32, Cs: i32, H: i32, W: i32, Cd: i32, accumulate: i32, flip: i32, ws: usize,
): void {
  const T = tilesH(H) * tilesW(W);
  const chunk = chunkOf(N, H, W);
  const Tp = pitchOf(N, H, W);
  const Wp = paddedW(W);
  const plane = paddedH(H) * Wp;
  const u = align64(ws);
  const v = align64(u + (<usize>(16 * Cd * Cs) << 2));
  const m = align64(v + (<usize>(16 * Cs * Tp) << 2));
  const xp = align64(m + (<usize>(16 * Cd * Tp) << 2));
  const tile = align64(xp + (<usize>(Cs * plane + 16) << 2));
  transformWeights(w, u, Cs, Cd, flip);
  // zero the padded image once: the interior is rewritten per image, the border stays zero
  memory.fill(xp, 0, <usize>(Cs * plane) << 2);
  const imgIn = <usize>(Cs * H * W) << 2;
  const imgOut = <usize>(Cd * H * W) << 2;
  for (let n0 = 0; n0 < N; n0 += chunk) {
    const nc = min(chunk, N - n0);
    for (let i = 0; i < nc; i++) {
      const sn = src + <usize>(n0 + i) * imgIn;
      for (let cs = 0; cs < Cs; cs++) {
        for (let iy = 0; iy < H; iy++) {
          memory.copy(xp + ((<usize>(cs * plane + (iy + 1) * Wp + 1)) << 2), sn + ((<usize>((cs * H + iy) * W)) << 2), <usize>W << 2);
        }
      }
      transformInput(xp, v, Cs, i * T, H, W, Tp);
    }
    const Tc = nc * T;
    for (let xi = 0; xi < 16; xi++) {
      gemm(
        Cd, Tc, Cs,
        A_DENSE, u + ((<usize>(xi * Cd * Cs)) << 2), Cs,
        B_DENSE, v + ((<usize>(xi * Cs * Tp)) << 2), Tp,
        m + ((<usize>(xi * Cd * Tp)) << 2), Tp, false,
      );
    }
    for (let i = 0; i < nc; i++) {
      transformOutput(m, y + <usize>(n0 + i) * imgOut, Cd, H, W, i * T, Tp, accumulate != 0, tile);
    }
  }
}

// ---- weight gradient ------------------------------------------------------------------------------------
//
// With Y = A^T [Σ_cs U ⊙ V] A per tile, the gradient of U[cd, cs] is Σ_tiles (A dY A^T) ⊙ V[cs] and
// dg = G^T dU G. So: V from x as in the forward pass, Z[ξ][cd][t] = (A dy_tile A^T)[ξ] from the output
// gradient (2x2 tiles, zero past H, W), 16 GEMMs dU[ξ] = Z[ξ]·V[ξ]^T (K = tiles, accumulated over image
// chunks in order), then dw (+)= G^T dU G in f64.

/** Workspace bytes for conv3x3_wino_bwd_w_f32. */
export function conv3x3_wino_bwd_w_ws_bytes(N: i32, Ci: i32, H: i32, W: i32, Co: i32): usize {
  const Tp = pitchOf(N, H, W);
  const plane = paddedH(H) * paddedW(W);
  const v = <usize>(16 * Ci * Tp) << 2;
  const z = <usize>(16 * Co * Tp) << 2;
  const du = <usize>(16 * Co * Ci) << 2;
  const xp = <usize>(Ci * plane + 16) << 2;
  const dyp = <usize>(Co * plane + 16) << 2;
  return v + z + du + xp + dyp + 6 * 64;
}

/** Z[ξ][cd][t0 + t] = (A dy A^T)[ξ], A = [[1, 0], [1, 1], [1, −1], [0, −1]], for one H x W image's tiles. */
function transformGrad(dyp: usize, z: usize, Cd: i32, t0: i32, H: i32, W: i32, Tp: i32): void {
  const Th = tilesH(H);
  const Tw = tilesW(W);
  const Wp = paddedW(W);
  const plane = paddedH(H) * Wp;
  const xiStride = <usize>(Cd * Tp) << 2;
  for (let cd = 0; cd < Cd; cd++) {
    const pl = dyp + (<usize>(cd * plane) << 2);
    for (let ty = 0; ty < Th; ty++) {
      for (let tx = 0; tx < Tw; tx += 4) {
        const p = pl + (<usize>(2 * ty * Wp + 2 * tx) << 2);
        let a = v128.load(p);
        let b = v128.load(p, 16);
        const e0 = v128.shuffle<f32>(a, b, 0, 2, 4, 6); // dy[2ty][2tx']
        const e1 = v128.shuffle<f32>(a, b, 1, 3, 5, 7); // dy[2ty][2tx' + 1]
        a = v128.load(p + (<usize>Wp << 2));
        b = v128.load(p + (<usize>Wp << 2), 16);
        const f0 = v128.shuffle<f32>(a, b, 0, 2, 4, 6);
        const f1 = v128.shuffle<f32>(a, b, 1, 3, 5, 7);
        // A dy: rows (e, e + f, e − f, −f), per column 0, 1
        const r00 = e0;
        const r01 = e1;
        const r10 = f32x4.add(e0, f0);
        const r11 = f32x4.add(e1, f1);
        const r20 = f32x4.sub(e0, f0);
        const r21 = f32x4.sub(e1, f1);
        const r30 = f32x4.neg(f0);
        const r31 = f32x4.neg(f1);
        // (A dy) A^T: columns (c0, c0 + c1, c0 − c1, −c1) per row; ξ = 4i + j
        let q = z + ((<usize>(cd * Tp + t0 + ty * Tw + tx)) << 2);
        q = storeGradRow(q, xiStride, r00, r01);
        q = storeGradRow(q, xiStride, r10, r11);
        q = storeGradRow(q, xiStride, r20, r21);
        storeGradRow(q, xiStride, r30, r31);
      }
    }
  }
}

// @ts-ignore: decorator
@inline function storeGradRow(q: usize, step: usize, c0: v128, c1: v128): usize {
  v128.store(q, c0);
  q += step;
  v128.store(q, f32x4.add(c0, c1));
  q += step;
  v128.store(q, f32x4.sub(c0, c1));
  q += step;
  v128.store(q, f32x4.neg(c1));
  return q + step;
}

/**
 * dw[Co, Ci, 3, 3] (+)= ∂(Σ y·dy)/∂w for the 3x3 stride-1 pad-1 convolution of x[N, Ci, H, W], by
 * F(2x2, 3x3); ws: conv3x3_wino_bwd_w_ws_bytes(N, Ci, H, W, Co) bytes.
 */
export function conv3x3_wino_bwd_w_f32(
  x: usize, dy: usize, dw: usize, N: i32, Ci: i32, H: i32, W: i32, Co: i32, accumulate: i32, ws: usize,
): void {
  const T = tilesH(H) * tilesW(W);
  const chunk = chunkOf(N, H, W);
  const Tp = pitchOf(N, H, W);
  const Wp = paddedW(W);
  const plane = paddedH(H) * Wp;
  const v = align64(ws);
  const z = align64(v + (<usize>(16 * Ci * Tp) << 2));
  const du = align64(z + (<usize>(16 * Co * Tp) << 2));
  const xp = align64(du + (<usize>(16 * Co * Ci) << 2));
  const dyp = align64(xp + (<usize>(Ci * plane + 16) << 2));
  memory.fill(xp, 0, <usize>(Ci * plane) << 2);
  memory.fill(dyp, 0, <usize>(Co * plane) << 2);
  const imgX = <usize>(Ci * H * W) << 2;
  const imgY = <usize>(Co * H * W) << 2;
  for (let n0 = 0; n0 < N; n0 += chunk) {
    const nc = min(chunk, N - n0);
    for (let i = 0; i < nc; i++) {
      const xn = x + <usize>(n0 + i) * imgX;
      const yn = dy + <usize>(n0 + i) * imgY;
      for (let c = 0; c < Ci; c++) {
        for (let iy = 0; iy < H; iy++) {
          memory.copy(xp + ((<usize>(c * plane + (iy + 1) * Wp + 1)) << 2), xn + ((<usize>((c * H + iy) * W)) << 2), <usize>W << 2);
        }
      }
      // dy tiles start at (2ty, 2tx): copied unshifted; rows/columns past H, W stay zero
      for (let c = 0; c < Co; c++) {
        for (let iy = 0; iy < H; iy++) {
          memory.copy(dyp + ((<usize>(c * plane + iy * Wp)) << 2), yn + ((<usize>((c * H + iy) * W)) << 2), <usize>W << 2);
        }
      }
      transformInput(xp, v, Ci, i * T, H, W, Tp);
      transformGrad(dyp, z, Co, i * T, H, W, Tp);
    }
    const Tc = nc * T;
    for (let xi = 0; xi < 16; xi++) {
      gemm(
        Co, Ci, Tc,
        A_DENSE, z + ((<usize>(xi * Co * Tp)) << 2), Tp,
        B_TRANS, v + ((<usize>(xi * Ci * Tp)) << 2), Tp,
        du + ((<usize>(xi * Co * Ci)) << 2), Ci, n0 > 0,
      );
    }
  }
  // dw = G^T dU G, G^T = [[1, ½, ½, 0], [0, ½, −½, 0], [0, ½, ½, 1]], in f64
  const xiStride = <usize>(Co * Ci) << 2;
  for (let co = 0; co < Co; co++) {
    for (let ci = 0; ci < Ci; ci++) {
      const p = du + ((<usize>(co * Ci + ci)) << 2);
      const o = dw + ((<usize>((co * Ci + ci) * 9)) << 2);
      // rows of G^T dU: s_r[j] for r = 0..2 over the 4 columns j
      for (let j = 0; j < 3; j++) {
        // column combination (· G) for output column j uses dU columns 0..3 of each row
        for (let r = 0; r < 3; r++) {
          let acc: f64 = 0;
          for (let i = 0; i < 4; i++) {
            const gi = r == 0 ? (i == 0 ? 1.0 : i == 3 ? 0.0 : 0.5) : r == 1 ? (i == 1 ? 0.5 : i == 2 ? -0.5 : 0.0) : (i == 3 ? 1.0 : i == 0 ? 0.0 : 0.5);
            if (gi == 0) continue;
            let row: f64 = 0;
            for (let k = 0; k < 4; k++) {
              const gk = j == 0 ? (k == 0 ? 1.0 : k == 3 ? 0.0 : 0.5) : j == 1 ? (k == 1 ? 0.5 : k == 2 ? -0.5 : 0.0) : (k == 3 ? 1.0 : k == 0 ? 0.0 : 0.5);
              if (gk == 0) continue;
              row += gk * <f64>load<f32>(p + <usize>(4 * i + k) * xiStride);
            }
            acc += gi * row;
          }
          const at = o + (<usize>(r * 3 + j) << 2);
          store<f32>(at, accumulate ? <f32>(<f64>load<f32>(at) + acc) : <f32>acc);
        }
      }
    }
  }
}
