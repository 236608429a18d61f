// The arguments kernels take: their value types (Conv2dShape, AdamStep, Activation) and the descriptors
// the kernel table (table.ts) declares each argument with: how it is checked, what the backends receive,
// and, for arrays, whether the kernel reads, overwrites or updates them. One place for the checks, so
// every backend throws the same ArgumentError (naming the argument) before any arithmetic or WASM call.
// Sizes are integers in [0, 2^31): the WASM side uses i32 sizes.

import { ArgumentError } from "../validate.ts";

/** 2-D convolution geometry (NCHW, square stride and zero padding, no dilation, no groups). */
export interface Conv2dShape {
  batch: number;
  inChannels: number;
  height: number;
  width: number;
  outChannels: number;
  kernelH: number;
  kernelW: number;
  stride: number;
  pad: number;
}

/** Output height and width of a convolution: floor((H + 2·pad − R) / stride) + 1. */
export function conv2dOutSize(s: Conv2dShape): { outH: number; outW: number } {
  return {
    outH: Math.floor((s.height + 2 * s.pad - s.kernelH) / s.stride) + 1,
    outW: Math.floor((s.width + 2 * s.pad - s.kernelW) / s.stride) + 1,
  };
}

/** A checked Conv2dShape in the short names the kernels use, with the output size. */
export interface ConvDims {
  N: number; Ci: number; H: number; W: number; Co: number; R: number; S: number; st: number; pad: number;
  Ho: number; Wo: number;
}

export type Activation = "identity" | "silu";

export interface AdamStep {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step count for the bias corrections 1 − beta^step. */
  step: number;
}

// ---- descriptors ------------------------------------------------------------------------------------

/**
 * The arguments of one call resolved so far, by name: what a later argument's check may refer to. Loosely
 * typed on purpose: the kernel's signature in the table types the public call, and a misspelt name here
 * fails on the first call (`integer` below), which every kernel's tests make.
 */
export type Resolved = { readonly [name: string]: any };

/** How the kernel uses an array argument; the WASM backend stages non-resident arrays accordingly. */
export interface ArrayUse {
  /**
   * "in": read only; "updates": read and written; "writes": written, and read only where `overwrites`
   * does not cover the array (copied in only then).
   */
  readonly role: "in" | "updates" | "writes";
  /** For "writes": the floats overwritten from index 0 without being read, or −1 (e.g. when accumulating). */
  readonly overwrites?: (a: Resolved) => number;
}

/** One argument: its name, its check, and the value the backends receive (`Out`). */
export interface Arg<N extends string = string, In = unknown, Out = In> {
  readonly name: N;
  /**
   * Check `v` and return what the backends receive. `a`: the arguments resolved so far (an array sees
   * every size and scalar of the call, and the arrays before it).
   */
  readonly resolve: (v: In, a: Resolved) => Out;
  /** Present for Float32Array arguments. */
  readonly array?: ArrayUse;
}

const MAX = 0x7fffffff;

/** A size the table computes from other arguments: an integer, or the table names an argument wrongly. */
function integer(v: number, what: string, name: string): number {
  if (!Number.isInteger(v)) throw new Error(`kernel table: ${what} ${name} is ${v}, not an integer (a misspelt argument name?)`);
  return v;
}

function checkSize(arg: string, v: unknown, lo: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > MAX) {
    throw new ArgumentError(arg, `must be an integer in [${lo}, ${MAX}], got ${String(v)}`);
  }
  return v;
}

/**
 * A size: an integer in [min, 2^31). `min` may depend on earlier arguments (a leading dimension);
 * `rule` adds a relation to them, returning the message when it fails.
 */
export function size<N extends string>(
  name: N,
  min: number | ((a: Resolved) => number) = 0,
  rule?: (v: number, a: Resolved) => string | undefined,
): Arg<N, number> {
  return {
    name,
    resolve(v, a) {
      checkSize(name, v, typeof min === "number" ? min : integer(min(a), "the minimum of", name));
      const broken = rule?.(v, a);
      if (broken !== undefined) throw new ArgumentError(name, broken);
      return v;
    },
  };
}

/** A finite number (a scalar coefficient). */
export function finite<N extends string>(name: N): Arg<N, number> {
  return {
    name,
    resolve(v) {
      if (typeof v !== "number" || !Number.isFinite(v)) throw new ArgumentError(name, `must be a finite number, got ${String(v)}`);
      return v;
    },
  };
}

/** A switch, passed through unchecked (a transpose); optional ones default to false (accumulate). */
export function flag<N extends string>(name: N): Arg<N, boolean>;
export function flag<N extends string>(name: N, optional: true): Arg<N, boolean | undefined, boolean>;
export function flag<N extends string>(name: N, optional = false): Arg<N, boolean | undefined, boolean> {
  return { name, resolve: optional ? (v) => v ?? false : (v) => v as boolean };
}

