// The reference kernels in plain TypeScript: the test oracle for the WASM backend and the fallback
// where WASM SIMD is unavailable. Written to be read: straight loops, sums in float64 (so the oracle is
// more accurate than what it checks). One function per entry of the kernel table (../table.ts), named
// like it, taking the arguments checked and resolved by ../checked.ts: the TS backend is derived from them.
// The GEMM keeps a 2 x 4 block of C in registers: several times faster than the naive triple loop, which
// matters because this backend is also the fallback where WASM SIMD is missing.

import type { Activation, AdamStep, ConvDims } from "../args.ts";

/** Float64 scratch reused across calls (grown, never shrunk): the oracle's only allocation. */
let acc = new Float64Array(1024);
function scratch(n: number): Float64Array {
  if (acc.length < n) acc = new Float64Array(Math.max(n, acc.length * 2));
  return acc;
}

/**
 * C (+)= op(A)·op(B). Element (i, k) of op(A) is A[i·sai + k·sak], element (k, j) of op(B) is
 * B[k·sbk + j·sbj], so transposes are just swapped strides. For each strip of 4 columns, op(B)'s strip is
 * first copied k-major into a contiguous float64 buffer (zero-padded past N); then C is computed in 2 x 4
 * blocks whose eight sums stay in float64 registers over the whole k loop (≈ 3–4× the naive triple
 * loop). Each C element is Σ_k in ascending k, in float64, rounded once.
 */
export function gemm(
  transA: boolean, transB: boolean, M: number, N: number, K: number,
  A: Float32Array, lda: number, B: Float32Array, ldb: number, C: Float32Array, ldc: number, accumulate: boolean,
): void {
  const sai = transA ? 1 : lda;
  const sak = transA ? lda : 1;
  const sbk = transB ? 1 : ldb;
  const sbj = transB ? ldb : 1;
  const strip = scratch(4 * K);
  for (let j = 0; j < N; j += 4) {
    const cols = Math.min(4, N - j);
    for (let k = 0; k < K; k++) {
      for (let t = 0; t < 4; t++) strip[4 * k + t] = t < cols ? B[k * sbk + (j + t) * sbj] : 0;
    }
    for (let i = 0; i < M; i += 2) {
      const two = i + 1 < M;
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      const pa0 = i * sai;
      const pa1 = two ? pa0 + sai : pa0; // an odd last row computes row i twice and stores it once
      for (let k = 0, q = 0, o = 0; k < K; k++, q += 4, o += sak) {
        const a0 = A[pa0 + o];
        const a1 = A[pa1 + o];
        const b0 = strip[q];
        const b1 = strip[q + 1];
        const b2 = strip[q + 2];
        const b3 = strip[q + 3];
        c00 += a0 * b0;
        c01 += a0 * b1;
        c02 += a0 * b2;
        c03 += a0 * b3;
        c10 += a1 * b0;
        c11 += a1 * b1;
        c12 += a1 * b2;
        c13 += a1 * b3;
      }
      store(C, i * ldc + j, cols, accumulate, c00, c01, c02, c03);
      if (two) store(C, (i + 1) * ldc + j, cols, accumulate, c10, c11, c12, c13);
    }
  }
}

/** C[at .. at + cols) (+)= the first `cols` of (s0, s1, s2, s3). */
function store(C: Float32Array, at: number, cols: number, accumulate: boolean, s0: number, s1: number, s2: number, s3: number): void {
  C[at] = accumulate ? C[at] + s0 : s0;
  if (cols > 1) C[at + 1] = accumulate ? C[at + 1] + s1 : s1;
  if (cols > 2) C[at + 2] = accumulate ? C[at + 2] + s2 : s2;
  if (cols > 3) C[at + 3] = accumulate ? C[at + 3] + s3 : s3;
}

/** y[n, co, oy, ox] = Σ_{ci, r, s} w[co, ci, r, s]·x[n, ci, oy·st − pad + r, ox·st − pad + s] (zero outside). */
export function conv2d(x: Float32Array, w: Float32Array, y: Float32Array, d: ConvDims, accumulate: boolean): void {
  const { N, Ci, H, W, Co, R, S, st, pad, Ho, Wo } = d;
  const plane = scratch(Ho * Wo);
  for (let n = 0; n < N; n++) {
    for (let co = 0; co < Co; co++) {
      const yo = (n * Co + co) * Ho * Wo;
      for (let p = 0; p < Ho * Wo; p++) plane[p] = accumulate ? y[yo + p] : 0;
      for (let ci = 0; ci < Ci; ci++) {
        const xo = (n * Ci + ci) * H * W;
        for (let r = 0; r < R; r++) {
          for (let s = 0; s < S; s++) {
            const wv = w[((co * Ci + ci) * R + r) * S + s];
            for (let oy = 0; oy < Ho; oy++) {
              const iy = oy * st - pad + r;
              if (iy < 0 || iy >= H) continue;
              for (let ox = 0; ox < Wo; ox++) {
                const ix = ox * st - pad + s;
                if (ix >= 0 && ix < W) plane[oy * Wo + ox] += wv * x[xo + iy * W + ix];
              }
            }
          }
        }
      }
      for (let p = 0; p < Ho * Wo; p++) y[yo + p] = plane[p];
    }
  }
}

