// Lay a batch of images [N, C, H, W] in [-1, 1] out as one 8-bit image: a grid with a gap between
// tiles, each pixel repeated `scale` times. C is 1 (gray) or 3 (RGB); the output is interleaved.

import { ArgumentError, f32, int } from "../validate.ts";

export interface Image8 {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
}

export interface GridOptions {
  cols: number;
  gap?: number;
  scale?: number;
  /** Gap colour in [0, 255]. */
  background?: number;
}

export function imageGrid(images: Float32Array, shape: [number, number, number, number], opts: GridOptions): Image8 {
  f32("images", images);
  const [N, C, H, W] = shape;
  int("shape[0]", N, 1);
  if (C !== 1 && C !== 3) throw new ArgumentError("shape[1]", `must be 1 or 3 channels, got ${C}`);
  int("shape[2]", H, 1);
  int("shape[3]", W, 1);
  if (images.length !== N * C * H * W) {
    throw new ArgumentError("images", `length ${images.length} does not match shape [${shape.join(", ")}]`);
  }
  const cols = int("cols", opts.cols, 1);
  const gap = int("gap", opts.gap ?? 2, 0, 64);
  const scale = int("scale", opts.scale ?? 1, 1, 64);
  const bg = int("background", opts.background ?? 255, 0, 255);
  const rows = Math.ceil(N / cols);
  const tw = W * scale;
  const th = H * scale;
  const width = cols * tw + (cols + 1) * gap;
  const height = rows * th + (rows + 1) * gap;
  const data = new Uint8Array(width * height * C).fill(bg);
  for (let n = 0; n < N; n++) {
    const ox = gap + (n % cols) * (tw + gap);
    const oy = gap + Math.floor(n / cols) * (th + gap);
    for (let y = 0; y < th; y++) {
      for (let x = 0; x < tw; x++) {
        for (let c = 0; c < C; c++) {
          const v = images[((n * C + c) * H + Math.floor(y / scale)) * W + Math.floor(x / scale)];
          const b = Math.round((Math.min(1, Math.max(-1, v)) + 1) * 127.5);
          data[((oy + y) * width + ox + x) * C + c] = b;
        }
      }
    }
  }
  return { width, height, channels: C as 1 | 3, data };
}
