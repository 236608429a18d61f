// The benchmark's reference ceiling (design notes §5's kernel): 12 independent f32x4 chains
// c = c·m + a on registers only (no memory traffic), 96 flops per iteration. Each chain is a multiply
// then a dependent add, so it is bound by latency as much as by issue rate; a GEMM micro-kernel, whose
// 8 accumulators each take one independent mul+add per step, can run slightly faster than this.
export function simd_peak_f32(iters: i32, seed: f32): f32 {
  const m = f32x4.splat(0.999999);
  const a = f32x4.splat(1e-7);
  let c0 = f32x4.splat(seed);
  let c1 = f32x4.add(c0, a);
  let c2 = f32x4.add(c1, a);
  let c3 = f32x4.add(c2, a);
  let c4 = f32x4.add(c3, a);
  let c5 = f32x4.add(c4, a);
  let c6 = f32x4.add(c5, a);
  let c7 = f32x4.add(c6, a);
  let c8 = f32x4.add(c7, a);
  let c9 = f32x4.add(c8, a);
  let c10 = f32x4.add(c9, a);
  let c11 = f32x4.add(c10, a);
  for (let i = 0; i < iters; i++) {
    c0 = f32x4.add(f32x4.mul(c0, m), a);
    c1 = f32x4.add(f32x4.mul(c1, m), a);
    c2 = f32x4.add(f32x4.mul(c2, m), a);
    c3 = f32x4.add(f32x4.mul(c3, m), a);
    c4 = f32x4.add(f32x4.mul(c4, m), a);
    c5 = f32x4.add(f32x4.mul(c5, m), a);
    c6 = f32x4.add(f32x4.mul(c6, m), a);
    c7 = f32x4.add(f32x4.mul(c7, m), a);
    c8 = f32x4.add(f32x4.mul(c8, m), a);
    c9 = f32x4.add(f32x4.mul(c9, m), a);
    c10 = f32x4.add(f32x4.mul(c10, m), a);
    c11 = f32x4.add(f32x4.mul(c11, m), a);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)), f32x4.add(f32x4.add(c4, c5), f32x4.add(c6, c7)));
  const t = f32x4.add(f32x4.add(s, f32x4.add(c8, c9)), f32x4.add(c10, c11));
  return f32x4.extract_lane(t, 0) + f32x4.extract_lane(t, 1) + f32x4.extract_lane(t, 2) + f32x4.extract_lane(t, 3);
}