/** dx[n, ci, iy, ix] = Σ over (co, r, s, oy, ox) hitting (iy, ix) of w[co, ci, r, s]·dy[n, co, oy, ox]. */
export function conv2dBackwardInput(dy: Float32Array, w: Float32Array, dx: Float32Array, d: ConvDims, accumulate: boolean): void {
  const { N, Ci, H, W, Co, R, S, st, pad, Ho, Wo } = d;
  const plane = scratch(H * W);
  for (let n = 0; n < N; n++) {
    for (let ci = 0; ci < Ci; ci++) {
      const xo = (n * Ci + ci) * H * W;
      for (let p = 0; p < H * W; p++) plane[p] = accumulate ? dx[xo + p] : 0;
      for (let co = 0; co < Co; co++) {
        const yo = (n * Co + co) * Ho * Wo;
        for (let r = 0; r < R; r++) {
          for (let s = 0; s < S; s++) {
            const wv = w[((co * Ci + ci) * R + r) * S + s];
            for (let oy = 0; oy < Ho; oy++) {
              const iy = oy * st - pad + r;
              if (iy < 0 || iy >= H) continue;
              for (let ox = 0; ox < Wo; ox++) {
                const ix = ox * st - pad + s;
                if (ix >= 0 && ix < W) plane[iy * W + ix] += wv * dy[yo + oy * Wo + ox];
              }
            }
          }
        }
      }
      for (let p = 0; p < H * W; p++) dx[xo + p] = plane[p];
    }
  }
}

/** dw[co, ci, r, s] = Σ_{n, oy, ox} dy[n, co, oy, ox]·x[n, ci, oy·st − pad + r, ox·st − pad + s]. */
export function conv2dBackwardWeight(x: Float32Array, dy: Float32Array, dw: Float32Array, d: ConvDims, accumulate: boolean): void {
  const { N, Ci, H, W, Co, R, S, st, pad, Ho, Wo } = d;
  for (let co = 0; co < Co; co++) {
    for (let ci = 0; ci < Ci; ci++) {
      for (let r = 0; r < R; r++) {
        for (let s = 0; s < S; s++) {
          const wi = ((co * Ci + ci) * R + r) * S + s;
          let sum = accumulate ? dw[wi] : 0;
          for (let n = 0; n < N; n++) {
            const xo = (n * Ci + ci) * H * W;
            const yo = (n * Co + co) * Ho * Wo;
            for (let oy = 0; oy < Ho; oy++) {
              const iy = oy * st - pad + r;
              if (iy < 0 || iy >= H) continue;
              for (let ox = 0; ox < Wo; ox++) {
                const ix = ox * st - pad + s;
                if (ix >= 0 && ix < W) sum += dy[yo + oy * Wo + ox] * x[xo + iy * W + ix];
              }
            }
          }
          dw[wi] = sum;
        }
      }
    }
  }
}

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

export function biasAct(
  x: Float32Array, bias: Float32Array, y: Float32Array, outer: number, C: number, inner: number, act: Activation,
): void {
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < C; c++) {
      const base = (o * C + c) * inner;
      for (let i = 0; i < inner; i++) {
        const v = x[base + i] + bias[c];
        y[base + i] = act === "silu" ? v * sigmoid(v) : v;
      }
    }
  }
}

/** silu'(v) = s·(1 + v·(1 − s)) with s = sigmoid(v). */
export function siluBackward(x: Float32Array, dy: Float32Array, dx: Float32Array): void {
  for (let i = 0; i < x.length; i++) {
    const s = sigmoid(x[i]);
    dx[i] = dy[i] * s * (1 + x[i] * (1 - s));
  }
}

export function sumChannels(x: Float32Array, out: Float32Array, outer: number, C: number, inner: number, accumulate: boolean): void {
  for (let c = 0; c < C; c++) {
    let s = accumulate ? out[c] : 0;
    for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) s += x[(o * C + c) * inner + i];
    out[c] = s;
  }
}