/** One of a few strings. */
export function oneOf<N extends string, T extends string>(name: N, values: readonly T[]): Arg<N, T> {
  return {
    name,
    resolve(v) {
      if (!values.includes(v)) throw new ArgumentError(name, `must be ${values.map((s) => JSON.stringify(s)).join(" or ")}, got ${String(v)}`);
      return v;
    },
  };
}

/** Elements a row-major rows x cols matrix with row stride ld spans. */
export function span(rows: number, cols: number, ld: number): number {
  return rows === 0 || cols === 0 ? 0 : (rows - 1) * ld + cols;
}

/**
 * A Float32Array. `length`: the floats the declared shape needs (at least), or the name of an earlier
 * array it must match exactly. `writes` / `updates`: the kernel's output (see ArrayUse); `writes` gives
 * the floats it overwrites without reading (−1: none, it accumulates).
 */
export function f32<N extends string>(
  name: N,
  use: { length?: ((a: Resolved) => number) | string; writes?: (a: Resolved) => number; updates?: true } = {},
): Arg<N, Float32Array> {
  const { length, writes, updates } = use;
  return {
    name,
    array: writes ? { role: "writes", overwrites: writes } : { role: updates ? "updates" : "in" },
    resolve(v, a) {
      if (!(v instanceof Float32Array)) {
        throw new ArgumentError(name, `must be a Float32Array, got ${v === null ? "null" : typeof v}`);
      }
      if (typeof length === "string") {
        const other = integer((a[length] as Float32Array | undefined)?.length ?? NaN, "the length of", length);
        if (v.length !== other) throw new ArgumentError(name, `must have the length of ${length} (${other}), got ${v.length}`);
      } else if (length) {
        const need = integer(length(a), "the length needed by", name);
        if (v.length < need) throw new ArgumentError(name, `has ${v.length} elements, the declared shape needs ${need}`);
      }
      return v;
    },
  };
}

/** Check a Conv2dShape; the kernels receive it as ConvDims. */
export function convDims(shape: Conv2dShape): ConvDims {
  if (shape === null || typeof shape !== "object") throw new ArgumentError("shape", "must be a Conv2dShape object");
  const N = checkSize("shape.batch", shape.batch, 1);
  const Ci = checkSize("shape.inChannels", shape.inChannels, 1);
  const H = checkSize("shape.height", shape.height, 1);
  const W = checkSize("shape.width", shape.width, 1);
  const Co = checkSize("shape.outChannels", shape.outChannels, 1);
  const R = checkSize("shape.kernelH", shape.kernelH, 1);
  const S = checkSize("shape.kernelW", shape.kernelW, 1);
  const st = checkSize("shape.stride", shape.stride, 1);
  const pad = checkSize("shape.pad", shape.pad, 0);
  const Ho = Math.floor((H + 2 * pad - R) / st) + 1;
  const Wo = Math.floor((W + 2 * pad - S) / st) + 1;
  if (Ho < 1 || Wo < 1) {
    throw new ArgumentError("shape", `kernel ${R}x${S} with pad ${pad} does not fit a ${H}x${W} image`);
  }
  const total = Math.max(N * Ci * H * W, N * Co * Ho * Wo, Co * Ci * R * S);
  if (total > MAX) throw new ArgumentError("shape", `tensors larger than 2^31 elements are not supported`);
  return { N, Ci, H, W, Co, R, S, st, pad, Ho, Wo };
}

/** A convolution's geometry (its errors name the field, e.g. "shape.stride"). */
export function convShape<N extends string>(name: N): Arg<N, Conv2dShape, ConvDims> {
  return { name, resolve: (v) => convDims(v) };
}

/** Adam's hyperparameters and step number (Kingma & Ba 2015, Alg. 1). */
export function adamStep<N extends string>(name: N): Arg<N, AdamStep> {
  return {
    name,
    resolve(o) {
      if (o === null || typeof o !== "object") throw new ArgumentError(name, "must be an AdamStep object");
      for (const k of ["lr", "beta1", "beta2", "eps", "weightDecay"] as const) finite(`${name}.${k}`).resolve(o[k], {});
      checkSize(`${name}.step`, o.step, 1);
      for (const k of ["beta1", "beta2"] as const) {
        if (!(o[k] >= 0 && o[k] < 1)) throw new ArgumentError(`${name}.${k}`, `must be in [0, 1), got ${o[k]}`);
      }
      return o;
    },
  };
}
