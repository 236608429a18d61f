import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decode } from "fast-png";
import { describe, expect, it } from "vitest";
import { runForward } from "../../src/cli/forward.ts";
import { shapeImages, SHAPE_NAMES } from "../../src/data/shapes.ts";

const base = { schedule: "cosine", T: 1000, columns: 6, seed: 3, size: 16, scale: 1, chain: false };

describe("edge-diffusion forward", () => {
  it("first PNG column is the data itself (t = 0: alpha = 1, sigma = 0)", () => {
    const r = runForward(base);
    const png = decode(r.png);
    const gap = 2;
    const size = 16;
    expect(png.width).toBe(6 * size + 7 * gap);
    expect(png.height).toBe(SHAPE_NAMES.length * size + (SHAPE_NAMES.length + 1) * gap);
    const x0 = shapeImages(size);
    let maxErr = 0;
    for (let n = 0; n < SHAPE_NAMES.length; n++) {
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const px = png.data[(gap + n * (size + gap) + y) * png.width + gap + x];
          const want = Math.round((x0[n * size * size + y * size + x] + 1) * 127.5);
          maxErr = Math.max(maxErr, Math.abs(px - want));
        }
      }
    }
    expect(maxErr).toBe(0);
  });

  it("measured Var(x_t) follows alpha^2 Var(x_0) + sigma^2 within the sampling error of a variance", () => {
    for (const schedule of ["cosine", "linear", "geometric", "vp-linear"]) {
      const r = runForward({ ...base, schedule, size: 32, columns: 5 });
      const n = SHAPE_NAMES.length * 32 * 32;
      for (const row of r.rows) {
        // x_t - alpha x0 = sigma eps: the measured variance differs from the law by the noise's own
        // sample variance error (sd sigma^2 sqrt(2/n)) plus the cross term 2 alpha sigma cov(x0, eps)
        // (sd 2 alpha sigma sd(x0) / sqrt(n)). Bound: 6 of those standard deviations.
        const sd = row.sigma ** 2 * Math.sqrt(2 / n) + (2 * row.alpha * row.sigma) / Math.sqrt(n);
        expect(Math.abs(row.measured - row.theory)).toBeLessThan(6 * sd + 1e-9);
      }
    }
  });

  it("the step-by-step chain and the closed form give the same marginal variance", () => {
    const chain = runForward({ ...base, schedule: "geometric", T: 50, chain: true, size: 32 });
    const closed = runForward({ ...base, schedule: "geometric", T: 50, chain: false, size: 32 });
    const n = SHAPE_NAMES.length * 32 * 32;
    chain.rows.forEach((row, i) => {
      expect(row.theory).toBeCloseTo(closed.rows[i].theory, 12);
      expect(Math.abs(row.measured - row.theory)).toBeLessThan(6 * (row.sigma ** 2 * Math.sqrt(2 / n) + (2 * row.alpha * row.sigma) / Math.sqrt(n)) + 1e-9);
    });
  });

  it("same seed gives the same PNG bytes; another seed does not", () => {
    expect(Buffer.from(runForward(base).png).equals(Buffer.from(runForward(base).png))).toBe(true);
    expect(Buffer.from(runForward(base).png).equals(Buffer.from(runForward({ ...base, seed: 4 }).png))).toBe(false);
  });

  it("bad arguments are rejected with the argument's name", () => {
    expect(() => runForward({ ...base, T: 0 })).toThrow(/--T: must be an integer in \[1, 100000\], got 0/);
    expect(() => runForward({ ...base, schedule: "nope" })).toThrow(/--schedule: must be one of/);
    expect(() => runForward({ ...base, schedule: "ve", chain: true })).toThrow(/--chain/);
    expect(() => runForward({ ...base, columns: 1 })).toThrow(/--columns/);
  });

  it("the built CLI writes the PNG it names and exits 2 on a bad option", () => {
    const dir = mkdtempSync(join(tmpdir(), "ed-cli-"));
    const out = join(dir, "f.png");
    const stdout = execFileSync(process.execPath, ["dist/cli.js", "forward", "--size", "16", "--out", out], { encoding: "utf8" });
    expect(stdout).toContain(`wrote ${out}`);
    const png = decode(readFileSync(out));
    expect(png.width).toBeGreaterThan(16);
    const bad = spawnSync(process.execPath, ["dist/cli.js", "forward", "--T=-3"], { encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--T: must be an integer/);
  });
});
