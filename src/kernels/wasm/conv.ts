// Convolutions on the WASM backend: which strategy runs a pass and the workspace it needs, chosen in one
// place (planConv), which both runs a pass and sizes scratch (arena.conv2dScratch). TS does the shapes;
// each strategy is one export of the module.
//
// Strategies, fastest first:
// - "winograd": Winograd F(2x2, 3x3) (assembly/winograd.ts) for 3x3 stride-1 pad-1 passes with >= 8
//   channels each way, unless the backend was created with `winograd: false`;
// - "direct": the direct stride-1 kernel (assembly/conv_direct.ts), which reads the taps of a zero-padded
//   copy of the image: the forward pass, and input gradients as the convolution of dy with the flipped
//   kernel (padding R − 1 − pad, so pad <= R − 1); not 1x1 unpadded, which is a plain GEMM;
// - "col2im": strided input gradients, a GEMM into a column matrix and col2im (gathering dy is slow);
// - "gemm": the GEMM driver with im2col / gather packing, no workspace (assembly/conv_im2col.ts).

import type { ConvDims } from "../args.ts";
import type { ConvPass, Exports } from "./abi.ts";

export type ConvStrategy = "winograd" | "direct" | "col2im" | "gemm";

/** How a pass runs, and the workspace bytes it takes above the arena top (0: none). */
export interface ConvPlan {
  readonly strategy: ConvStrategy;
  readonly bytes: number;
}

/** Whether a convolution pass runs as Winograd F(2x2, 3x3) when the backend has Winograd on. */
export function usesWinograd(d: ConvDims, pass: ConvPass): boolean {
  void pass; // the same condition for all three passes
  return d.R === 3 && d.S === 3 && d.st === 1 && d.pad === 1 && d.Ci >= 8 && d.Co >= 8;
}

/**
 * The source and destination of a pass that reads an image: fwd reads x [Ci, H, W] into y [Co]; bwd
 * reads dy [Co, Ho, Wo] into dx [Ci], with the kernel flipped and padding R − 1 − pad (S − 1 − pad).
 */
function source(d: ConvDims, pass: "fwd" | "bwd") {
  return pass === "fwd"
    ? { Cs: d.Ci, Hs: d.H, Ws: d.W, Cd: d.Co, padH: d.pad, padW: d.pad }
    : { Cs: d.Co, Hs: d.Ho, Ws: d.Wo, Cd: d.Ci, padH: d.R - 1 - d.pad, padW: d.S - 1 - d.pad };
}

/** The strategy for one pass of `d`, and its workspace. */
export function planConv(e: Exports, d: ConvDims, pass: ConvPass, winograd: boolean): ConvPlan {
  if (winograd && usesWinograd(d, pass)) {
    if (pass === "wgrad") return { strategy: "winograd", bytes: e.conv3x3_wino_bwd_w_ws_bytes(d.N, d.Ci, d.H, d.W, d.Co) >>> 0 };
    const s = source(d, pass);
    return { strategy: "winograd", bytes: e.conv3x3_wino_ws_bytes(d.N, s.Cs, d.H, d.W, s.Cd) >>> 0 };
  }
  if (pass === "wgrad") return { strategy: "gemm", bytes: 0 };
  const pointwise = d.R === 1 && d.S === 1 && d.pad === 0;
  if (d.st === 1 && !pointwise && (pass === "fwd" || (d.pad <= d.R - 1 && d.pad <= d.S - 1))) {
    const s = source(d, pass);
    return { strategy: "direct", bytes: e.conv2d_direct_ws_bytes(s.Cs, s.Hs, s.Ws, s.Cd, d.R, d.S, s.padH, s.padW) >>> 0 };
  }
  if (pass === "bwd" && d.st > 1) return { strategy: "col2im", bytes: e.conv2d_col2im_ws_bytes(d.Ci, d.R, d.S, d.Ho, d.Wo) >>> 0 };
  return { strategy: "gemm", bytes: 0 };
}

/**
 * Run one pass as planned, on pointers a, b, c (fwd: x, w, y; bwd: dy, w, dx; wgrad: x, dy, dw) with `ws`
 * the workspace of plan.bytes bytes.
 */
export function runConv(e: Exports, plan: ConvPlan, pass: ConvPass, a: number, b: number, c: number, d: ConvDims, accumulate: boolean, ws: number): void {
  const acc = +accumulate;
  const { N, Ci, H, W, Co, R, S, st, pad, Ho, Wo } = d;
  switch (plan.strategy) {
    case "winograd":
      if (pass === "wgrad") e.conv3x3_wino_bwd_w_f32(a, b, c, N, Ci, H, W, Co, acc, ws);
      else {
        // bwd: w used transposed and rotated
        const s = source(d, pass);
        e.conv3x3_wino_f32(a, b, c, N, s.Cs, H, W, s.Cd, acc, pass === "fwd" ? 0 : 1, ws);
      }
      return;
    case "direct": {
      const s = source(d, pass as "fwd" | "bwd");
      e.conv2d_direct_f32(a, b, c, N, s.Cs, s.Hs, s.Ws, s.Cd, R, S, s.padH, s.padW, acc, pass === "fwd" ? 0 : 1, ws);
      return;
    }
    case "col2im":
      e.conv2d_bwd_input_col2im_f32(a, b, c, N, Ci, H, W, Co, R, S, st, pad, Ho, Wo, acc, ws);
      return;
    case "gemm": {
      const f = pass === "fwd" ? e.conv2d_f32 : pass === "bwd" ? e.conv2d_bwd_input_f32 : e.conv2d_bwd_weight_f32;
      f(a, b, c, N, Ci, H, W, Co, R, S, st, pad, Ho, Wo, acc);
    }
  }
}

/** The most workspace any pass of `d` takes, in bytes. */
export function convWorkspace(e: Exports, d: ConvDims, winograd: boolean): number {
  return Math.max(...(["fwd", "bwd", "wgrad"] as const).map((pass) => planConv(e, d, pass, winograd).bytes));
}
