// Parameterizations (src/denoiser/conversions.ts): eps, x0, v, score and the flow velocity against formulas written out here, round trips in
// float32 with a tolerance propagated from the coefficients, composition, and the undefined conversions.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PREDICTIONS, type Prediction, conversionCoefficients, convertPrediction, vpFromVeSigma } from "../../src/denoiser/conversions.ts";
import { Rng } from "../../src/rng.ts";
import { expectArgumentError } from "../support/errors.ts";
import { EPS64, U32 } from "../support/ulp.ts";

/** Each kind from (x0, eps) at (alpha, sigma), written out: v = alpha eps - sigma x0 (Salimans & Ho 2022), score = -eps / sigma. */
function kindOf(k: Prediction, x0: number, eps: number, a: number, s: number): number {
  return k === "x0" ? x0 : k === "eps" ? eps : k === "v" ? a * eps - s * x0 : k === "flow" ? eps - x0 : -eps / s;
}
/** (x0, eps) recovered from x = a x0 + s eps and a prediction of kind k, written out per kind. */
function solve(k: Prediction, x: number, p: number, a: number, s: number): [number, number] {
  switch (k) {
    case "x0":
      return [p, (x - a * p) / s];
    case "eps":
      return [(x - s * p) / a, p];
    case "v": // x = a x0 + s eps, v = a eps - s x0  =>  (a^2 + s^2) x0 = a x - s v, (a^2 + s^2) eps = s x + a v
      return [(a * x - s * p) / (a * a + s * s), (s * x + a * p) / (a * a + s * s)];
    case "score": // eps = -s p
      return [(x + s * s * p) / a, -s * p];
    case "flow": // p = eps - x0  =>  x = a x0 + s (p + x0)  =>  x0 = (x - s p) / (a + s), eps = (x + a p) / (a + s)
      return [(x - s * p) / (a + s), (x + a * p) / (a + s)];
  }
}

const pairArb = fc.oneof(
  // VP pairs alpha^2 + sigma^2 = 1, alpha and sigma >= 0.05
  fc.double({ min: 0.05, max: Math.PI / 2 - 0.05, noNaN: true }).map((th) => [Math.cos(th), Math.sin(th)] as const),
  // VE / general: alpha in [0.05, 1], sigma in [0.05, 80]
  fc.tuple(fc.double({ min: 0.05, max: 1, noNaN: true }), fc.double({ min: 0.05, max: 80, noNaN: true })),
);
const kindArb = fc.constantFrom(...PREDICTIONS);

describe("conversion coefficients", () => {
  it("every conversion A -> B is the written-out formula: solve for (x0, eps) from (x, A), recombine as B (float64)", () => {
    // Both are a few float64 operations on values of size (|x| + |p|) max(1, |coefficients|): 64 eps of that.
    fc.assert(
      fc.property(kindArb, kindArb, pairArb, fc.double({ min: -5, max: 5, noNaN: true }), fc.double({ min: -5, max: 5, noNaN: true }), (A, B, [a, s], x0, eps) => {
        const x = a * x0 + s * eps;
        const p = kindOf(A, x0, eps, a, s);
        const [rx0, reps] = solve(A, x, p, a, s);
        const want = kindOf(B, rx0, reps, a, s);
        const [cx, cp] = conversionCoefficients(A, B, a, s);
        const got = cx * x + cp * p;
        const scale = (Math.abs(x) + Math.abs(p) + 1) * Math.max(1, Math.abs(cx), Math.abs(cp), 1 / a, s, 1 / s);
        expect(Math.abs(got - want)).toBeLessThanOrEqual(64 * EPS64 * scale);
        // and the truth: B of the (x0, eps) that generated x
        expect(Math.abs(got - kindOf(B, x0, eps, a, s))).toBeLessThanOrEqual(256 * EPS64 * scale);
      }),
      { seed: 1001, numRuns: 2000 },
    );
  });

  it("conversions compose: (A -> B) then (B -> C) has the coefficients of A -> C", () => {
    fc.assert(
      fc.property(kindArb, kindArb, kindArb, pairArb, (A, B, C, [a, s]) => {
        const [cx1, cp1] = conversionCoefficients(A, B, a, s);
        const [cx2, cp2] = conversionCoefficients(B, C, a, s);
        const [cx, cp] = conversionCoefficients(A, C, a, s);
        const m = Math.max(1, Math.abs(cx1), Math.abs(cp1), Math.abs(cx2), Math.abs(cp2)) ** 2;
        expect(Math.abs(cx2 + cp2 * cx1 - cx)).toBeLessThanOrEqual(32 * EPS64 * m);
        expect(Math.abs(cp2 * cp1 - cp)).toBeLessThanOrEqual(32 * EPS64 * m);
      }),
      { seed: 1002, numRuns: 1000 },
    );
  });
});

