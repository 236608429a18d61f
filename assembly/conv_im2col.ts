// Convolutions as GEMM (NCHW, weights [Co, Ci, R, S], square stride and zero padding): the passes the
// faster paths (winograd.ts for 3x3 pad 1 stride 1 with >= 8 channels, conv_direct.ts for other stride-1
// forward and input-gradient passes) do not cover. The TS front (src/kernels/wasm/conv.ts) picks the path.
//
// - forward: B = im2col(x) packed on the fly, no im2col buffer (1x1 stride 1: x itself);
// - input gradient, stride 1: the transposed convolution with B gathered from dy;
// - input gradient, strided: a GEMM into a column matrix (workspace), then col2im;
// - weight gradient: B = im2col(x)ᵀ, images summed in ascending order.

import { align64 } from "./blocking";
import { gemm, gemmDriver } from "./gemm";
import { A_CONVW_T, A_DENSE, A_TRANS, B_DENSE, B_GATHER, B_IM2COL, B_IM2COL_T, B_TRANS } from "./pack";

/** y[n,Co,Ho,Wo] (+)= conv(x[n,Ci,H,W], w[Co,Ci,R,S]); GEMM with M=Co, N=Ho*Wo, K=Ci*R*S, B = im2col(x). */
export function conv2d_f32(
  x: usize, w: usize, y: usize,
  N: i32, Ci: i32, H: i32, W: i32, Co: i32, R: i32, S: i32, st: i32, pad: i32, Ho: i32, Wo: i32,
  accumulate: i32,
): void {
  const xs = <usize>(Ci * H * W) << 2;
  const ys = <usize>(Co * Ho * Wo) << 2;
  const pointwise = R == 1 && S == 1 && st == 1 && pad == 0;
  for (let n = 0; n < N; n++) {
    const xn = x + <usize>n * xs;
    const yn = y + <usize>n * ys;
    if (pointwise) gemm(Co, H * W, Ci, A_DENSE, w, Ci, B_DENSE, xn, H * W, yn, H * W, accumulate != 0);
    else gemmDriver(Co, Ho * Wo, Ci * R * S, A_DENSE, w, Ci * R * S, B_IM2COL, xn, 0, yn, Ho * Wo, accumulate != 0, H, W, Wo, R, S, st, pad, Ci);
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
  for (let n = 0; n < N; n++) {
    const dyn = dy + <usize>n * ys;
    const dxn = dx + <usize>n * xs;
    if (pointwise) gemm(Ci, H * W, Co, A_TRANS, w, Ci, B_DENSE, dyn, H * W, dxn, H * W, accumulate != 0);
    else gemmDriver(Ci, H * W, Co * R * S, A_CONVW_T, w, 0, B_GATHER, dyn, 0, dxn, H * W, accumulate != 0, Ho, Wo, W, R, S, st, pad, Ci);
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
  for (let n = 0; n < N; n++) {
    const xn = x + <usize>n * xs;
    const dyn = dy + <usize>n * ys;
    const acc = accumulate != 0 || n > 0;
    if (pointwise) gemm(Co, Ci, H * W, A_DENSE, dyn, H * W, B_TRANS, xn, H * W, dw, Ci, acc);
    else gemmDriver(Co, Ci * R * S, Ho * Wo, A_DENSE, dyn, Ho * Wo, B_IM2COL_T, xn, 0, dw, Ci * R * S, acc, H, W, Wo, R, S, st, pad, Ci);
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
  const dcol = align64(ws);
  const RS = R * S;
  const P = Ho * Wo;
  const xs = <usize>(Ci * H * W) << 2;
  const ys = <usize>(Co * P) << 2;
  for (let n = 0; n < N; n++) {
    const dxn = dx + <usize>n * xs;
    gemm(Ci * RS, P, Co, A_TRANS, w, Ci * RS, B_DENSE, dy + <usize>n * ys, P, dcol, P, false);
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
