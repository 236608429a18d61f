// The kernel table: every kernel once, with its signature, its arguments (how each is checked, which
// arrays it reads, overwrites or updates) and its WASM call. From it come the `Kernels` type
// (./types.ts), the checked front every backend shares (./checked.ts), the TypeScript backend (the
// functions of ./ts/reference.ts with the kernel's name) and the WASM backend (./wasm). A new kernel is
// an AssemblyScript function (exported from assembly/index.ts), a reference function, and an entry here.
//
// Conventions
// - Tensors are Float32Arrays, row-major; images are NCHW, conv weights [Cout, Cin, R, S].
// - Every kernel writes into an output the caller passes (`accumulate` = add into it instead of
//   overwriting, where offered). Kernels never allocate tensors.
// - Arguments are checked before any arithmetic (and before any WASM call): sizes and scalars first, then
//   arrays, each in the order of the signature. A shape mismatch, a non-integer or negative size, a
//   negative stride or a buffer too small for the declared shape throws an ArgumentError naming it.
// - Arrays may live anywhere: the WASM backend works in place on views of its memory (zero-copy) and
//   copies other arrays through scratch (correct, slower); see ./wasm/arena.ts.

import {
  adamStep,
  convShape,
  f32,
  finite,
  flag,
  oneOf,
  size,
  span,
  type Activation,
  type AdamStep,
  type Arg,
  type Conv2dShape,
  type ConvDims,
  type Resolved,
} from "./args.ts";
import type { Exports, WasmCall } from "./wasm/abi.ts";

// ---- the shape of an entry -------------------------------------------------------------------------

type Fn = (...args: never[]) => unknown;

/** What the backends receive for a parameter: a Conv2dShape checked into ConvDims, defaults applied. */
type ResolvedParam<T> = T extends Conv2dShape ? ConvDims : Exclude<T, undefined>;
/** A kernel's parameters as the backends receive them. */
export type ResolvedParams<P extends readonly unknown[]> = { -readonly [I in keyof P]-?: ResolvedParam<P[I]> };

/** One descriptor per parameter, of the parameter's type. */
type ArgsFor<P extends readonly unknown[]> = { readonly [I in keyof P]: Arg<string, P[I], ResolvedParam<P[I]>> };
type AnyArg = Arg<string, never, unknown>;
/** The resolved arguments by name. */
type RecordOf<D extends readonly AnyArg[]> = {
  [A in D[number] as A["name"]]: A extends Arg<string, never, infer O> ? O : never;
};
/** The arrays' pointers by name. */
type PointersOf<D extends readonly AnyArg[]> = { [A in D[number] as A extends Arg<string, Float32Array> ? A["name"] : never]: number };

/** One kernel: its arguments in call order and its WASM call. `F` is the public signature. */
export interface KernelSpec<F extends Fn = Fn> {
  readonly args: readonly AnyArg[];
  /** The WASM call, on the resolved arguments and the arrays' pointers, both by argument name. */
  readonly wasm: (e: Exports, a: Resolved, p: Readonly<Record<string, number>>, call: WasmCall) => ReturnType<F>;
  /** Type only: the public signature. */
  readonly signature?: F;
}

/**
 * An entry of the table: `kernel<signature>()(args, wasm)`. The descriptors must match the signature's
 * parameters in order and type; the WASM call sees them by name, typed.
 */
function kernel<F extends Fn>() {
  return <const D extends ArgsFor<Parameters<F>>>(
    args: D,
    wasm: (e: Exports, a: RecordOf<D>, p: PointersOf<D>, call: WasmCall) => ReturnType<F>,
  ): KernelSpec<F> => ({ args, wasm } as unknown as KernelSpec<F>);
}

// ---- sizes several entries share -------------------------------------------------------------------

const inputSize = ({ shape: d }: Resolved): number => d.N * d.Ci * d.H * d.W;
const weightSize = ({ shape: d }: Resolved): number => d.Co * d.Ci * d.R * d.S;
const outputSize = ({ shape: d }: Resolved): number => d.N * d.Co * d.Ho * d.Wo;
/** An output the kernel overwrites in full unless it accumulates into it. */
const unlessAccumulating = (n: (a: Resolved) => number) => (a: Resolved): number => (a.accumulate ? -1 : n(a));
const elems = (a: Resolved): number => a.outer * a.channels * a.inner;
const normElems = (a: Resolved): number => a.batch * a.channels * a.spatial;
const normStats = (a: Resolved): number => a.batch * a.groups;
const channels = (a: Resolved): number => a.channels;
const matrix = (a: Resolved): number => a.rows * a.cols;
const lengthOf = (name: string) => (a: Resolved): number => (a[name] as Float32Array).length;

