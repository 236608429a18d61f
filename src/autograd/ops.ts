// Differentiable ops. Each op computes its forward value and, beside it, the closure that maps the
// output gradient g to its inputs' gradients. Shapes in comments: [B, C, H, W] for images, [N, F] for
// features. Every op here has a float64 finite-difference gradient check in test/autograd.

import { dexp, dlog, dlog1p, dsigmoid } from "../math/detmath.ts";
import { ArgumentError } from "../validate.ts";
import { kernels } from "./backend.ts";
import { alloc } from "./pool.ts";
import { sizeOf, Tensor } from "./tensor.ts";

function sameShape(a: Tensor, b: Tensor, op: string): void {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new ArgumentError(op, `shapes differ: [${a.shape.join(", ")}] vs [${b.shape.join(", ")}]`);
  }
}

function rank(t: Tensor, r: number, arg: string): void {
  if (t.shape.length !== r) throw new ArgumentError(arg, `must have rank ${r}, got shape [${t.shape.join(", ")}]`);
}

const ZERO_BIAS = new Float32Array(1);

/** a + b, same shape. */
export function add(a: Tensor, b: Tensor): Tensor {
  sameShape(a, b, "add");
  const y = alloc(a.size);
  kernels().axpby(1, a.data, 1, b.data, y);
  return new Tensor(y, a.shape, {
    parents: [a, b],
    backward: (g) => {
      a.accumulate(g);
      b.accumulate(g);
    },
  });
}

/** s * a for a constant s. */
export function scale(a: Tensor, s: number): Tensor {
  const y = alloc(a.size);
  kernels().scale(s, a.data, y);
  return new Tensor(y, a.shape, {
    parents: [a],
    backward: (g) => {
      if (a.requiresGrad) kernels().axpy(s, g, a.gradBuffer());
    },
  });
}

/** The same data seen with another shape of equal size (no copy). */
export function reshape(a: Tensor, shape: readonly number[]): Tensor {
  if (sizeOf(shape) !== a.size) throw new ArgumentError("shape", `[${shape.join(", ")}] does not hold ${a.size} values`);
  return new Tensor(a.data, shape, { parents: [a], backward: (g) => a.accumulate(g) });
}

/** SiLU x sigmoid(x) (Elfwing et al. 2018); dy/dx = s (1 + x (1 - s)). */
export function silu(x: Tensor): Tensor {
  const y = alloc(x.size);
  kernels().biasAct(x.data, ZERO_BIAS, y, 1, 1, x.size, "silu");
  return new Tensor(y, x.shape, {
    parents: [x],
    backward: (g) => {
      const d = new Float32Array(g.length);
      kernels().siluBackward(x.data, g, d);
      x.accumulate(d);
    },
  });
}

/** y [N, O] = x [N, I] W^T + b, with W [O, I] and b [O] (b optional). */
export function linear(x: Tensor, w: Tensor, b: Tensor | null): Tensor {
  rank(x, 2, "x");
  rank(w, 2, "weight");
  const [N, I] = x.shape;
  const [O, I2] = w.shape;
  if (I !== I2) throw new ArgumentError("x", `has ${I} features but the weight expects ${I2}`);
  if (b && (b.shape.length !== 1 || b.shape[0] !== O)) throw new ArgumentError("bias", `must have shape [${O}]`);
  const k = kernels();
  const y = alloc(N * O);
  k.gemm(false, true, N, O, I, x.data, I, w.data, I, y, O);
  if (b) k.biasAct(y, b.data, y, N, O, 1, "identity");
  return new Tensor(y, [N, O], {
    parents: b ? [x, w, b] : [x, w],
    backward: (g) => {
      const k = kernels();
      if (x.requiresGrad) k.gemm(false, false, N, I, O, g, O, w.data, I, x.gradBuffer(), I, true); // dx = g W
      if (w.requiresGrad) k.gemm(true, false, O, I, N, g, O, x.data, I, w.gradBuffer(), I, true); // dW = g^T x
      if (b?.requiresGrad) k.sumChannels(g, b.gradBuffer(), N, O, 1, true);
    },
  });
}

/**
 * 2-D convolution, NCHW: x [B, C, H, W], w [O, C, k, k], b [O] -> [B, O, Ho, Wo] with
 * Ho = floor((H + 2 pad - k) / stride) + 1. Per image: im2col then one GEMM y = W col; backward
 * dW += g col^T, dcol = W^T g, dx = col2im(dcol).
 */
