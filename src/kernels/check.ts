// Argument checks shared by both backends, so they throw the same ArgumentError (naming the argument)
// before any arithmetic or WASM call. Sizes are integers in [0, 2^31): the WASM side uses i32 sizes.

import { ArgumentError } from "../validate.ts";
import type { AdamStep, Conv2dShape } from "./types.ts";

const MAX = 0x7fffffff;

export function size(arg: string, v: unknown, lo = 0): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > MAX) {
    throw new ArgumentError(arg, `must be an integer in [${lo}, ${MAX}], got ${String(v)}`);
  }
  return v;
}

export function arr(arg: string, v: unknown, need: number): Float32Array {
  if (!(v instanceof Float32Array)) {
    throw new ArgumentError(arg, `must be a Float32Array, got ${v === null ? "null" : typeof v}`);
  }
  if (v.length < need) {
    throw new ArgumentError(arg, `has ${v.length} elements, the declared shape needs ${need}`);
  }
  return v;
}

export function num(arg: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new ArgumentError(arg, `must be a finite number, got ${String(v)}`);
  }
  return v;
}

/** Elements a row-major rows x cols matrix with row stride ld spans. */
function span(rows: number, cols: number, ld: number): number {
  return rows === 0 || cols === 0 ? 0 : (rows - 1) * ld + cols;
}

export function gemm(
  transA: boolean, transB: boolean, M: number, N: number, K: number,
  A: Float32Array, lda: number, B: Float32Array, ldb: number, C: Float32Array, ldc: number,
): void {
  size("M", M);
  size("N", N);
  size("K", K);
  const aRows = transA ? K : M;
  const aCols = transA ? M : K;
  const bRows = transB ? N : K;
  const bCols = transB ? K : N;
  size("lda", lda, Math.max(1, aCols));
  size("ldb", ldb, Math.max(1, bCols));
  size("ldc", ldc, Math.max(1, N));
  arr("A", A, span(aRows, aCols, lda));
  arr("B", B, span(bRows, bCols, ldb));
  arr("C", C, span(M, N, ldc));
}

export interface ConvDims {
  N: number; Ci: number; H: number; W: number; Co: number; R: number; S: number; st: number; pad: number;
  Ho: number; Wo: number;
}

export function conv(shape: Conv2dShape): ConvDims {
  if (shape === null || typeof shape !== "object") throw new ArgumentError("shape", "must be a Conv2dShape object");
  const N = size("shape.batch", shape.batch, 1);
  const Ci = size("shape.inChannels", shape.inChannels, 1);
  const H = size("shape.height", shape.height, 1);
  const W = size("shape.width", shape.width, 1);
  const Co = size("shape.outChannels", shape.outChannels, 1);
  const R = size("shape.kernelH", shape.kernelH, 1);
  const S = size("shape.kernelW", shape.kernelW, 1);
  const st = size("shape.stride", shape.stride, 1);
  const pad = size("shape.pad", shape.pad, 0);
  const Ho = Math.floor((H + 2 * pad - R) / st) + 1;
  const Wo = Math.floor((W + 2 * pad - S) / st) + 1;
  if (Ho < 1 || Wo < 1) {
    throw new ArgumentError("shape", `kernel ${R}x${S} with pad ${pad} does not fit a ${H}x${W} image`);
  }
  const total = Math.max(N * Ci * H * W, N * Co * Ho * Wo, Co * Ci * R * S);
  if (total > MAX) throw new ArgumentError("shape", `tensors larger than 2^31 elements are not supported`);
  return { N, Ci, H, W, Co, R, S, st, pad, Ho, Wo };
}

export function convArrays(
  d: ConvDims, xArg: string, x: unknown, wArg: string, w: unknown, yArg: string, y: unknown,
): void {
  arr(xArg, x, d.N * d.Ci * d.H * d.W);
  arr(wArg, w, d.Co * d.Ci * d.R * d.S);
  arr(yArg, y, d.N * d.Co * d.Ho * d.Wo);
}

export function sameLen(argA: string, a: unknown, argB: string, b: unknown): number {
  const x = arr(argA, a, 0);
  const y = arr(argB, b, 0);
  if (x.length !== y.length) throw new ArgumentError(argB, `must have the length of ${argA} (${x.length}), got ${y.length}`);
  return x.length;
}

export function biasAct(x: unknown, bias: unknown, y: unknown, outer: number, C: number, inner: number, act: unknown): number {
  size("outer", outer);
  size("channels", C);
  size("inner", inner);
  if (act !== "identity" && act !== "silu") throw new ArgumentError("act", `must be "identity" or "silu", got ${String(act)}`);
  const n = outer * C * inner;
  arr("x", x, n);
  arr("bias", bias, C);
  arr("y", y, n);
  return n;
}

export function groupNorm(batch: number, C: number, HW: number, G: number): void {
  size("batch", batch, 1);
  size("channels", C, 1);
  size("spatial", HW, 1);
  size("groups", G, 1);
  if (C % G !== 0) throw new ArgumentError("groups", `must divide channels (${C}), got ${G}`);
}

export function adam(opts: AdamStep): void {
  if (opts === null || typeof opts !== "object") throw new ArgumentError("opts", "must be an AdamStep object");
  num("opts.lr", opts.lr);
  num("opts.beta1", opts.beta1);
  num("opts.beta2", opts.beta2);
  num("opts.eps", opts.eps);
  num("opts.weightDecay", opts.weightDecay);
  size("opts.step", opts.step, 1);
  if (!(opts.beta1 >= 0 && opts.beta1 < 1)) throw new ArgumentError("opts.beta1", `must be in [0, 1), got ${opts.beta1}`);
  if (!(opts.beta2 >= 0 && opts.beta2 < 1)) throw new ArgumentError("opts.beta2", `must be in [0, 1), got ${opts.beta2}`);
}
