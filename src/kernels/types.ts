// The one contract between the kernels and everything above them (tensors, autograd, samplers, Adam).
// Two implementations: src/kernels/ts (plain TypeScript, readable, the test oracle and the fallback) and
// src/kernels/wasm (a thin TS front that checks shapes; WASM SIMD does the arithmetic).
//
// Conventions
// - Tensors are Float32Arrays, row-major; images are NCHW, conv weights [Cout, Cin, R, S].
// - Every kernel writes into an output the caller passes (`accumulate` = add into it instead of
//   overwriting, where offered). Kernels never allocate tensors.
// - Arguments are checked before any arithmetic (and before any WASM call): a shape mismatch, a
//   non-integer or negative size, a negative stride or a buffer too small for the declared shape throws
//   an ArgumentError naming the argument.
// - Memory: `alloc` hands out a Buf; `view(buf)` gives a Float32Array over it. On the WASM backend a view
//   is a window on WASM memory and becomes detached when memory grows, which `alloc`, `reserveScratch`
//   and a call that needs more scratch than is reserved (stride-1 convolutions, copies of non-resident
//   arrays) can do: take views right before use, or reserve scratch first. Kernels accept any
//   Float32Array; the WASM backend works in place on views of its memory (zero-copy) and copies other
//   arrays through scratch (correct, slower).

/** Which implementation runs the arithmetic. */
export type BackendName = "ts" | "wasm" | "wasm-relaxed";

/** A block of float32 storage owned by a backend. Opaque: use `kernels.view(buf)` to read or write it. */
export interface Buf {
  readonly length: number;
}

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

export type Activation = "identity" | "silu";

export interface Kernels {
  readonly backend: BackendName;
  /**
   * True when results are bit-identical across machines and runtimes for the same inputs (plain
   * SIMD128 and the TS backend with the same engine). The relaxed-SIMD build fuses multiply-add where
   * the hardware does, so its last bits may differ between machines.
   */
  readonly bitReproducible: boolean;
  /**
   * True when 3x3 stride-1 convolutions run as Winograd F(2x2, 3x3) (the WASM default; the TS backend
   * runs them directly). Results differ from direct convolution in the last bits, so threads that must
   * agree bit for bit use the same setting.
   */
  readonly winograd: boolean;

  // ---- memory ----
  /** A zero-filled block of `length` floats. May grow WASM memory: views taken earlier detach. */
  alloc(length: number): Buf;
  /** A fresh Float32Array over `buf`. Valid until the next `alloc` (or non-resident call) on this backend. */
  view(buf: Buf): Float32Array;
  /** Arena position, for `release`: a stack discipline (alloc after mark, release to free them all). */
  mark(): number;
  /** Free everything allocated after `mark()` returned `m`. Bufs from that span must not be used again. */
  release(m: number): void;
  /** Bytes currently allocated in the arena. */
  readonly bytesInUse: number;
  /** True when `arr` lives in this backend's memory, so kernels use it in place without copying. */
  isResident(arr: Float32Array): boolean;
  /**
   * Keep `floats` of scratch free above the arena top from now on: memory grows now if needed (detaching
   * earlier views) and later `alloc`s grow it to preserve the reserve. Kernel calls whose scratch fits
   * (conv2dScratch; copies of non-resident arrays also count) then never grow memory, so views stay valid
   * across them. Without it a call grows memory itself the first time it needs more. No-op on TS.
   */
  reserveScratch(floats: number): void;
  /** Scratch floats the convolution passes of `shape` need at most (0 on the TS backend). */
  conv2dScratch(shape: Conv2dShape): number;

  // ---- GEMM ----
  /**
   * C (+)= op(A)·op(B) with op(X) = X or Xᵀ. op(A) is M x K, op(B) is K x N, C is M x N; all row-major
   * with leading dimensions (row strides, in elements) lda, ldb, ldc. Stored A is M x K (or K x M when
   * transA), stored B is K x N (or N x K when transB).
   */
  gemm(
    transA: boolean,
    transB: boolean,
    M: number,
    N: number,
    K: number,
    A: Float32Array,
    lda: number,
    B: Float32Array,
    ldb: number,
    C: Float32Array,
    ldc: number,
    accumulate?: boolean,
  ): void;