export function conv2d(x: Tensor, w: Tensor, b: Tensor | null, stride = 1, pad = 0): Tensor {
  rank(x, 4, "x");
  rank(w, 4, "weight");
  const [B, C, H, W] = x.shape;
  const [O, C2, k, k2] = w.shape;
  if (C !== C2) throw new ArgumentError("x", `has ${C} channels but the weight expects ${C2}`);
  if (k !== k2) throw new ArgumentError("weight", `kernel must be square, got ${k}x${k2}`);
  const Ho = Math.floor((H + 2 * pad - k) / stride) + 1;
  const Wo = Math.floor((W + 2 * pad - k) / stride) + 1;
  if (Ho < 1 || Wo < 1) throw new ArgumentError("x", `${H}x${W} is too small for a ${k}x${k} kernel with pad ${pad}`);
  const P = Ho * Wo;
  const shape = { batch: B, inChannels: C, height: H, width: W, outChannels: O, kernelH: k, kernelW: k, stride, pad };
  const y = alloc(B * O * P);
  kernels().conv2d(x.data, w.data, y, shape);
  if (b) kernels().biasAct(y, b.data, y, B, O, P, "identity");
  return new Tensor(y, [B, O, Ho, Wo], {
    parents: b ? [x, w, b] : [x, w],
    backward: (g) => {
      const kk = kernels();
      if (w.requiresGrad) kk.conv2dBackwardWeight(x.data, g, w.gradBuffer(), shape, true);
      if (x.requiresGrad) kk.conv2dBackwardInput(g, w.data, x.gradBuffer(), shape, true);
      if (b?.requiresGrad) kk.sumChannels(g, b.gradBuffer(), B, O, P, true);
    },
  });
}

/**
 * Group normalization (Wu & He 2018): x [B, C, ...] split into G groups of C/G channels; each
 * (item, group) is normalized to zero mean and unit variance, then scaled by gamma[c] and shifted by
 * beta[c]. Statistics in float64.
 */
export function groupNorm(x: Tensor, groups: number, gamma: Tensor, beta: Tensor, eps = 1e-5): Tensor {
  if (x.shape.length < 2) throw new ArgumentError("x", `must have rank >= 2, got [${x.shape.join(", ")}]`);
  const [B, C] = x.shape;
  if (!Number.isInteger(groups) || groups < 1 || C % groups !== 0) {
    throw new ArgumentError("groups", `must divide the ${C} channels, got ${groups}`);
  }
  const S = x.size / (B * C); // spatial size
  const y = alloc(x.size);
  const mean = alloc(B * groups);
  const rstd = alloc(B * groups);
  kernels().groupNorm(x.data, gamma.data, beta.data, y, mean, rstd, B, C, S, groups, eps);
  return new Tensor(y, x.shape, {
    parents: [x, gamma, beta],
    backward: (g) => {
      const dx = new Float32Array(x.size);
      const dgamma = new Float32Array(C);
      const dbeta = new Float32Array(C);
      kernels().groupNormBackward(x.data, g, gamma.data, mean, rstd, dx, dgamma, dbeta, B, C, S, groups);
      x.accumulate(dx);
      gamma.accumulate(dgamma);
      beta.accumulate(dbeta);
    },
  });
}

/** x [B, C, ...] + e [B, C] broadcast over the trailing dimensions (the noise-level embedding). */
export function addPerChannel(x: Tensor, e: Tensor): Tensor {
  const [B, C] = x.shape;
  if (e.shape.length !== 2 || e.shape[0] !== B || e.shape[1] !== C) {
    throw new ArgumentError("e", `must have shape [${B}, ${C}], got [${e.shape.join(", ")}]`);
  }
  const S = x.size / (B * C);
  const y = alloc(x.size);
  for (let bc = 0; bc < B * C; bc++) {
    const v = e.data[bc];
    for (let s = 0; s < S; s++) y[bc * S + s] = x.data[bc * S + s] + v;
  }
  return new Tensor(y, x.shape, {
    parents: [x, e],
    backward: (g) => {
      x.accumulate(g);
      if (e.requiresGrad) {
        const de = e.gradBuffer();
        for (let bc = 0; bc < B * C; bc++) {
          let s = 0;
          for (let i = 0; i < S; i++) s += g[bc * S + i];
          de[bc] += s;
        }
      }
    },
  });
}

