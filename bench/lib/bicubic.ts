// Bicubic upsampling, the baseline of bench/inverse.ts: Keys' cubic convolution kernel with a = -0.5
// (Keys 1981; PIL's and PyTorch's "bicubic"), pixel centres aligned (align_corners = false), edges held.

/** Keys' kernel W(t) for a = -0.5. */
function keys(t: number): number {
  const a = -0.5;
  const x = Math.abs(t);
  if (x <= 1) return (a + 2) * x ** 3 - (a + 3) * x ** 2 + 1;
  if (x < 2) return a * x ** 3 - 5 * a * x ** 2 + 8 * a * x - 4 * a;
  return 0;
}

/** Upsample `batch` single-channel images of h x w to H x W. */
export function bicubicUpsample(img: ArrayLike<number>, batch: number, h: number, w: number, H: number, W: number): Float32Array {
  const out = new Float32Array(batch * H * W);
  const taps = (n: number, N: number) =>
    Array.from({ length: N }, (_, o) => {
      const src = ((o + 0.5) * n) / N - 0.5;
      const f = Math.floor(src);
      return [-1, 0, 1, 2].map((k) => [Math.min(n - 1, Math.max(0, f + k)), keys(src - (f + k))] as const);
    });
  const ty = taps(h, H);
  const tx = taps(w, W);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < H; i++) {
      for (let j = 0; j < W; j++) {
        let v = 0;
        for (const [yi, wy] of ty[i]) for (const [xj, wx] of tx[j]) v += wy * wx * img[b * h * w + yi * w + xj];
        out[b * H * W + i * W + j] = v;
      }
    }
  }
  return out;
}
