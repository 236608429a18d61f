// Differentiable ops. Each op computes its forward value and, beside it, the closure that maps the
// output gradient g to its inputs' gradients. Shapes in comments: [B, C, H, W] for images, [N, F] for
// features. Every op here has a float64 finite-difference gradient check in test/autograd.

import { dexp } from "../math/detmath.ts";
import { ArgumentError } from "../validate.ts";
import { col2im, compute, im2col } from "./compute.ts";
import { sizeOf, Tensor } from "./tensor.ts";

function sameShape(a: Tensor, b: Tensor, op: string): void {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new ArgumentError(op, `shapes differ: [${a.shape.join(", ")}] vs [${b.shape.join(", ")}]`);
  }
}

function rank(t: Tensor, r: number, arg: string): void {
  if (t.shape.length !== r) throw new ArgumentError(arg, `must have rank ${r}, got shape [${t.shape.join(", ")}]`);
}

/** a + b, same shape. */
export function add(a: Tensor, b: Tensor): Tensor {
  sameShape(a, b, "add");
  const y = new Float32Array(a.size);
  for (let i = 0; i < y.length; i++) y[i] = a.data[i] + b.data[i];
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
  const y = new Float32Array(a.size);
  for (let i = 0; i < y.length; i++) y[i] = s * a.data[i];
  return new Tensor(y, a.shape, {
    parents: [a],
    backward: (g) => {
      const d = new Float32Array(g.length);
      for (let i = 0; i < d.length; i++) d[i] = s * g[i];
      a.accumulate(d);
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
  const y = new Float32Array(x.size);
  compute().silu(x.data, y);
  return new Tensor(y, x.shape, {
    parents: [x],
    backward: (g) => {
      const d = new Float32Array(g.length);
      for (let i = 0; i < d.length; i++) {
        const v = x.data[i];
        const s = 1 / (1 + dexp(-v));
        d[i] = g[i] * s * (1 + v * (1 - s));
      }
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
  const y = new Float32Array(N * O);
  if (b) for (let n = 0; n < N; n++) y.set(b.data, n * O);
  compute().gemm(false, true, N, O, I, 1, x.data, 0, w.data, 0, b ? 1 : 0, y, 0);
  return new Tensor(y, [N, O], {
    parents: b ? [x, w, b] : [x, w],
    backward: (g) => {
      if (x.requiresGrad) compute().gemm(false, false, N, I, O, 1, g, 0, w.data, 0, 1, x.gradBuffer(), 0); // dx = g W
      if (w.requiresGrad) compute().gemm(true, false, O, I, N, 1, g, 0, x.data, 0, 1, w.gradBuffer(), 0); // dW = g^T x
      if (b?.requiresGrad) {
        const db = b.gradBuffer();
        for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) db[o] += g[n * O + o];
      }
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
  const Kc = C * k * k;
  const direct = k === 1 && stride === 1 && pad === 0; // a 1x1 conv is a GEMM on x itself
  const col = direct ? null : new Float32Array(Kc * P);
  const y = new Float32Array(B * O * P);
  const cp = compute();
  for (let n = 0; n < B; n++) {
    if (b) for (let o = 0; o < O; o++) y.fill(b.data[o], (n * O + o) * P, (n * O + o + 1) * P);
    if (col) im2col(x.data, n * C * H * W, C, H, W, k, stride, pad, Ho, Wo, col);
    cp.gemm(false, false, O, P, Kc, 1, w.data, 0, col ?? x.data, col ? 0 : n * C * P, b ? 1 : 0, y, n * O * P);
  }
  return new Tensor(y, [B, O, Ho, Wo], {
    parents: b ? [x, w, b] : [x, w],
    backward: (g) => {
      const dcol = direct ? null : new Float32Array(Kc * P);
      for (let n = 0; n < B; n++) {
        if (w.requiresGrad) {
          if (col) im2col(x.data, n * C * H * W, C, H, W, k, stride, pad, Ho, Wo, col);
          cp.gemm(false, true, O, Kc, P, 1, g, n * O * P, col ?? x.data, col ? 0 : n * C * P, 1, w.gradBuffer(), 0);
        }
        if (x.requiresGrad) {
          if (dcol) {
            cp.gemm(true, false, Kc, P, O, 1, w.data, 0, g, n * O * P, 0, dcol, 0);
            col2im(dcol, C, H, W, k, stride, pad, Ho, Wo, x.gradBuffer(), n * C * H * W);
          } else {
            cp.gemm(true, false, Kc, P, O, 1, w.data, 0, g, n * O * P, 1, x.gradBuffer(), n * C * P);
          }
        }
      }
      if (b?.requiresGrad) {
        const db = b.gradBuffer();
        for (let n = 0; n < B; n++) {
          for (let o = 0; o < O; o++) {
            let s = 0;
            for (let p = 0; p < P; p++) s += g[(n * O + o) * P + p];
            db[o] += s;
          }
        }
      }
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
  const cg = C / groups;
  const M = cg * S; // values per group
  const y = new Float32Array(x.size);
  const xhat = new Float32Array(x.size);
  const rstd = new Float64Array(B * groups);
  for (let n = 0; n < B; n++) {
    for (let gi = 0; gi < groups; gi++) {
      const base = (n * C + gi * cg) * S;
      let mean = 0;
      for (let i = 0; i < M; i++) mean += x.data[base + i];
      mean /= M;
      let v = 0;
      for (let i = 0; i < M; i++) v += (x.data[base + i] - mean) ** 2;
      v /= M;
      const r = 1 / Math.sqrt(v + eps);
      rstd[n * groups + gi] = r;
      for (let c = 0; c < cg; c++) {
        const ch = gi * cg + c;
        for (let s = 0; s < S; s++) {
          const i = base + c * S + s;
          const h = (x.data[i] - mean) * r;
          xhat[i] = h;
          y[i] = h * gamma.data[ch] + beta.data[ch];
        }
      }
    }
  }
  return new Tensor(y, x.shape, {
    parents: [x, gamma, beta],
    backward: (g) => {
      const dgamma = gamma.requiresGrad ? gamma.gradBuffer() : null;
      const dbeta = beta.requiresGrad ? beta.gradBuffer() : null;
      const dx = x.requiresGrad ? x.gradBuffer() : null;
      for (let n = 0; n < B; n++) {
        for (let gi = 0; gi < groups; gi++) {
          const base = (n * C + gi * cg) * S;
          // dxhat = g gamma; dx = r (dxhat - mean(dxhat) - xhat mean(dxhat xhat))
          let m1 = 0;
          let m2 = 0;
          for (let c = 0; c < cg; c++) {
            const ch = gi * cg + c;
            let sg = 0;
            let sgx = 0;
            for (let s = 0; s < S; s++) {
              const i = base + c * S + s;
              sg += g[i];
              sgx += g[i] * xhat[i];
            }
            if (dgamma) dgamma[ch] += sgx;
            if (dbeta) dbeta[ch] += sg;
            m1 += sg * gamma.data[ch];
            m2 += sgx * gamma.data[ch];
          }
          if (!dx) continue;
          m1 /= M;
          m2 /= M;
          const r = rstd[n * groups + gi];
          for (let c = 0; c < cg; c++) {
            const gm = gamma.data[gi * cg + c];
            for (let s = 0; s < S; s++) {
              const i = base + c * S + s;
              dx[i] += r * (g[i] * gm - m1 - xhat[i] * m2);
            }
          }
        }
      }
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
  const y = new Float32Array(x.size);
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
  const y = new Float32Array(B * C * S);
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
  const y = new Float32Array(B * C * 4 * H * W);
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
  const y = new Float32Array(Bt * M * N);
  const cp = compute();
  for (let n = 0; n < Bt; n++) cp.gemm(transA, transB, M, N, K, alpha, a.data, n * M * K, b.data, n * K * N, 0, y, n * M * N);
  return new Tensor(y, [Bt, M, N], {
    parents: [a, b],
    backward: (g) => {
      for (let n = 0; n < Bt; n++) {
        // C = alpha opA(A) opB(B): dopA = alpha g opB^T, dopB = alpha opA^T g; transposes fold into flags
        if (a.requiresGrad) {
          if (!transA) cp.gemm(false, !transB, M, K, N, alpha, g, n * M * N, b.data, n * K * N, 1, a.gradBuffer(), n * M * K);
          else cp.gemm(transB, true, K, M, N, alpha, b.data, n * K * N, g, n * M * N, 1, a.gradBuffer(), n * M * K);
        }
        if (b.requiresGrad) {
          if (!transB) cp.gemm(!transA, false, K, N, M, alpha, a.data, n * M * K, g, n * M * N, 1, b.gradBuffer(), n * K * N);
          else cp.gemm(true, transA, N, K, M, alpha, g, n * M * N, a.data, n * M * K, 1, b.gradBuffer(), n * K * N);
        }
      }
    },
  });
}

/** Softmax over the last axis; backward dx = y (g - sum(g y)). Max-subtracted, exp deterministic. */
export function softmax(x: Tensor): Tensor {
  const L = x.shape[x.shape.length - 1];
  const R = x.size / L;
  const y = new Float32Array(x.size);
  for (let r = 0; r < R; r++) {
    let m = -Infinity;
    for (let i = 0; i < L; i++) m = Math.max(m, x.data[r * L + i]);
    let s = 0;
    for (let i = 0; i < L; i++) {
      const e = dexp(x.data[r * L + i] - m);
      y[r * L + i] = e;
      s += e;
    }
    for (let i = 0; i < L; i++) y[r * L + i] /= s;
  }
  return new Tensor(y, x.shape, {
    parents: [x],
    backward: (g) => {
      const dx = x.gradBuffer();
      for (let r = 0; r < R; r++) {
        let d = 0;
        for (let i = 0; i < L; i++) d += g[r * L + i] * y[r * L + i];
        for (let i = 0; i < L; i++) dx[r * L + i] += y[r * L + i] * (g[r * L + i] - d);
      }
    },
  });
}

/** Rows of table [K, D] picked by labels (length B) -> [B, D]; backward scatter-adds. */
export function embedding(table: Tensor, labels: Int32Array): Tensor {
  rank(table, 2, "table");
  const [K, D] = table.shape;
  const y = new Float32Array(labels.length * D);
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