/** Concatenate a [B, Ca, ...] and b [B, Cb, ...] along channels (UNet skip connections). */
export function concatChannels(a: Tensor, b: Tensor): Tensor {
  const [B, Ca] = a.shape;
  const Cb = b.shape[1];
  const S = a.size / (B * Ca);
  if (b.shape[0] !== B || b.size / (B * Cb) !== S || a.shape.slice(2).join() !== b.shape.slice(2).join()) {
    throw new ArgumentError("b", `[${b.shape.join(", ")}] does not match [${a.shape.join(", ")}] outside the channel axis`);
  }
  const C = Ca + Cb;
  const y = alloc(B * C * S);
  for (let n = 0; n < B; n++) {
    y.set(a.data.subarray(n * Ca * S, (n + 1) * Ca * S), n * C * S);
    y.set(b.data.subarray(n * Cb * S, (n + 1) * Cb * S), (n * C + Ca) * S);
  }
  return new Tensor(y, [B, C, ...a.shape.slice(2)], {
    parents: [a, b],
    backward: (g) => {
      if (a.requiresGrad) {
        const da = a.gradBuffer();
        for (let n = 0; n < B; n++) for (let i = 0; i < Ca * S; i++) da[n * Ca * S + i] += g[n * C * S + i];
      }
      if (b.requiresGrad) {
        const db = b.gradBuffer();
        for (let n = 0; n < B; n++) for (let i = 0; i < Cb * S; i++) db[n * Cb * S + i] += g[(n * C + Ca) * S + i];
      }
    },
  });
}

/** Nearest-neighbour 2x upsampling of [B, C, H, W]; backward sums each 2x2 block. */
export function upsample2x(x: Tensor): Tensor {
  rank(x, 4, "x");
  const [B, C, H, W] = x.shape;
  const W2 = 2 * W;
  const y = alloc(B * C * 4 * H * W);
  for (let bc = 0; bc < B * C; bc++) {
    for (let i = 0; i < 2 * H; i++) {
      for (let j = 0; j < W2; j++) y[(bc * 2 * H + i) * W2 + j] = x.data[(bc * H + (i >> 1)) * W + (j >> 1)];
    }
  }
  return new Tensor(y, [B, C, 2 * H, W2], {
    parents: [x],
    backward: (g) => {
      const dx = x.gradBuffer();
      for (let bc = 0; bc < B * C; bc++) {
        for (let i = 0; i < 2 * H; i++) {
          for (let j = 0; j < W2; j++) dx[(bc * H + (i >> 1)) * W + (j >> 1)] += g[(bc * 2 * H + i) * W2 + j];
        }
      }
    },
  });
}

/**
 * Batched matrix product: a [Bt, M, K] (or [Bt, K, M] with transA), b [Bt, K, N] (or [Bt, N, K] with
 * transB) -> [Bt, M, N], times alpha.
 */
export function bmm(a: Tensor, b: Tensor, transA = false, transB = false, alpha = 1): Tensor {
  rank(a, 3, "a");
  rank(b, 3, "b");
  const Bt = a.shape[0];
  const M = transA ? a.shape[2] : a.shape[1];
  const K = transA ? a.shape[1] : a.shape[2];
  const K2 = transB ? b.shape[2] : b.shape[1];
  const N = transB ? b.shape[1] : b.shape[2];
  if (b.shape[0] !== Bt || K !== K2) throw new ArgumentError("b", `[${b.shape.join(", ")}] does not fit [${a.shape.join(", ")}]`);
  const y = alloc(Bt * M * N);
  const k = kernels();
  const lda = transA ? M : K;
  const ldb = transB ? K : N;
  const at = (t: Float32Array, n: number, size: number) => t.subarray(n * size, (n + 1) * size);
  for (let n = 0; n < Bt; n++) k.gemm(transA, transB, M, N, K, at(a.data, n, M * K), lda, at(b.data, n, K * N), ldb, at(y, n, M * N), N);
  if (alpha !== 1) k.scale(alpha, y, y);
  return new Tensor(y, [Bt, M, N], {
    parents: [a, b],
    backward: (g0) => {
      const k = kernels();
      let g = g0;
      if (alpha !== 1) {
        g = new Float32Array(g0.length);
        k.scale(alpha, g0, g);
      }
      const ga = a.requiresGrad ? a.gradBuffer() : null;
      const gb = b.requiresGrad ? b.gradBuffer() : null;
      for (let n = 0; n < Bt; n++) {
        const gn = at(g, n, M * N);
        const an = at(a.data, n, M * K);
        const bn = at(b.data, n, K * N);
        // C = opA(A) opB(B): d opA = g opB^T, d opB = opA^T g; the transposes fold into the flags
        if (ga) {
          if (!transA) k.gemm(false, !transB, M, K, N, gn, N, bn, ldb, at(ga, n, M * K), K, true);
          else k.gemm(transB, true, K, M, N, bn, ldb, gn, N, at(ga, n, M * K), M, true);
        }
        if (gb) {
          if (!transB) k.gemm(!transA, false, K, N, M, an, lda, gn, N, at(gb, n, K * N), N, true);
          else k.gemm(true, transA, N, K, M, gn, N, an, lda, at(gb, n, K * N), K, true);
        }
      }
    },
  });
}