describe("convertPrediction round trips in float32", () => {
  it("eps -> x0 -> v -> score -> eps (and every cyclic order) returns the input within the propagated float32 rounding", () => {
    // Each step y = cx x + cp p is computed in float64 and stored as float32: it adds U32 |y| of rounding and
    // carries the input's error times |cp|. err_{k+1} = |cp_k| err_k + U32 |y_k|, from err_0 = 0, with the
    // coefficients' sizes from the written-out formulas (1/alpha, sigma, 1/sigma, ...). Tolerance: 1.01 err_final.
    fc.assert(
      fc.property(fc.shuffledSubarray([...PREDICTIONS], { minLength: 4, maxLength: 4 }), pairArb, fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 1e6 }), (order, [a, s], B, seed) => {
        const n = 16;
        const r = new Rng(seed);
        const x0 = r.stream(0).randn(B, n);
        const eps = r.stream(1).randn(B, n);
        const x = new Float32Array(B * n);
        for (let i = 0; i < x.length; i++) x[i] = a * x0[i] + s * eps[i];
        const start = Float32Array.from(x0, (v, i) => kindOf(order[0], v, eps[i], a, s));
        let cur: Float32Array = start;
        const err = new Float64Array(B * n);
        const path = [...order, order[0]];
        for (let k = 0; k + 1 < path.length; k++) {
          const [, cp] = conversionCoefficients(path[k], path[k + 1], a, s);
          cur = convertPrediction(cur, path[k], path[k + 1], x, a, s, B);
          for (let i = 0; i < err.length; i++) {
            const [rx0, reps] = solve(order[0], x[i], start[i], a, s); // the (x0, eps) the float32 input stands for
            err[i] = Math.abs(cp) * err[i] + U32 * Math.abs(kindOf(path[k + 1], rx0, reps, a, s)) * 1.0001;
          }
        }
        for (let i = 0; i < cur.length; i++) expect(Math.abs(cur[i] - start[i])).toBeLessThanOrEqual(1.01 * err[i] + 1e-30);
      }),
      { seed: 1003, numRuns: 300 },
    );
  });

  it("per-item alpha and sigma arrays convert each batch item with its own coefficients", () => {
    const r = new Rng(9);
    const B = 3;
    const n = 4;
    const p = r.stream(0).randn(B, n);
    const x = r.stream(1).randn(B, n);
    const al = [0.9, 0.5, 0.2];
    const sg = [0.1, 0.8, 3];
    const y = convertPrediction(p, "v", "x0", x, al, sg, B);
    for (let b = 0; b < B; b++) {
      const one = convertPrediction(p.subarray(b * n, (b + 1) * n), "v", "x0", x.subarray(b * n, (b + 1) * n), al[b], sg[b]);
      expect(y.subarray(b * n, (b + 1) * n)).toEqual(one);
    }
  });

  it("vpFromVeSigma: alpha = 1/sqrt(1 + s^2), sigma = s alpha, so alpha^2 + sigma^2 = 1 and sigma/alpha = s", () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1e6, noNaN: true }), (sv) => {
        const { alpha, sigma } = vpFromVeSigma(sv);
        expect(Math.abs(alpha * alpha + sigma * sigma - 1)).toBeLessThanOrEqual(8 * EPS64);
        if (sv > 0) expect(Math.abs(sigma / alpha - sv)).toBeLessThanOrEqual(8 * EPS64 * sv);
      }),
      { seed: 1004, numRuns: 500 },
    );
  });
});

describe("undefined conversions throw ArgumentError", () => {
  it("score at sigma = 0 (score = -eps/sigma), eps from anything at sigma = 0 except x0's own, and anything but v from eps or score at alpha = 0", () => {
    for (const k of PREDICTIONS) {
      if (k !== "score") {
        expectArgumentError(() => conversionCoefficients(k, "score", 1, 0), "sigma");
        expectArgumentError(() => conversionCoefficients("score", k, 1, 0), "sigma");
      }
    }
    expectArgumentError(() => conversionCoefficients("x0", "eps", 1, 0), "sigma"); // eps = (x - x0)/sigma
    expectArgumentError(() => conversionCoefficients("eps", "x0", 0, 1), "alpha"); // x0 = (x - sigma eps)/alpha
    expectArgumentError(() => conversionCoefficients("eps", "v", 0, 1), "alpha");
    expectArgumentError(() => conversionCoefficients("x0", "v", NaN, 1), "alpha");
    expectArgumentError(() => conversionCoefficients("x0", "v", 1, Infinity), "sigma");
    expectArgumentError(() => conversionCoefficients("x0", "v", -1, 1), "alpha");
    expectArgumentError(() => conversionCoefficients("x0", "v", 1, -1), "sigma");
    expectArgumentError(() => conversionCoefficients("x0" as Prediction, "noise" as Prediction, 1, 1), "to");
    expectArgumentError(() => conversionCoefficients("epsilon" as Prediction, "x0", 1, 1), "from");
    // defined at the ends: x0 from v at sigma = 0 (x0 = x / alpha), v from x0 at alpha = 0 (v = -sigma x0)
    const [cx, cp] = conversionCoefficients("v", "x0", 1, 0);
    expect(cx === 1 && cp === 0).toBe(true);
    expect(() => conversionCoefficients("x0", "v", 0, 1)).not.toThrow();
  });
});
