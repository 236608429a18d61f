// Sigma sequences for samplers (src/schedule/sigmas.ts): shape laws (strictly descending, one trailing 0,
// the ends), the published formulas, and discrete timesteps against diffusers' published examples and an
// exact integer reference computed here.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EDM, VE, VPLinear } from "../../src/schedule/continuous.ts";
import { discreteSchedule } from "../../src/schedule/discrete.ts";
import { discreteTimesteps, exponentialSigmas, karrasSigmas, sigmasAtTimesteps, uniformTimeSigmas } from "../../src/schedule/sigmas.ts";
import { veSigma } from "../../src/schedule/types.ts";
import { EPS64 } from "../support/ulp.ts";
import { continuousVpArb, discreteArb, veArb } from "../support/schedules.ts";

/** Strictly descending, then exactly one 0 at the end. */
function expectShape(s: Float64Array, n: number): void {
  expect(s.length).toBe(n + 1);
  expect(s[n]).toBe(0);
  for (let i = 0; i < n; i++) {
    expect(Number.isFinite(s[i]) && s[i] > 0).toBe(true);
    if (i > 0) expect(s[i]).toBeLessThan(s[i - 1]);
  }
}

const rangeArb = fc
  .record({ lo: fc.double({ min: 1e-4, max: 1, noNaN: true }), ratio: fc.double({ min: 1.5, max: 1e5, noNaN: true }) })
  .map(({ lo, ratio }) => [lo, lo * ratio] as const);
const nArb = fc.integer({ min: 1, max: 500 });
const FC = { seed: 1101, numRuns: 200 };

describe("Karras and exponential sigmas", () => {
  it("karrasSigmas: strictly descending, ending in exactly 0, first = sigmaMax and last nonzero = sigmaMin (to the rounding of x^(1/rho) then ^rho), EDM eq. 5 in between", () => {
    // dpow(dpow(x, 1/rho), rho): relative error ~ (4 + 4 |ln x|/rho) ulp then (4 + 4 |ln x|) ulp: 64 eps (1 + |ln x|).
    // At the last point a + 1 (b - a), with a = sigmaMax^(1/rho) > b = sigmaMin^(1/rho), keeps eps a absolute:
    // a relative error rho eps a/b after ^rho, added to the sigmaMin bound.
    fc.assert(
      fc.property(nArb, rangeArb, fc.double({ min: 1, max: 10, noNaN: true }), (n, [lo, hi], rho) => {
        const s = karrasSigmas(n, lo, hi, rho);
        expectShape(s, n);
        expect(Math.abs(s[0] - hi)).toBeLessThanOrEqual(64 * EPS64 * (1 + Math.abs(Math.log(hi))) * hi);
        const ab = (hi / lo) ** (1 / rho);
        if (n > 1) expect(Math.abs(s[n - 1] - lo)).toBeLessThanOrEqual((64 * (1 + Math.abs(Math.log(lo))) + 4 * rho * ab) * EPS64 * lo);
        for (let i = 0; i < n; i++) {
          const r = n === 1 ? 0 : i / (n - 1);
          const base = hi ** (1 / rho) + r * (lo ** (1 / rho) - hi ** (1 / rho));
          const want = base ** rho;
          const cancel = (4 * rho * hi ** (1 / rho)) / base; // the eps a absolute of the base, as above
          expect(Math.abs(s[i] - want)).toBeLessThanOrEqual((64 * (1 + Math.abs(Math.log(want))) + cancel) * EPS64 * want);
        }
      }),
      FC,
    );
  });

  it("exponentialSigmas: strictly descending, ending in 0, log-uniform from sigmaMax to sigmaMin (constant ratio)", () => {
    fc.assert(
      fc.property(nArb, rangeArb, (n, [lo, hi]) => {
        const s = exponentialSigmas(n, lo, hi);
        expectShape(s, n);
        const tol = (x: number) => 32 * EPS64 * (1 + Math.abs(Math.log(x))) * x;
        expect(Math.abs(s[0] - hi)).toBeLessThanOrEqual(tol(hi));
        if (n > 1) expect(Math.abs(s[n - 1] - lo)).toBeLessThanOrEqual(tol(lo));
        for (let i = 0; i < n; i++) {
          const want = n === 1 ? hi : Math.exp(Math.log(hi) + (i / (n - 1)) * (Math.log(lo) - Math.log(hi)));
          expect(Math.abs(s[i] - want)).toBeLessThanOrEqual(tol(want));
        }
      }),
      FC,
    );
  });
});