/** Softmax over the last axis; backward dx = y (g - sum(g y)). Max-subtracted, exp deterministic. */
export function softmax(x: Tensor): Tensor {
  const L = x.shape[x.shape.length - 1];
  const R = x.size / L;
  const y = alloc(x.size);
  kernels().softmax(x.data, y, R, L);
  return new Tensor(y, x.shape, {
    parents: [x],
    backward: (g) => {
      const dx = new Float32Array(x.size);
      kernels().softmaxBackward(y, g, dx, R, L);
      x.accumulate(dx);
    },
  });
}

/** Rows of table [K, D] picked by labels (length B) -> [B, D]; backward scatter-adds. */
export function embedding(table: Tensor, labels: Int32Array): Tensor {
  rank(table, 2, "table");
  const [K, D] = table.shape;
  const y = alloc(labels.length * D);
  labels.forEach((l, i) => {
    if (!(l >= 0 && l < K)) throw new ArgumentError(`labels[${i}]`, `must be an integer in [0, ${K - 1}], got ${l}`);
    y.set(table.data.subarray(l * D, (l + 1) * D), i * D);
  });
  return new Tensor(y, [labels.length, D], {
    parents: [table],
    backward: (g) => {
      const dt = table.gradBuffer();
      labels.forEach((l, i) => {
        for (let d = 0; d < D; d++) dt[l * D + d] += g[i * D + d];
      });
    },
  });
}

/**
 * Weighted mean squared error: sum_b w_b mean_i (pred - target)^2 / B, over B items of pred.size / B
 * values. target is a constant; weights (optional, length B) too. Returns a scalar tensor.
 */
export function mse(pred: Tensor, target: Float32Array, weights?: Float64Array | Float32Array): Tensor {
  if (target.length !== pred.size) throw new ArgumentError("target", `length ${target.length} != prediction size ${pred.size}`);
  const B = pred.shape[0];
  const D = pred.size / B;
  if (weights && weights.length !== B) throw new ArgumentError("weights", `must have one weight per item (${B}), got ${weights.length}`);
  let loss = 0;
  for (let n = 0; n < B; n++) {
    let s = 0;
    for (let i = n * D; i < (n + 1) * D; i++) s += (pred.data[i] - target[i]) ** 2;
    loss += (weights ? weights[n] : 1) * s;
  }
  loss /= B * D;
  return new Tensor(Float32Array.of(loss), [], {
    parents: [pred],
    backward: (g) => {
      const d = new Float32Array(pred.size);
      for (let n = 0; n < B; n++) {
        const c = (2 * g[0] * (weights ? weights[n] : 1)) / (B * D);
        for (let i = n * D; i < (n + 1) * D; i++) d[i] = c * (pred.data[i] - target[i]);
      }
      pred.accumulate(d);
    },
  });
}

/**
 * Softmax cross-entropy: mean over the N rows of -log softmax(logits)[label], logits [N, K], one
 * label in [0, K) per row. Stable log-softmax in float64: log p_j = x_j - m - log sum_k exp(x_k - m),
 * m the row max. Backward: d/dx_j = g (p_j - [j = label]) / N. Returns a scalar tensor.
 */
export function crossEntropy(logits: Tensor, labels: Int32Array): Tensor {
  rank(logits, 2, "logits");
  const [N, K] = logits.shape;
  if (labels.length !== N) throw new ArgumentError("labels", `must have one label per row (${N}), got ${labels.length}`);
  const x = logits.data;
  const p = new Float32Array(N * K); // softmax, kept for the backward pass
  let loss = 0;
  for (let n = 0; n < N; n++) {
    const l = labels[n];
    if (!(l >= 0 && l < K)) throw new ArgumentError(`labels[${n}]`, `must be an integer in [0, ${K - 1}], got ${l}`);
    const row = n * K;
    let m = -Infinity;
    for (let j = 0; j < K; j++) m = Math.max(m, x[row + j]);
    let s = 0;
    for (let j = 0; j < K; j++) s += dexp(x[row + j] - m);
    const lse = m + dlog(s);
    loss += lse - x[row + l];
    for (let j = 0; j < K; j++) p[row + j] = dexp(x[row + j] - lse);
  }
  return new Tensor(Float32Array.of(loss / N), [], {
    parents: [logits],
    backward: (g) => {
      const c = g[0] / N;
      const d = new Float32Array(N * K);
      for (let n = 0; n < N; n++) {
        for (let j = 0; j < K; j++) d[n * K + j] = c * (p[n * K + j] - (j === labels[n] ? 1 : 0));
      }
      logits.accumulate(d);
    },
  });
}

// ---- ops for diffusers' UNet2DModel (src/nn/unet2d.ts) ----

