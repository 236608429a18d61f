// 2-D toys (src/data/toys.ts) and the batch sampler (src/data/dataset.ts). Statistical bounds: with
// n = 40,000 points the standard error of a mean of a unit-variance coordinate is 1/sqrt(n) = 0.005 and
// of a second moment about 0.01, so tolerances of 0.04 (8 s.e. or more) make a false alarm negligible
// while a wrong scale (e.g. std 1.23 instead of 1) or a shifted mean still fails.

import { describe, expect, it } from "vitest";
import { batchIndices, checkDataset, DatasetError, gatherBatch } from "../../src/data/dataset.ts";
import { checkerboard, eightGaussians, eightGaussiansMean, gaussianGrid, gaussianMixture, moons, swissRoll, TOY_NAMES, toyData } from "../../src/data/toys.ts";
import { Rng } from "../../src/rng.ts";
import { ArgumentError } from "../../src/validate.ts";

const N = 40_000;

function stats(p: Float32Array) {
  const n = p.length / 2;
  let mx = 0, my = 0, m2 = 0;
  for (let i = 0; i < n; i++) {
    mx += p[2 * i];
    my += p[2 * i + 1];
    m2 += p[2 * i] ** 2 + p[2 * i + 1] ** 2;
  }
  return { mx: mx / n, my: my / n, m2: m2 / n };
}

describe("2-D toys", () => {
  it.each(TOY_NAMES)("%s: mean 0 and E|x|^2 = 2 (std about 1), deterministic for a seed, prefix-stable", (name) => {
    const p = toyData(name, N, new Rng(11));
    expect(p.length).toBe(2 * N);
    const s = stats(p);
    expect(Math.abs(s.mx)).toBeLessThan(0.04);
    expect(Math.abs(s.my)).toBeLessThan(0.04);
    expect(Math.abs(s.m2 - 2)).toBeLessThan(0.06);
    expect(toyData(name, 100, new Rng(11))).toEqual(p.subarray(0, 200));
    expect(toyData(name, 100, new Rng(12))).not.toEqual(p.subarray(0, 200));
  });

  it("moons without noise lie exactly on their two half circles, inside the scaled bounding box", () => {
    const labels = new Int32Array(N);
    const p = moons(N, new Rng(3), { noise: 0, labels });
    const varY = 0.5 - 4 / Math.PI ** 2 + (2 / Math.PI - 0.25) ** 2;
    const s = Math.sqrt(2 / (0.75 + varY));
    const counts = [0, 0];
    let off = 0;
    for (let i = 0; i < N; i++) {
      const x = p[2 * i] / s + 0.5; // back to raw units
      const y = p[2 * i + 1] / s + 0.25;
      counts[labels[i]]++;
      // raw box: outer moon [-1, 1] x [0, 1], inner [0, 2] x [-1/2, 1/2]; float32 rounding ~1e-6
      const [cx, cy, ylo, yhi] = labels[i] === 0 ? [0, 0, 0, 1] : [1, 0.5, -0.5, 0.5];
      if (!(Math.abs(Math.hypot(x - cx, y - cy) - 1) < 1e-5 && y >= ylo - 1e-5 && y <= yhi + 1e-5)) off++;
    }
    expect(off).toBe(0);
    // each class ~ Binomial(N, 1/2): s.e. 100
    expect(Math.abs(counts[0] - N / 2)).toBeLessThan(800);
  });

  it("8 Gaussians: each component's mean and std match, components equally likely", () => {
    const labels = new Int32Array(N);
    const p = eightGaussians(N, new Rng(4), { labels });
    const s = Math.sqrt(2 / 1.02);
    for (let k = 0; k < 8; k++) {
      let n = 0, sx = 0, sy = 0, v = 0;
      for (let i = 0; i < N; i++) {
        if (labels[i] !== k) continue;
        n++;
        sx += p[2 * i];
        sy += p[2 * i + 1];
      }
      const [ex, ey] = eightGaussiansMean(k);
      for (let i = 0; i < N; i++) if (labels[i] === k) v += (p[2 * i] - ex) ** 2 + (p[2 * i + 1] - ey) ** 2;
      // ~5000 points per component, component std 0.1 s = 0.14: s.e. of the mean 0.002
      expect(Math.abs(n - N / 8)).toBeLessThan(400);
      expect(Math.abs(sx / n - ex)).toBeLessThan(0.015);
      expect(Math.abs(sy / n - ey)).toBeLessThan(0.015);
      expect(Math.sqrt(v / (2 * n))).toBeCloseTo(0.1 * s, 2);
      expect(Math.hypot(ex, ey)).toBeCloseTo(s, 12);
    }
  });

  it("checkerboard: only the 8 filled cells of the board are hit, each about equally", () => {
    const p = checkerboard(N, new Rng(5));
    const s = Math.sqrt(3) / 2;
    const hits = new Array(17).fill(0); // [16]: outside the board
    for (let i = 0; i < N; i++) {
      const col = Math.floor(p[2 * i] / s + 2);
      const row = Math.floor(p[2 * i + 1] / s + 2);
      hits[col >= 0 && col < 4 && row >= 0 && row < 4 ? row * 4 + col : 16]++;
    }
    for (let c = 0; c < 16; c++) {
      const filled = ((c % 4) + Math.floor(c / 4)) % 2 === 0;
      if (filled) expect(Math.abs(hits[c] - N / 8)).toBeLessThan(400);
      else expect(hits[c]).toBe(0);
    }
    expect(hits[16]).toBe(0);
  });

  it("swiss roll without noise lies on the spiral r = t in raw units", () => {
    const p = swissRoll(2000, new Rng(6), { noise: 0 });
    const a = 1.5 * Math.PI, b = 4.5 * Math.PI;
    const s = Math.sqrt(2 / ((a * a + a * b + b * b) / 3 - 4 - (2 / (3 * Math.PI)) ** 2));
    for (let i = 0; i < 2000; i++) {
      const r = Math.hypot(p[2 * i] / s + 2, p[2 * i + 1] / s + 2 / (3 * Math.PI));
      expect(r).toBeGreaterThan(a - 1e-4);
      expect(r).toBeLessThan(b + 1e-4);
    }
  });

  it("25 Gaussians and a general mixture put points at their components", () => {
    const labels = new Int32Array(N);
    const p = gaussianGrid(N, new Rng(7), { labels });
    const s = 1 / Math.sqrt(2.0025);
    for (let i = 0; i < 1000; i++) {
      const k = labels[i];
      expect(Math.abs(p[2 * i] / s - ((k % 5) - 2))).toBeLessThan(0.05 * 7); // 7 component stds
    }
    const lab = new Int32Array(N);
    const q = gaussianMixture(N, new Rng(8), { weights: [1, 3], means: [[-5, 0], [5, 1]], stds: [0, 0] }, lab);
    let ones = 0;
    for (let i = 0; i < N; i++) {
      ones += lab[i];
      if (q[2 * i] !== (lab[i] === 1 ? 5 : -5) || q[2 * i + 1] !== lab[i]) ones = NaN;
    }
    expect(Math.abs(ones / N - 0.75)).toBeLessThan(0.02); // s.e. 0.002
  });

  it("bad arguments name the problem", () => {
    expect(() => toyData("spirals", 10, new Rng(0))).toThrow(DatasetError);
    expect(() => toyData("spirals", 10, new Rng(0))).toThrow(/unknown 2-D dataset "spirals"; known: moons/);
    expect(() => moons(0, new Rng(0))).toThrow(ArgumentError);
    expect(() => moons(10, new Rng(0), { noise: -1 })).toThrow(/noise/);
    expect(() => moons(10, new Rng(0), { labels: new Int32Array(3) })).toThrow(/opts\.labels/);
    expect(() => gaussianMixture(10, new Rng(0), { weights: [1], means: [[0, 0]], stds: [NaN] })).toThrow(/stds\[0\]/);
  });
});