describe("uniform-in-t sigmas", () => {
  it("uniformTimeSigmas: the VE sigma (sigma/alpha) at n times uniform from tMax to the default tEnd, strictly descending, ending in 0, for every schedule", () => {
    fc.assert(
      fc.property(fc.oneof(discreteArb, continuousVpArb, veArb), nArb, (sch, n) => {
        if (sch.discrete && sch.tMax === 1 && n > 1) {
          // T = 1: tStart = tEnd = 1, no room for n > 1 distinct times
          expect(() => uniformTimeSigmas(sch, n)).toThrow(/tStart/);
          return;
        }
        const s = uniformTimeSigmas(sch, n);
        expectShape(s, n);
        expect(s[0]).toBe(veSigma(sch, sch.tMax));
        const tEnd = sch.discrete ? 1 : sch.variancePreserving ? sch.tMin + 1e-3 : sch.tMin;
        if (n > 1) expect(Math.abs(s[n - 1] - veSigma(sch, tEnd))).toBeLessThanOrEqual(1e-12 * s[n - 1]);
      }),
      FC,
    );
  });

  it("uniformTimeSigmas with explicit tStart > tEnd lands on both ends (t0 + (t1 - t0) may round past t1: it must not leave the domain)", () => {
    fc.assert(
      fc.property(fc.oneof(veArb, continuousVpArb), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), nArb, (sch, u, w, n) => {
        const [a, b] = [u, w].sort((x, y) => x - y);
        const t1 = sch.tMin + a * (sch.tMax - sch.tMin) + (sch.variancePreserving ? 1e-3 : 0);
        const t0 = sch.tMin + b * (sch.tMax - sch.tMin);
        fc.pre(t0 - t1 > 1e-6 && t0 <= sch.tMax);
        const s = uniformTimeSigmas(sch, n, { tStart: t0, tEnd: t1 });
        expectShape(s, n);
      }),
      FC,
    );
  });
});

describe("discrete timesteps (diffusers' spacings; ours number steps 1..T, diffusers' 0..T-1)", () => {
  const sched = discreteSchedule("linear", { T: 1000 });
  const range = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));

  it("T = 1000, n = 10: the published diffusers timesteps (Lin et al. 2023, Table 2), each + 1", () => {
    // diffusers: leading [900, 800, ..., 0] (+ steps_offset); trailing [999, 899, ..., 99]; linspace
    // round(linspace(0, 999, 10)) reversed = [999, 888, 777, 666, 555, 444, 333, 222, 111, 0]
    expect([...discreteTimesteps(sched, 10, "leading")]).toEqual(range(10, (i) => 900 - 100 * i + 1));
    expect([...discreteTimesteps(sched, 10, "leading", 1)]).toEqual(range(10, (i) => 901 - 100 * i + 1)); // diffusers [901, ..., 1]
    expect([...discreteTimesteps(sched, 10, "trailing")]).toEqual(range(10, (i) => 999 - 100 * i + 1));
    expect([...discreteTimesteps(sched, 10, "linspace")]).toEqual([999, 888, 777, 666, 555, 444, 333, 222, 111, 0].map((v) => v + 1));
  });

  it("every spacing, T and n: strictly descending integers in [1, T], equal to an exact-rational reference (numpy's half-to-even rounding)", () => {
    /** round(num / den) half to even, exactly, in integers. */
    const roundDiv = (num: number, den: number) => {
      const q = Math.floor(num / den);
      const r = num - q * den;
      if (2 * r > den) return q + 1;
      if (2 * r < den) return q;
      return q % 2 === 0 ? q : q + 1;
    };
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom("leading", "trailing", "linspace" as const), (T, u, spacing) => {
        const n = Math.max(1, Math.round(u * T));
        const s = discreteSchedule("linear", { T });
        const got = [...discreteTimesteps(s, n, spacing)];
        let want: number[];
        if (spacing === "leading") want = range(n, (i) => (n - 1 - i) * Math.floor(T / n));
        else if (spacing === "trailing") want = range(n, (i) => roundDiv(T * (n - i), n) - 1); // round(T - i T/n) - 1
        else want = range(n, (i) => (n === 1 ? 0 : roundDiv((T - 1) * (n - 1 - i), n - 1)));
        expect(got).toEqual(want.map((v) => v + 1));
        for (let i = 0; i < n; i++) {
          expect(Number.isInteger(got[i]) && got[i] >= 1 && got[i] <= T).toBe(true);
          if (i > 0) expect(got[i]).toBeLessThan(got[i - 1]);
        }
      }),
      { seed: 1102, numRuns: 300 },
    );
  });

  it("sigmasAtTimesteps: the VE sigmas at those timesteps, strictly descending, ending in exactly 0", () => {
    fc.assert(
      fc.property(discreteArb, fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom("leading", "trailing", "linspace" as const), (s, u, spacing) => {
        const n = Math.max(1, Math.round(u * s.T));
        const ts = discreteTimesteps(s, n, spacing);
        const sig = sigmasAtTimesteps(s, ts);
        expectShape(sig, n);
        for (let i = 0; i < n; i++) expect(sig[i]).toBe(s.sigma(ts[i]) / s.alpha(ts[i]));
      }),
      { seed: 1103, numRuns: 100 },
    );
  });
});

void EDM;
void VE;
void VPLinear;
