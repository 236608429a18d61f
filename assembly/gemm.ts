// GEMM C[M,N] (+)= op(A)·op(B), f32, SIMD128, GotoBLAS-style blocking:
//
//   for jc in N by NC:  for pc in K by KC:  pack B block (KC x NC) into 8-column panels
//     for ic in M by MC:  pack A block (MC x KC) into 4-row panels
//       for jr in NC by 8:  for ir in MC by 4:  micro-kernel over kc
//
// Tile and block sizes: blocking.ts; packing (which also turns convolutions into this GEMM): pack.ts;
// the register tile: microkernels.ts. The convolutions built on the driver: conv_im2col.ts, winograd.ts.
//
// Determinism: each C element is Σ_k in ascending k, in blocks of KC added to C in ascending block
// order; lanes are independent. The order depends only on K, never on the element's row/column, so a
// batch item's result does not depend on its position in the batch (twins.ts holds the scalar twin).

import { KC, MC, MR, NC, NR, packA, packB } from "./blocking";
import { micro2x8, micro4x8 } from "./microkernels";
import { A_DENSE, A_TRANS, B_DENSE, B_TRANS, packABlock, packBBlock } from "./pack";

/**
 * C[M,N] (+)= A(M x K) · B(K x N) with operands read through the given modes (pack.ts); C row stride
 * ldc. srcH .. aC: the convolution geometry of the conv modes (pack.ts), ignored by the matrix modes.
 */
export function gemmDriver(
  M: i32, N: i32, K: i32,
  aMode: i32, a: usize, lda: i32,
  bMode: i32, b: usize, ldb: i32,
  c: usize, ldc: i32, accumulate: bool,
  srcH: i32, srcW: i32, gridW: i32, R: i32, S: i32, st: i32, pad: i32, aC: i32,
): void {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate) {
      for (let i = 0; i < M; i++) memory.fill(c + ((<usize>i * <usize>ldc) << 2), 0, <usize>N << 2);
    }
    return;
  }
  const pa0 = packA();
  const pb0 = packB();
  for (let jc = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      packBBlock(bMode, b, ldb, pc, jc, kc, nc, srcH, srcW, gridW, R, S, st, pad);
      const acc = accumulate || pc > 0;
      for (let ic = 0; ic < M; ic += MC) {
        const mc = min(MC, M - ic);
        packABlock(aMode, a, lda, ic, pc, mc, kc, R * S, aC);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = min(NR, nc - jr);
          const pb = pb0 + ((<usize>jr * <usize>kc) << 2);
          for (let ir = 0; ir < mc; ir += MR) {
            const mr = min(MR, mc - ir);
            const pa = pa0 + ((<usize>ir * <usize>kc) << 2);
            const cp = c + ((<usize>(ic + ir) * <usize>ldc + <usize>(jc + jr)) << 2);
            if (mr <= 2) micro2x8(kc, pa, pb, cp, ldc, acc, mr, nr);
            else micro4x8(kc, pa, pb, cp, ldc, acc, mr, nr);
          }
        }
      }
    }
  }
}

/** The driver on plain matrices (modes A_DENSE/A_TRANS, B_DENSE/B_TRANS): no convolution geometry. */
// @ts-ignore: decorator
@inline export function gemm(
  M: i32, N: i32, K: i32,
  aMode: i32, a: usize, lda: i32,
  bMode: i32, b: usize, ldb: i32,
  c: usize, ldc: i32, accumulate: bool,
): void {
  gemmDriver(M, N, K, aMode, a, lda, bMode, b, ldb, c, ldc, accumulate, 0, 0, 0, 1, 1, 1, 0, 0);
}

/**
 * C (+)= op(A)·op(B), op = transpose when transX != 0. A is M x K (or K x M stored when transposed),
 * B is K x N (or N x K), row-major with leading dimensions lda, ldb, ldc (in elements).
 */
export function gemm_f32(
  transA: i32,
  transB: i32,
  M: i32,
  N: i32,
  K: i32,
  a: usize,
  lda: i32,
  b: usize,
  ldb: i32,
  c: usize,
  ldc: i32,
  accumulate: i32,
): void {
  gemm(M, N, K, transA ? A_TRANS : A_DENSE, a, lda, transB ? B_TRANS : B_DENSE, b, ldb, c, ldc, accumulate != 0);
}
