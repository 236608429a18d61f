// Scalar twins of the SIMD kernels: the same arithmetic in the same order, one element at a time.
// Without FMA a SIMD kernel must match its twin bit for bit (test/kernels/twin.test.ts holds it to
// that); that is what makes results independent of tiling, batch position and machine. The elementwise
// kernels of ops.ts carry their twins inline, as their scalar tail loops.

import { KC } from "./blocking";

/** The twin of gemm_f32: per element, k ascending within blocks of KC in f32, each block added to C in order. */
export function gemm_scalar_f32(
  transA: i32, transB: i32, M: i32, N: i32, K: i32,
  a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, accumulate: i32,
): void {
  const sai = transA ? 1 : lda;
  const sak = transA ? lda : 1;
  const sbk = transB ? 1 : ldb;
  const sbj = transB ? ldb : 1;
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      const cp = c + ((<usize>i * <usize>ldc + <usize>j) << 2);
      let cv: f32 = accumulate ? load<f32>(cp) : 0;
      for (let pc = 0; pc < K; pc += KC) {
        const kc = min(KC, K - pc);
        let s: f32 = 0;
        for (let k = pc; k < pc + kc; k++) {
          s += load<f32>(a + ((<usize>i * <usize>sai + <usize>k * <usize>sak) << 2)) * load<f32>(b + ((<usize>k * <usize>sbk + <usize>j * <usize>sbj) << 2));
        }
        cv = pc == 0 && !accumulate ? s : cv + s;
      }
      store<f32>(cp, cv);
    }
  }
}