/** Zero padding of [B, C, H, W] by (top, bottom, left, right); diffusers' Downsample2D pads (0, 1, 0, 1). */
export function pad2d(x: Tensor, top: number, bottom: number, left: number, right: number): Tensor {
  rank(x, 4, "x");
  for (const [n, v] of [["top", top], ["bottom", bottom], ["left", left], ["right", right]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new ArgumentError(n, `must be a non-negative integer, got ${v}`);
  }
  const [B, C, H, W] = x.shape;
  const Ho = H + top + bottom;
  const Wo = W + left + right;
  const y = alloc(B * C * Ho * Wo);
  y.fill(0);
  for (let bc = 0; bc < B * C; bc++) {
    for (let i = 0; i < H; i++) y.set(x.data.subarray((bc * H + i) * W, (bc * H + i + 1) * W), (bc * Ho + i + top) * Wo + left);
  }
  return new Tensor(y, [B, C, Ho, Wo], {
    parents: [x],
    backward: (g) => {
      const dx = x.gradBuffer();
      for (let bc = 0; bc < B * C; bc++) {
        for (let i = 0; i < H; i++) {
          const o = (bc * Ho + i + top) * Wo + left;
          for (let j = 0; j < W; j++) dx[(bc * H + i) * W + j] += g[o + j];
        }
      }
    },
  });
}

/**
 * One axis of upfirdn: the input of length n is upsampled by inserting up-1 zeros after each sample,
 * padded by pad0 / pad1 zeros, convolved with k (a true convolution: the kernel is flipped) and kept
 * every down-th sample. Returned as taps: output j reads input idx[t] with weight w[t] for t in
 * [start[j], start[j+1]).
 */
function firTaps(n: number, k: readonly number[], up: number, down: number, pad0: number, pad1: number) {
  const K = k.length;
  const out = Math.floor((n * up + pad0 + pad1 - K) / down) + 1;
  const start = new Int32Array(out + 1);
  const idx: number[] = [];
  const w: number[] = [];
  for (let j = 0; j < out; j++) {
    start[j] = idx.length;
    for (let t = 0; t < K; t++) {
      const m = j * down + t - pad0; // position in the zero-stuffed signal
      if (m < 0 || m >= n * up || m % up !== 0) continue;
      idx.push(m / up);
      w.push(k[K - 1 - t]);
    }
  }
  start[out] = idx.length;
  return { out, start, idx: Int32Array.from(idx), w: Float64Array.from(w) };
}

/**
 * Separable FIR resampling of [B, C, H, W] (StyleGAN2's upfirdn2d, which score-SDE's NCSN++ and
 * diffusers' FirUpsample2D / FirDownsample2D use): the 2-D kernel is outer(k, k), each axis upsampled
 * by `up` (zero insertion), padded by (pad0, pad1), convolved, and decimated by `down`. Linear, so the
 * backward pass applies the transposed taps. Rows first, then columns, accumulated in float64.
 */
export function upfirdn2d(x: Tensor, k: readonly number[], up: number, down: number, pad0: number, pad1: number): Tensor {
  rank(x, 4, "x");
  const [B, C, H, W] = x.shape;
  if (!Number.isInteger(up) || up < 1 || !Number.isInteger(down) || down < 1) throw new ArgumentError("up", `up and down must be integers >= 1, got ${up}, ${down}`);
  if (!Number.isInteger(pad0) || !Number.isInteger(pad1) || pad0 < 0 || pad1 < 0) throw new ArgumentError("pad", `must be non-negative integers, got ${pad0}, ${pad1}`);
  if (k.length < 1 || !k.every(Number.isFinite)) throw new ArgumentError("k", "must be a non-empty list of finite numbers");
  const th = firTaps(H, k, up, down, pad0, pad1);
  const tw = firTaps(W, k, up, down, pad0, pad1);
  const Ho = th.out;
  const Wo = tw.out;
  if (Ho < 1 || Wo < 1) throw new ArgumentError("x", `${H}x${W} is too small for a ${k.length}-tap kernel`);
  const y = alloc(B * C * Ho * Wo);
  const tmp = new Float64Array(Ho * W);
  for (let bc = 0; bc < B * C; bc++) {
    const xo = bc * H * W;
    for (let i = 0; i < Ho; i++) {
      for (let j = 0; j < W; j++) {
        let s = 0;
        for (let t = th.start[i]; t < th.start[i + 1]; t++) s += th.w[t] * x.data[xo + th.idx[t] * W + j];
        tmp[i * W + j] = s;
      }
    }
    const yo = bc * Ho * Wo;
    for (let i = 0; i < Ho; i++) {
      for (let j = 0; j < Wo; j++) {
        let s = 0;
        for (let t = tw.start[j]; t < tw.start[j + 1]; t++) s += tw.w[t] * tmp[i * W + tw.idx[t]];
        y[yo + i * Wo + j] = s;
      }
    }
  }
  return new Tensor(y, [B, C, Ho, Wo], {
    parents: [x],
    backward: (g) => {
      const dx = x.gradBuffer();
      const gt = new Float64Array(Ho * W);
      for (let bc = 0; bc < B * C; bc++) {
        gt.fill(0);
        const go = bc * Ho * Wo;
        for (let i = 0; i < Ho; i++) {
          for (let j = 0; j < Wo; j++) {
            const v = g[go + i * Wo + j];
            for (let t = tw.start[j]; t < tw.start[j + 1]; t++) gt[i * W + tw.idx[t]] += tw.w[t] * v;
          }
        }
        const xo = bc * H * W;
        for (let i = 0; i < Ho; i++) {
          for (let t = th.start[i]; t < th.start[i + 1]; t++) {
            const r = xo + th.idx[t] * W;
            for (let j = 0; j < W; j++) dx[r + j] += th.w[t] * gt[i * W + j];
          }
        }
      }
    },
  });
}

/**
 * FiLM-style modulation of a normalised x [B, C, ...] by ss [B, 2C] = (scale, shift):
 * y = x (1 + scale) + shift (improved DDPM's "scale_shift" time conditioning, Nichol & Dhariwal 2021).
 */
export function scaleShift(x: Tensor, ss: Tensor): Tensor {
  const [B, C] = x.shape;
  if (ss.shape.length !== 2 || ss.shape[0] !== B || ss.shape[1] !== 2 * C) {
    throw new ArgumentError("ss", `must have shape [${B}, ${2 * C}], got [${ss.shape.join(", ")}]`);
  }
  const S = x.size / (B * C);
  const y = alloc(x.size);
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < C; c++) {
      const a = 1 + ss.data[b * 2 * C + c];
      const t = ss.data[b * 2 * C + C + c];
      const o = (b * C + c) * S;
      for (let s = 0; s < S; s++) y[o + s] = x.data[o + s] * a + t;
    }
  }
  return new Tensor(y, x.shape, {
    parents: [x, ss],
    backward: (g) => {
      const dx = x.requiresGrad ? x.gradBuffer() : null;
      const ds = ss.requiresGrad ? ss.gradBuffer() : null;
      for (let b = 0; b < B; b++) {
        for (let c = 0; c < C; c++) {
          const a = 1 + ss.data[b * 2 * C + c];
          const o = (b * C + c) * S;
          let gs = 0;
          let gt = 0;
          for (let s = 0; s < S; s++) {
            if (dx) dx[o + s] += g[o + s] * a;
            gs += g[o + s] * x.data[o + s];
            gt += g[o + s];
          }
          if (ds) {
            ds[b * 2 * C + c] += gs;
            ds[b * 2 * C + C + c] += gt;
          }
        }
      }
    },
  });
}