  // ---- convolution ----
  /** y[N, Cout, Ho, Wo] (+)= conv2d(x[N, Cin, H, W], w[Cout, Cin, R, S]). */
  conv2d(x: Float32Array, w: Float32Array, y: Float32Array, shape: Conv2dShape, accumulate?: boolean): void;
  /** dx[N, Cin, H, W] (+)= ∂(Σ y·dy)/∂x: the transposed convolution of dy with w. */
  conv2dBackwardInput(dy: Float32Array, w: Float32Array, dx: Float32Array, shape: Conv2dShape, accumulate?: boolean): void;
  /** dw[Cout, Cin, R, S] (+)= ∂(Σ y·dy)/∂w, summed over the batch in ascending order. */
  conv2dBackwardWeight(x: Float32Array, dy: Float32Array, dw: Float32Array, shape: Conv2dShape, accumulate?: boolean): void;

  // ---- activations and bias ----
  /** y[o, c, i] = act(x[o, c, i] + bias[c]) over x viewed as [outer, channels, inner]; y may be x. */
  biasAct(
    x: Float32Array,
    bias: Float32Array,
    y: Float32Array,
    outer: number,
    channels: number,
    inner: number,
    act: Activation,
  ): void;
  /** dx = dy ⊙ silu'(x), x the pre-activation; dx may be dy. */
  siluBackward(x: Float32Array, dy: Float32Array, dx: Float32Array): void;
  /** out[c] (+)= Σ_{o,i} x[o, c, i]: the bias gradient. */
  sumChannels(x: Float32Array, out: Float32Array, outer: number, channels: number, inner: number, accumulate?: boolean): void;

  // ---- normalisation ----
  /**
   * GroupNorm (Wu & He 2018) over x[N, C, HW] with `groups` groups; writes y and the per-(n, group)
   * mean and rstd = 1/sqrt(var + eps) (length N·groups) that the backward pass needs.
   */
  groupNorm(
    x: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    y: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    batch: number,
    channels: number,
    spatial: number,
    groups: number,
    eps: number,
  ): void;
  /** GroupNorm backward: dx, and dgamma, dbeta (overwritten, summed over the batch). */
  groupNormBackward(
    x: Float32Array,
    dy: Float32Array,
    gamma: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    dx: Float32Array,
    dgamma: Float32Array,
    dbeta: Float32Array,
    batch: number,
    channels: number,
    spatial: number,
    groups: number,
  ): void;
  /** Row-wise softmax of x[rows, cols]; y may be x. */
  softmax(x: Float32Array, y: Float32Array, rows: number, cols: number): void;
  /** dx = y ⊙ (dy − Σ_row dy ⊙ y), given the softmax output y. */
  softmaxBackward(y: Float32Array, dy: Float32Array, dx: Float32Array, rows: number, cols: number): void;

  // ---- elementwise (lengths from the arrays, which must match; out may alias an input) ----
  /** y += a·x. */
  axpy(a: number, x: Float32Array, y: Float32Array): void;
  /** out = a·x + b·y. */
  axpby(a: number, x: Float32Array, b: number, y: Float32Array, out: Float32Array): void;
  /** out = a·x. */
  scale(a: number, x: Float32Array, out: Float32Array): void;
  /** out = x ⊙ y. */
  mul(x: Float32Array, y: Float32Array, out: Float32Array): void;

  // ---- reductions (float64 accumulation, fixed order) ----
  sum(x: Float32Array): number;
  dot(x: Float32Array, y: Float32Array): number;
  /** Σ (x − y)². */
  sqDist(x: Float32Array, y: Float32Array): number;

  // ---- optimiser ----
  /**
   * One fused Adam(W) step at step number `step` (1-based): updates param, m, v in place.
   * Adam: Kingma & Ba 2015, Alg. 1; weightDecay is decoupled (AdamW, Loshchilov & Hutter 2019).
   */
  adam(
    param: Float32Array,
    grad: Float32Array,
    m: Float32Array,
    v: Float32Array,
    opts: AdamStep,
  ): void;
}

export interface AdamStep {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step count for the bias corrections 1 − beta^step. */
  step: number;
}
