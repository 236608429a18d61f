// Direct convolution, stride 1: the forward pass, and the input gradient as a convolution with the
// flipped kernel, for the shapes Winograd (winograd.ts) does not take. The micro-kernel is
// microkernels.ts micro4x8Taps.
//
// The image is copied once into zero-padded planes xp[Cs] of row pitch Wp: x[c, iy, ix] sits at
// xp + c·plane + (iy + padH)·Wp + padW + ix. Output (oy, ox) for tap (c, r, s) then reads
// xp + c·plane + r·Wp + s + q with q = oy·Wp + ox, so over "virtual" columns q = 0 .. Ho·Wp − 1 every tap
// is one contiguous run: the micro-kernel reads B straight from xp through a table of tap offsets (no
// im2col, no B packing). Consecutive rows share their zero gap (Wp − Ws ≥ padW serves as the right pad of
// one row and the left pad of the next), so only Wp − Wo columns per row (1 for 3x3 pad 1) are wasted;
// they are computed and dropped when ct[Cd, Ho·Wp] is compacted into y.

import { align64, KC, MC, MR, NR, packA } from "./blocking";
import { micro4x8Taps } from "./microkernels";
import { A_CONVW_TF, A_DENSE, packABlock } from "./pack";

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
  const aMode = flip ? A_CONVW_TF : A_DENSE;
  const srcStride = <usize>(Cs * Hs * Ws) << 2;
  const yStride = <usize>(Cd * Ho * Wo) << 2;
  // pack the weights once for all images: block (pc, ic) at apk + (pc·Mpad + ic·kc)·4 floats
  const Mpad = ((Cd + MR - 1) / MR) * MR;
  for (let pc = 0; pc < K; pc += KC) {
    const kc = min(KC, K - pc);
    for (let ic = 0; ic < Cd; ic += MC) {
      const mc = min(MC, Cd - ic);
      packABlock(aMode, w, K, ic, pc, mc, kc, RS, Cd);
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
