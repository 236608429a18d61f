// A small built-in image set drawn procedurally (no download, no file): anti-aliased shapes on a
// [-1, 1] scale, background -1. Used by `edge-diffusion forward` to show the forward process before any
// model is trained, and handy as a tiny dataset for tests.

import { int } from "../validate.ts";

export const SHAPE_NAMES = ["ring", "square", "cross", "triangle", "disc", "checker"] as const;
export type ShapeName = (typeof SHAPE_NAMES)[number];

/** Signed distance (in units of the half-size) of point (x, y) in [-1, 1]^2 to each shape's edge: < 0 inside. */
function sdf(name: ShapeName, x: number, y: number): number {
  switch (name) {
    case "ring":
      return Math.abs(Math.sqrt(x * x + y * y) - 0.6) - 0.15;
    case "disc":
      return Math.sqrt(x * x + y * y) - 0.55;
    case "square":
      return Math.max(Math.abs(x), Math.abs(y)) - 0.55;
    case "cross":
      return Math.min(Math.max(Math.abs(x) - 0.18, Math.abs(y) - 0.7), Math.max(Math.abs(x) - 0.7, Math.abs(y) - 0.18));
    case "triangle": {
      // equilateral, pointing up, centred
      const k = Math.sqrt(3);
      const px = Math.abs(x);
      const py = y + 0.2;
      return Math.max(px * k * 0.5 + py * 0.5, -py) - 0.45;
    }
    case "checker": {
      const cx = Math.floor((x + 1) * 2);
      const cy = Math.floor((y + 1) * 2);
      return (cx + cy) % 2 === 0 ? -1 : 1;
    }
  }
}

/**
 * Draw `names` as a batch [N, 1, size, size] in [-1, 1] (row-major). Edges are anti-aliased over one
 * pixel, so the images are smooth functions of the pixel grid.
 */
export function shapeImages(size = 32, names: readonly ShapeName[] = SHAPE_NAMES): Float32Array {
  int("size", size, 4, 1024);
  const out = new Float32Array(names.length * size * size);
  const px = 2 / size;
  names.forEach((name, n) => {
    for (let r = 0; r < size; r++) {
      for (let c = 0; c < size; c++) {
        const x = -1 + (c + 0.5) * px;
        const y = 1 - (r + 0.5) * px;
        const d = sdf(name, x, y) / px; // in pixels
        const cover = Math.min(1, Math.max(0, 0.5 - d));
        out[n * size * size + r * size + c] = 2 * cover - 1;
      }
    }
  });
  return out;
}
