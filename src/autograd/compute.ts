// The arithmetic the autograd ops need, behind one small seam. The default is plain TypeScript; the
// kernels layer (src/kernels, WASM SIMD) plugs in through setCompute() with the same signatures, so
// the ops read the same whichever backend runs them.

import { dexp } from "../math/detmath.ts";

export interface Compute {
  /**
   * Row-major C[M,N] = alpha * op(A)[M,K] op(B)[K,N] + beta * C, op = transpose when the flag is set
   * (A is then stored [K,M], B [N,K]). Offsets let one buffer hold a batch.
   */
  gemm(
    transA: boolean,
    transB: boolean,
    M: number,
    N: number,
    K: number,
    alpha: number,
    A: Float32Array,
    aOff: number,
    B: Float32Array,
    bOff: number,
    beta: number,
    C: Float32Array,
    cOff: number,
  ): void;
  /** SiLU y = x sigmoid(x), elementwise. */
  silu(x: Float32Array, y: Float32Array): void;
}

function gemmTs(
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  alpha: number,
  A: Float32Array,
  aOff: number,
  B: Float32Array,
  bOff: number,
  beta: number,
  C: Float32Array,
  cOff: number,
): void {
  // i-k-j order for the common case: the inner loop walks rows of B and C contiguously.
  const acc = new Float32Array(N);
  for (let i = 0; i < M; i++) {
    acc.fill(0);
    for (let k = 0; k < K; k++) {
      const a = transA ? A[aOff + k * M + i] : A[aOff + i * K + k];
      if (a === 0) continue;
      if (transB) {
        for (let j = 0; j < N; j++) acc[j] += a * B[bOff + j * K + k];
      } else {
        const row = bOff + k * N;
        for (let j = 0; j < N; j++) acc[j] += a * B[row + j];
      }
    }
    const c = cOff + i * N;
    if (beta === 0) for (let j = 0; j < N; j++) C[c + j] = alpha * acc[j];
    else for (let j = 0; j < N; j++) C[c + j] = alpha * acc[j] + beta * C[c + j];
  }
}

export const tsCompute: Compute = {
  gemm: gemmTs,
  silu(x, y) {
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      y[i] = v / (1 + dexp(-v));
    }
  },
};

let current: Compute = tsCompute;

export function compute(): Compute {
  return current;
}

/** Route the ops' arithmetic to another backend (e.g. the WASM SIMD kernels). */
export function setCompute(c: Compute): void {
  current = c;
}

/**
 * im2col for one image: x [C, H, W] -> col [C*k*k, Ho*Wo] with zero padding, so a convolution is one
 * GEMM with the weights [O, C*k*k].
 */
export function im2col(
  x: Float32Array,
  xOff: number,
  C: number,
  H: number,
  W: number,
  k: number,
  stride: number,
  pad: number,
  Ho: number,
  Wo: number,
  col: Float32Array,
): void {
  let r = 0;
  for (let c = 0; c < C; c++) {
    for (let ky = 0; ky < k; ky++) {
      for (let kx = 0; kx < k; kx++, r++) {
        const row = r * Ho * Wo;
        for (let oy = 0; oy < Ho; oy++) {
          const iy = oy * stride - pad + ky;
          for (let ox = 0; ox < Wo; ox++) {
            const ix = ox * stride - pad + kx;
            col[row + oy * Wo + ox] = iy >= 0 && iy < H && ix >= 0 && ix < W ? x[xOff + (c * H + iy) * W + ix] : 0;
          }
        }
      }
    }
  }
}

/** The adjoint of im2col: scatter-add col [C*k*k, Ho*Wo] back into dx [C, H, W]. */
export function col2im(
  col: Float32Array,
  C: number,
  H: number,
  W: number,
  k: number,
  stride: number,
  pad: number,
  Ho: number,
  Wo: number,
  dx: Float32Array,
  dxOff: number,
): void {
  let r = 0;
  for (let c = 0; c < C; c++) {
    for (let ky = 0; ky < k; ky++) {
      for (let kx = 0; kx < k; kx++, r++) {
        const row = r * Ho * Wo;
        for (let oy = 0; oy < Ho; oy++) {
          const iy = oy * stride - pad + ky;
          if (iy < 0 || iy >= H) continue;
          for (let ox = 0; ox < Wo; ox++) {
            const ix = ox * stride - pad + kx;
            if (ix >= 0 && ix < W) dx[dxOff + (c * H + iy) * W + ix] += col[row + oy * Wo + ox];
          }
        }
      }
    }
  }
}