describe("batch sampler", () => {
  it("is a pure function of (seed, step), uniform over [0, n), different across steps", () => {
    const a = batchIndices(new Rng(1).stream("batches"), 7, 64, 1000);
    expect(batchIndices(new Rng(1).stream("batches"), 7, 64, 1000)).toEqual(a);
    expect(batchIndices(new Rng(1).stream("batches"), 8, 64, 1000)).not.toEqual(a);
    expect(batchIndices(new Rng(2).stream("batches"), 7, 64, 1000)).not.toEqual(a);
    // uniformity: 10 bins over 100,000 draws, each ~ 10,000 +- 95 (s.e.); 6 s.e. bound
    const idx = batchIndices(new Rng(3), 0, 100_000, 10);
    const bins = new Array(10).fill(0);
    for (const i of idx) bins[i]++;
    for (const b of bins) expect(Math.abs(b - 10_000)).toBeLessThan(570);
    expect(batchIndices(new Rng(3), 0, 50, 1).every((i) => i === 0)).toBe(true);
    expect(() => batchIndices(new Rng(3), -1, 5, 10)).toThrow(/step/);
    expect(() => batchIndices(new Rng(3), 0, 5, 0)).toThrow(/n/);
  });

  it("gathers a batch and checks datasets", () => {
    const ds = { images: new Float32Array([0, 1, 2, 3, 4, 5]), shape: [3, 1, 1, 2] as [number, number, number, number], labels: new Int32Array([2, 0, 1]), numClasses: 3 };
    expect(checkDataset(ds)).toBe(3);
    const b = gatherBatch(ds, new Int32Array([2, 0, 2]));
    expect([...b.images]).toEqual([4, 5, 0, 1, 4, 5]);
    expect([...b.labels!]).toEqual([1, 2, 1]);
    expect(() => gatherBatch(ds, new Int32Array([3]))).toThrow(/index 3/);
    expect(() => checkDataset({ ...ds, labels: new Int32Array([0, 3, 0]) })).toThrow(/label 3 at 1/);
    expect(() => checkDataset({ ...ds, shape: [2, 1, 1, 2] })).toThrow(/6 values/);
  });
});