/** x [B, ...] times a constant per item: y_b = s_b x_b (score-SDE divides its output by sigma). */
export function scaleItems(x: Tensor, s: ArrayLike<number>): Tensor {
  const B = x.shape[0];
  if (s.length !== B) throw new ArgumentError("s", `must have one factor per item (${B}), got ${s.length}`);
  const D = x.size / B;
  const y = alloc(x.size);
  for (let b = 0; b < B; b++) for (let i = b * D; i < (b + 1) * D; i++) y[i] = x.data[i] * s[b];
  return new Tensor(y, x.shape, {
    parents: [x],
    backward: (g) => {
      const dx = x.gradBuffer();
      for (let b = 0; b < B; b++) for (let i = b * D; i < (b + 1) * D; i++) dx[i] += g[i] * s[b];
    },
  });
}

/** erf(x) in float64: Taylor series for |x| < 2.5, the continued fraction of erfc beyond (A&S 7.1.5, 7.1.14). */
export function erf(x: number): number {
  const a = Math.abs(x);
  if (a > 6) return Math.sign(x);
  if (a < 2.5) {
    // erf x = 2/sqrt(pi) sum_n (-1)^n x^(2n+1) / (n! (2n+1))
    let term = a;
    let sum = a;
    const z = a * a;
    for (let n = 1; n < 80; n++) {
      term *= -z / n;
      const d = term / (2 * n + 1);
      sum += d;
      if (Math.abs(d) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * sum * 1.1283791670955126;
  }
  // erfc a = exp(-a^2)/sqrt(pi) * 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + 2/(a + ...))))), evaluated bottom-up
  let f = a;
  for (let n = 60; n >= 1; n--) f = a + n / 2 / f;
  const erfc = (dexp(-a * a) / f) * 0.5641895835477563;
  return Math.sign(x) * (1 - erfc);
}

export type ActivationName = "silu" | "mish" | "gelu" | "relu";

/**
 * The activations diffusers' get_activation offers (ACT2CLS: swish/silu, mish, gelu, relu), float64 per
 * element. mish x tanh(softplus x) (Misra 2019); gelu the exact x Phi(x) (Hendrycks & Gimpel 2016).
 */
export function activation(x: Tensor, kind: ActivationName): Tensor {
  if (kind === "silu") return silu(x);
  if (kind !== "mish" && kind !== "gelu" && kind !== "relu") throw new ArgumentError("kind", `must be silu, mish, gelu or relu, got ${String(kind)}`);
  const n = x.size;
  const y = alloc(n);
  const xd = x.data;
  for (let i = 0; i < n; i++) {
    const v = xd[i];
    if (kind === "relu") y[i] = v > 0 ? v : 0;
    else if (kind === "gelu") y[i] = 0.5 * v * (1 + erf(v * Math.SQRT1_2));
    else y[i] = v * mishTanh(v);
  }
  return new Tensor(y, x.shape, {
    parents: [x],
    backward: (g) => {
      const d = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const v = xd[i];
        let dy: number;
        if (kind === "relu") dy = v > 0 ? 1 : 0;
        else if (kind === "gelu") dy = 0.5 * (1 + erf(v * Math.SQRT1_2)) + (v * dexp(-0.5 * v * v)) / Math.sqrt(2 * Math.PI);
        else {
          const t = mishTanh(v); // d/dx x tanh(sp(x)) = tanh(sp) + x (1 - tanh^2(sp)) sigmoid(x)
          dy = t + v * (1 - t * t) * dsigmoid(v);
        }
        d[i] = g[i] * dy;
      }
      x.accumulate(d);
    },
  });
}

/** tanh(softplus(v)) = ((1+e^v)^2 - 1) / ((1+e^v)^2 + 1), via n = e^v; softplus is v itself past 20 (PyTorch's threshold). */
function mishTanh(v: number): number {
  if (v > 20) {
    const sp = v;
    const e = dexp(-2 * sp);
    return (1 - e) / (1 + e);
  }
  const sp = dlog1p(dexp(v));
  const e = dexp(-2 * sp);
  return (1 - e) / (1 + e);
}

/**
 * Layer normalization (Ba et al. 2016) over the last axis: x [..., D] -> (x - mean) / sqrt(var + eps)
 * * gamma + beta, gamma and beta [D]. Statistics in float64. Backward, with xhat the normalised value and
 * r = 1/sqrt(var + eps): dx = r (dxhat - mean(dxhat) - xhat mean(dxhat xhat)), dxhat = g gamma.
 */
export function layerNorm(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-5): Tensor {
  const D = x.shape[x.shape.length - 1];
  if (gamma.size !== D || beta.size !== D) throw new ArgumentError("gamma", `gamma and beta must have ${D} values (the last axis of x), got ${gamma.size} and ${beta.size}`);
  const R = x.size / D;
  const y = alloc(x.size);
  const xhat = new Float32Array(x.size);
  const rstd = new Float64Array(R);
  const xd = x.data;
  for (let r = 0; r < R; r++) {
    const o = r * D;
    let m = 0;
    for (let i = 0; i < D; i++) m += xd[o + i];
    m /= D;
    let v = 0;
    for (let i = 0; i < D; i++) v += (xd[o + i] - m) ** 2;
    const s = 1 / Math.sqrt(v / D + eps);
    rstd[r] = s;
    for (let i = 0; i < D; i++) {
      const h = (xd[o + i] - m) * s;
      xhat[o + i] = h;
      y[o + i] = h * gamma.data[i] + beta.data[i];
    }
  }
  return new Tensor(y, x.shape, {
    parents: [x, gamma, beta],
    backward: (g) => {
      const dx = x.requiresGrad ? new Float32Array(x.size) : null;
      const dg = gamma.requiresGrad ? new Float32Array(D) : null;
      const db = beta.requiresGrad ? new Float32Array(D) : null;
      for (let r = 0; r < R; r++) {
        const o = r * D;
        let a = 0; // mean(dxhat)
        let b = 0; // mean(dxhat xhat)
        for (let i = 0; i < D; i++) {
          const dh = g[o + i] * gamma.data[i];
          a += dh;
          b += dh * xhat[o + i];
          if (dg) dg[i] += g[o + i] * xhat[o + i];
          if (db) db[i] += g[o + i];
        }
        a /= D;
        b /= D;
        if (dx) for (let i = 0; i < D; i++) dx[o + i] = rstd[r] * (g[o + i] * gamma.data[i] - a - xhat[o + i] * b);
      }
      if (dx) x.accumulate(dx);
      if (dg) gamma.accumulate(dg);
      if (db) beta.accumulate(db);
    },
  });
}

/**
 * GELU in its sigmoid form (Hendrycks & Gimpel 2016, §2): y = x σ(1.702 x) = silu(1.702 x) / 1.702, so
 * it runs on the SiLU kernels (WASM SIMD, deterministic exp); dy/dx = silu'(1.702 x), the factors 1.702
 * and 1/1.702 cancelling. Within 0.02 of the erf form everywhere.
 */
export function gelu(x: Tensor): Tensor {
  const c = 1.702;
  const k = kernels();
  const xs = new Float32Array(x.size);
  k.scale(c, x.data, xs);
  const y = alloc(x.size);
  k.biasAct(xs, ZERO_BIAS, y, 1, 1, x.size, "silu");
  k.scale(1 / c, y, y);
  return new Tensor(y, x.shape, {
    parents: [x],
    backward: (g) => {
      const d = new Float32Array(g.length);
      kernels().siluBackward(xs, g, d);
      x.accumulate(d);
    },
  });
}

/**
 * Swap the two middle axes: x [A, B, C, D] -> [A, C, B, D] (attention's [batch, length, heads, dim] to
 * [batch, heads, length, dim] and back: the op is its own inverse with B and C exchanged).
 */
export function swapMiddle(x: Tensor): Tensor {
  rank(x, 4, "x");
  const [A, B, C, D] = x.shape;
  const y = alloc(x.size);
  const move = (src: Float32Array, dst: Float32Array, b0: number, c0: number, add: boolean) => {
    // src [A, b0, c0, D] -> dst [A, c0, b0, D]
    for (let a = 0; a < A; a++) {
      for (let b = 0; b < b0; b++) {
        for (let c = 0; c < c0; c++) {
          const s = ((a * b0 + b) * c0 + c) * D;
          const t = ((a * c0 + c) * b0 + b) * D;
          if (add) for (let i = 0; i < D; i++) dst[t + i] += src[s + i];
          else for (let i = 0; i < D; i++) dst[t + i] = src[s + i];
        }
      }
    }
  };
  move(x.data, y, B, C, false);
  return new Tensor(y, [A, C, B, D], {
    parents: [x],
    backward: (g) => {
      if (x.requiresGrad) move(g, x.gradBuffer(), C, B, true);
    },
  });
}

/**
 * Weighted softmax cross-entropy: sum over the N rows of w_n (-log softmax(logits_n)[label_n]), logits
 * [N, K]; rows with w_n = 0 are skipped (their label is not read). The caller folds any normalisation
 * into w (MDLM's loss: w = -α'/(1 - α) / (B L) on masked positions, 0 elsewhere). Backward:
 * d/dx_j = g w_n (p_j - [j = label_n]). Returns a scalar tensor.
 */
export function weightedCrossEntropy(logits: Tensor, labels: Int32Array, weights: Float64Array | Float32Array): Tensor {
  rank(logits, 2, "logits");
  const [N, K] = logits.shape;
  if (labels.length !== N) throw new ArgumentError("labels", `must have one label per row (${N}), got ${labels.length}`);
  if (weights.length !== N) throw new ArgumentError("weights", `must have one weight per row (${N}), got ${weights.length}`);
  const x = logits.data;
  const p = new Float32Array(N * K);
  let loss = 0;
  for (let n = 0; n < N; n++) {
    const w = weights[n];
    if (w === 0) continue;
    const l = labels[n];
    if (!(l >= 0 && l < K)) throw new ArgumentError(`labels[${n}]`, `must be an integer in [0, ${K - 1}], got ${l}`);
    const row = n * K;
    let m = -Infinity;
    for (let j = 0; j < K; j++) m = Math.max(m, x[row + j]);
    let s = 0;
    for (let j = 0; j < K; j++) s += dexp(x[row + j] - m);
    const lse = m + dlog(s);
    loss += w * (lse - x[row + l]);
    for (let j = 0; j < K; j++) p[row + j] = dexp(x[row + j] - lse);
  }
  return new Tensor(Float32Array.of(loss), [], {
    parents: [logits],
    backward: (g) => {
      const d = new Float32Array(N * K);
      for (let n = 0; n < N; n++) {
        const c = g[0] * weights[n];
        if (c === 0) continue;
        for (let j = 0; j < K; j++) d[n * K + j] = c * (p[n * K + j] - (j === labels[n] ? 1 : 0));
      }
      logits.accumulate(d);
    },
  });
}
