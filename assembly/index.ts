// Kernel module entry. Only numbers cross the boundary: pointers into linear memory and sizes.
// The kernels issue (#3) grows this into GEMM, convolution, norms and RNG; the foundation keeps one
// real SIMD kernel so the build, loading and the TS-vs-WASM test harness exist from day one.

/** y[i] += a * x[i] for i < n, f32, SIMD128 with a scalar tail. */
export function axpy_f32(n: i32, a: f32, xPtr: usize, yPtr: usize): void {
  const va = f32x4.splat(a);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 2;
    const x = v128.load(xPtr + off);
    const y = v128.load(yPtr + off);
    v128.store(yPtr + off, f32x4.add(y, f32x4.mul(va, x)));
  }
  for (; i < n; i++) {
    const off = <usize>i << 2;
    store<f32>(yPtr + off, load<f32>(yPtr + off) + a * load<f32>(xPtr + off));
  }
}

/** First byte past the static data: the TS side places its arena from here. */
export function heap_base(): usize {
  return __heap_base;
}
