// Differentiable ops. Each op computes its forward value and, beside it, the closure that maps the
// output gradient g to its inputs' gradients. Shapes in comments: [B, C, H, W] for images, [N, F] for
// features. Every op here has a float64 finite-difference gradient check in test/autograd.

import { dexp, dlog } from "../math/detmath.ts";
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