const groupNormSizes = [
  size("batch", 1),
  size("channels", 1),
  size("spatial", 1),
  size("groups", 1, (G, a) => (a.channels % G === 0 ? undefined : `must divide channels (${a.channels}), got ${G}`)),
] as const;

// ---- the table -------------------------------------------------------------------------------------

export const KERNELS = {
  // ---- GEMM ----
  /**
   * C (+)= op(A)·op(B) with op(X) = X or Xᵀ. op(A) is M x K, op(B) is K x N, C is M x N; all row-major
   * with leading dimensions (row strides, in elements) lda, ldb, ldc. Stored A is M x K (or K x M when
   * transA), stored B is K x N (or N x K when transB).
   */
  gemm: kernel<
    (
      transA: boolean, transB: boolean, M: number, N: number, K: number,
      A: Float32Array, lda: number, B: Float32Array, ldb: number, C: Float32Array, ldc: number, accumulate?: boolean,
    ) => void
  >()(
    [
      flag("transA"),
      flag("transB"),
      size("M"),
      size("N"),
      size("K"),
      f32("A", { length: (a) => span(a.transA ? a.K : a.M, a.transA ? a.M : a.K, a.lda) }),
      size("lda", (a) => Math.max(1, a.transA ? a.M : a.K)),
      f32("B", { length: (a) => span(a.transB ? a.N : a.K, a.transB ? a.K : a.N, a.ldb) }),
      size("ldb", (a) => Math.max(1, a.transB ? a.K : a.N)),
      // with ldc > N the gaps between rows are kept, so C is read as well
      f32("C", { length: (a) => span(a.M, a.N, a.ldc), writes: (a) => (a.accumulate || a.ldc !== a.N ? -1 : a.M * a.N) }),
      size("ldc", (a) => Math.max(1, a.N)),
      flag("accumulate", true),
    ],
    (e, a, p) => e.gemm_f32(+a.transA, +a.transB, a.M, a.N, a.K, p.A, a.lda, p.B, a.ldb, p.C, a.ldc, +a.accumulate),
  ),

  // ---- convolution ----
  /** y[N, Cout, Ho, Wo] (+)= conv2d(x[N, Cin, H, W], w[Cout, Cin, R, S]). */
  conv2d: kernel<(x: Float32Array, w: Float32Array, y: Float32Array, shape: Conv2dShape, accumulate?: boolean) => void>()(
    [
      f32("x", { length: inputSize }),
      f32("w", { length: weightSize }),
      f32("y", { length: outputSize, writes: unlessAccumulating(outputSize) }),
      convShape("shape"),
      flag("accumulate", true),
    ],
    (_e, a, p, call) => call.conv("fwd", p.x, p.w, p.y, a.shape, a.accumulate),
  ),
  /** dx[N, Cin, H, W] (+)= ∂(Σ y·dy)/∂x: the transposed convolution of dy with w. */
  conv2dBackwardInput: kernel<(dy: Float32Array, w: Float32Array, dx: Float32Array, shape: Conv2dShape, accumulate?: boolean) => void>()(
    [
      f32("dy", { length: outputSize }),
      f32("w", { length: weightSize }),
      f32("dx", { length: inputSize, writes: unlessAccumulating(inputSize) }),
      convShape("shape"),
      flag("accumulate", true),
    ],
    (_e, a, p, call) => call.conv("bwd", p.dy, p.w, p.dx, a.shape, a.accumulate),
  ),
  /** dw[Cout, Cin, R, S] (+)= ∂(Σ y·dy)/∂w, summed over the batch in ascending order. */
  conv2dBackwardWeight: kernel<(x: Float32Array, dy: Float32Array, dw: Float32Array, shape: Conv2dShape, accumulate?: boolean) => void>()(
    [
      f32("x", { length: inputSize }),
      f32("dy", { length: outputSize }),
      f32("dw", { length: weightSize, writes: unlessAccumulating(weightSize) }),
      convShape("shape"),
      flag("accumulate", true),
    ],
    (_e, a, p, call) => call.conv("wgrad", p.x, p.dy, p.dw, a.shape, a.accumulate),
  ),

  // ---- activations and bias ----
  /** y[o, c, i] = act(x[o, c, i] + bias[c]) over x viewed as [outer, channels, inner]; y may be x. */
  biasAct: kernel<
    (x: Float32Array, bias: Float32Array, y: Float32Array, outer: number, channels: number, inner: number, act: Activation) => void
  >()(
    [
      f32("x", { length: elems }),
      f32("bias", { length: channels }),
      f32("y", { length: elems, writes: elems }),
      size("outer"),
      size("channels"),
      size("inner"),
      oneOf("act", ["identity", "silu"]),
    ],
    (e, a, p) => e.bias_act_f32(p.x, p.bias, p.y, a.outer, a.channels, a.inner, a.act === "silu" ? 1 : 0),
  ),
  /** dx = dy ⊙ silu'(x), x the pre-activation; dx may be dy. */
  siluBackward: kernel<(x: Float32Array, dy: Float32Array, dx: Float32Array) => void>()(
    [f32("x"), f32("dy", { length: "x" }), f32("dx", { length: "x", writes: lengthOf("x") })],
    (e, a, p) => e.silu_bwd_f32(a.x.length, p.x, p.dy, p.dx),
  ),
  /** out[c] (+)= Σ_{o,i} x[o, c, i]: the bias gradient. */
  sumChannels: kernel<
    (x: Float32Array, out: Float32Array, outer: number, channels: number, inner: number, accumulate?: boolean) => void
  >()(
    [
      f32("x", { length: elems }),
      f32("out", { length: channels, writes: unlessAccumulating(channels) }),
      size("outer"),
      size("channels"),
      size("inner"),
      flag("accumulate", true),
    ],
    (e, a, p) => e.sum_channels_f32(p.x, p.out, a.outer, a.channels, a.inner, +a.accumulate),
  ),

  // ---- normalisation ----
  /**
   * GroupNorm (Wu & He 2018) over x[N, C, HW] with `groups` groups; writes y and the per-(n, group)
   * mean and rstd = 1/sqrt(var + eps) (length N·groups) that the backward pass needs.
   */
  groupNorm: kernel<
    (
      x: Float32Array, gamma: Float32Array, beta: Float32Array, y: Float32Array, mean: Float32Array, rstd: Float32Array,
      batch: number, channels: number, spatial: number, groups: number, eps: number,
    ) => void
  >()(
    [
      f32("x", { length: normElems }),
      f32("gamma", { length: channels }),
      f32("beta", { length: channels }),
      f32("y", { length: normElems, writes: normElems }),
      f32("mean", { length: normStats, writes: normStats }),
      f32("rstd", { length: normStats, writes: normStats }),
      ...groupNormSizes,
      finite("eps"),
    ],
    (e, a, p) => e.groupnorm_f32(p.x, p.gamma, p.beta, p.y, p.mean, p.rstd, a.batch, a.channels, a.spatial, a.groups, a.eps),
  ),
  /** GroupNorm backward: dx, and dgamma, dbeta (overwritten, summed over the batch). */
  groupNormBackward: kernel<
    (
      x: Float32Array, dy: Float32Array, gamma: Float32Array, mean: Float32Array, rstd: Float32Array,
      dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array, batch: number, channels: number, spatial: number, groups: number,
    ) => void
  >()(
    [
      f32("x", { length: normElems }),
      f32("dy", { length: normElems }),
      f32("gamma", { length: channels }),
      f32("mean", { length: normStats }),
      f32("rstd", { length: normStats }),
      f32("dx", { length: normElems, writes: normElems }),
      f32("dgamma", { length: channels, writes: channels }),
      f32("dbeta", { length: channels, writes: channels }),
      ...groupNormSizes,
    ],
    (e, a, p) =>
      e.groupnorm_bwd_f32(p.x, p.dy, p.gamma, p.mean, p.rstd, p.dx, p.dgamma, p.dbeta, a.batch, a.channels, a.spatial, a.groups),
  ),
  /** Row-wise softmax of x[rows, cols]; y may be x. */
  softmax: kernel<(x: Float32Array, y: Float32Array, rows: number, cols: number) => void>()(
    [f32("x", { length: matrix }), f32("y", { length: matrix, writes: matrix }), size("rows"), size("cols")],
    (e, a, p) => e.softmax_f32(p.x, p.y, a.rows, a.cols),
  ),
  /** dx = y ⊙ (dy − Σ_row dy ⊙ y), given the softmax output y. */
  softmaxBackward: kernel<(y: Float32Array, dy: Float32Array, dx: Float32Array, rows: number, cols: number) => void>()(
    [f32("y", { length: matrix }), f32("dy", { length: matrix }), f32("dx", { length: matrix, writes: matrix }), size("rows"), size("cols")],
    (e, a, p) => e.softmax_bwd_f32(p.y, p.dy, p.dx, a.rows, a.cols),
  ),

  // ---- elementwise (lengths from the arrays, which must match; out may alias an input) ----
  /** y += a·x. */
  axpy: kernel<(a: number, x: Float32Array, y: Float32Array) => void>()(
    [finite("a"), f32("x"), f32("y", { length: "x", updates: true })],
    (e, a, p) => e.axpy_f32(a.y.length, a.a, p.x, p.y),
  ),
  /** out = a·x + b·y. */
  axpby: kernel<(a: number, x: Float32Array, b: number, y: Float32Array, out: Float32Array) => void>()(
    [finite("a"), f32("x"), finite("b"), f32("y", { length: "x" }), f32("out", { length: "x", writes: lengthOf("x") })],
    (e, a, p) => e.axpby_f32(a.out.length, a.a, p.x, a.b, p.y, p.out),
  ),
  /** out = a·x. */
  scale: kernel<(a: number, x: Float32Array, out: Float32Array) => void>()(
    [finite("a"), f32("x"), f32("out", { length: "x", writes: lengthOf("x") })],
    (e, a, p) => e.scale_f32(a.out.length, a.a, p.x, p.out),
  ),
  /** out = x ⊙ y. */
  mul: kernel<(x: Float32Array, y: Float32Array, out: Float32Array) => void>()(
    [f32("x"), f32("y", { length: "x" }), f32("out", { length: "x", writes: lengthOf("x") })],
    (e, a, p) => e.mul_f32(a.out.length, p.x, p.y, p.out),
  ),

  // ---- reductions (float64 accumulation, fixed order) ----
  /** Σ x. */
  sum: kernel<(x: Float32Array) => number>()([f32("x")], (e, a, p) => e.sum_f32(a.x.length, p.x)),
  /** Σ x ⊙ y. */
  dot: kernel<(x: Float32Array, y: Float32Array) => number>()(
    [f32("x"), f32("y", { length: "x" })],
    (e, a, p) => e.dot_f32(a.x.length, p.x, p.y),
  ),
  /** Σ (x − y)². */
  sqDist: kernel<(x: Float32Array, y: Float32Array) => number>()(
    [f32("x"), f32("y", { length: "x" })],
    (e, a, p) => e.sqdist_f32(a.x.length, p.x, p.y),
  ),

  // ---- optimiser ----
  /**
   * One fused Adam(W) step at step number `opts.step` (1-based): updates param, m, v in place.
   * Adam: Kingma & Ba 2015, Alg. 1; weightDecay is decoupled (AdamW, Loshchilov & Hutter 2019).
   */
  adam: kernel<(param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, opts: AdamStep) => void>()(
    [
      f32("param", { updates: true }),
      f32("grad", { length: "param" }),
      f32("m", { length: "param", updates: true }),
      f32("v", { length: "param", updates: true }),
      adamStep("opts"),
    ],
    (e, a, p) => {
      // the bias corrections in float64 here, rounded once to f32 at the call
      const o = a.opts;
      const bc1 = 1 - o.beta1 ** o.step;
      const bc2 = 1 - o.beta2 ** o.step;
      e.adam_f32(a.param.length, p.param, p.grad, p.m, p.v, o.lr, o.beta1, o.beta2, 1 - o.beta1, 1 - o.beta2, o.eps, o.weightDecay, bc1, bc2);
    },
  ),
};

export type KernelName = keyof typeof KERNELS;
type SignatureOf<S> = S extends KernelSpec<infer F> ? F : never;

/** The kernels as the library calls them (every backend; see ./types.ts for the rest of `Kernels`). */
export type KernelMethods = { [K in KernelName]: SignatureOf<(typeof KERNELS)[K]> };

/** What a backend implements per kernel: the same arguments, checked and resolved (./checked.ts). */
export type ResolvedKernels = {
  [K in KernelName]: (...args: ResolvedParams<Parameters<KernelMethods[K]>>) => ReturnType<KernelMethods[K]>;
};