export function groupNorm(
  x: Float32Array, gamma: Float32Array, beta: Float32Array, y: Float32Array, mean: Float32Array, rstd: Float32Array,
  N: number, C: number, HW: number, G: number, eps: number,
): void {
  const cpg = C / G;
  const m = cpg * HW;
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < G; g++) {
      const base = (n * C + g * cpg) * HW;
      let s = 0;
      for (let i = 0; i < m; i++) s += x[base + i];
      const mu = s / m;
      let ss = 0;
      for (let i = 0; i < m; i++) ss += (x[base + i] - mu) ** 2;
      const rs = 1 / Math.sqrt(ss / m + eps);
      mean[n * G + g] = mu;
      rstd[n * G + g] = rs;
      for (let i = 0; i < m; i++) {
        const c = g * cpg + Math.floor(i / HW);
        y[base + i] = (x[base + i] - mu) * rs * gamma[c] + beta[c];
      }
    }
  }
}

export function groupNormBackward(
  x: Float32Array, dy: Float32Array, gamma: Float32Array, mean: Float32Array, rstd: Float32Array,
  dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array, N: number, C: number, HW: number, G: number,
): void {
  const cpg = C / G;
  const m = cpg * HW;
  const dg = scratch(2 * C);
  dg.fill(0, 0, 2 * C);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < G; g++) {
      const base = (n * C + g * cpg) * HW;
      const mu = mean[n * G + g];
      const rs = rstd[n * G + g];
      let sdx = 0; // Σ dxhat
      let sdxx = 0; // Σ dxhat·xhat
      for (let i = 0; i < m; i++) {
        const c = g * cpg + Math.floor(i / HW);
        const xh = (x[base + i] - mu) * rs;
        sdx += dy[base + i] * gamma[c];
        sdxx += dy[base + i] * gamma[c] * xh;
        dg[c] += dy[base + i] * xh;
        dg[C + c] += dy[base + i];
      }
      for (let i = 0; i < m; i++) {
        const c = g * cpg + Math.floor(i / HW);
        const xh = (x[base + i] - mu) * rs;
        dx[base + i] = rs * (dy[base + i] * gamma[c] - sdx / m - xh * (sdxx / m));
      }
    }
  }
  for (let c = 0; c < C; c++) {
    dgamma[c] = dg[c];
    dbeta[c] = dg[C + c];
  }
}

export function softmax(x: Float32Array, y: Float32Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let mx = -Infinity;
    for (let i = 0; i < cols; i++) mx = Math.max(mx, x[o + i]);
    let s = 0;
    for (let i = 0; i < cols; i++) {
      y[o + i] = Math.exp(x[o + i] - mx);
      s += y[o + i];
    }
    for (let i = 0; i < cols; i++) y[o + i] /= s;
  }
}

export function softmaxBackward(y: Float32Array, dy: Float32Array, dx: Float32Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let s = 0;
    for (let i = 0; i < cols; i++) s += dy[o + i] * y[o + i];
    for (let i = 0; i < cols; i++) dx[o + i] = y[o + i] * (dy[o + i] - s);
  }
}

export function axpy(a: number, x: Float32Array, y: Float32Array): void {
  for (let i = 0; i < y.length; i++) y[i] += a * x[i];
}

export function axpby(a: number, x: Float32Array, b: number, y: Float32Array, out: Float32Array): void {
  for (let i = 0; i < out.length; i++) out[i] = a * x[i] + b * y[i];
}

export function scale(a: number, x: Float32Array, out: Float32Array): void {
  for (let i = 0; i < out.length; i++) out[i] = a * x[i];
}

export function mul(x: Float32Array, y: Float32Array, out: Float32Array): void {
  for (let i = 0; i < out.length; i++) out[i] = x[i] * y[i];
}

export function sum(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s;
}

export function dot(x: Float32Array, y: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * y[i];
  return s;
}

export function sqDist(x: Float32Array, y: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] - y[i]) ** 2;
  return s;
}

export function adam(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, o: AdamStep): void {
  const bc1 = 1 - o.beta1 ** o.step;
  const bc2 = 1 - o.beta2 ** o.step;
  for (let i = 0; i < p.length; i++) {
    m[i] = o.beta1 * m[i] + (1 - o.beta1) * g[i];
    v[i] = o.beta2 * v[i] + (1 - o.beta2) * g[i] * g[i];
    const upd = m[i] / bc1 / (Math.sqrt(v[i] / bc2) + o.eps);
    p[i] = p[i] - o.lr * upd - o.lr * o.weightDecay * p[i];
  }
}
