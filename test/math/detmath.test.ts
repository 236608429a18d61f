// Deterministic transcendental functions (src/math/detmath.ts) against the engine's Math.*.
//
// Tolerance: Math.exp/log/sin/... in V8 (fdlibm ports) are within 1 ulp of the true value, and ours are
// documented as "a few ulp"; so their distance is at most ours + 1. ULP_TOL = 4 covers the measured worst
// case (3 ulp, log1p near its series boundary) with one to spare; a wrong coefficient or range reduction
// gives errors of thousands of ulp or more. Distances are counted in representable doubles, so subnormal
// results are held to the same bound.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cosSin2Pi, dcos, dexp, dexpm1, dlog, dlog1p, dpow, dsigmoid, dsin, logScaledInt53 } from "../../src/math/detmath.ts";
import { expectUlps, ulpDist } from "../support/ulp.ts";

const ULP_TOL = 4;
const FC = { seed: 20260601, numRuns: 2000 };
const MIN_SUB = 5e-324;
const MIN_NORMAL = 2.2250738585072014e-308;

describe("detmath: agreement with Math.* over wide ranges", () => {
  it("dexp(x) = exp(x) within 4 ulp for x in [-745.2, 709.78] (whole finite range incl. subnormal results)", () => {
    fc.assert(
      fc.property(fc.double({ min: -745.13, max: 709.78, noNaN: true }), (x) => expectUlps(dexp(x), Math.exp(x), ULP_TOL, `dexp(${x})`)),
      FC,
    );
    // near the overflow threshold (k = 1024 in the reduction) and the underflow threshold, deliberately
    for (let x = 709.0; x <= 709.78; x += 0.01) expectUlps(dexp(x), Math.exp(x), ULP_TOL, `dexp(${x})`);
    for (let x = -745.13; x <= -740; x += 0.01) expectUlps(dexp(x), Math.exp(x), ULP_TOL, `dexp(${x})`);
  });

  it("dexpm1(x) = expm1(x) within 4 ulp for x in [-50, 709] and for tiny |x| (no cancellation near 0)", () => {
    fc.assert(
      fc.property(fc.oneof(fc.double({ min: -50, max: 709, noNaN: true }), fc.double({ min: -1e-3, max: 1e-3, noNaN: true })), (x) =>
        expectUlps(dexpm1(x), Math.expm1(x), ULP_TOL, `dexpm1(${x})`),
      ),
      FC,
    );
  });

  it("dlog(x) = log(x) within 4 ulp for every positive double, subnormals included", () => {
    fc.assert(
      fc.property(fc.double({ min: MIN_SUB, max: Number.MAX_VALUE, noNaN: true }), (x) => expectUlps(dlog(x), Math.log(x), ULP_TOL, `dlog(${x})`)),
      FC,
    );
    fc.assert(fc.property(fc.double({ min: 0.5, max: 2, noNaN: true }), (x) => expectUlps(dlog(x), Math.log(x), ULP_TOL, `dlog(${x})`)), FC);
  });

  it("dlog1p(x) = log1p(x) within 4 ulp for x in (-1, 1e300] and for tiny |x|", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.double({ min: -1, max: 1e300, noNaN: true, minExcluded: true }), fc.double({ min: -0.5, max: 0.5, noNaN: true })),
        (x) => expectUlps(dlog1p(x), Math.log1p(x), ULP_TOL, `dlog1p(${x})`),
      ),
      FC,
    );
  });

  it("dsin(x) = sin(x) and dcos(x) = cos(x) for |x| < 2^20, within 4 ulp plus the reduction's absolute error |x| 1e-26", () => {
    // The reduction subtracts k (pi/2) with pi/2 split in two doubles: the split's own error (~7e-27) and
    // the rounding of k * PIO2_LO leave an absolute error below |x| * 1e-26 in the reduced argument,
    // which dominates the ulp bound only for results close to a zero of sin/cos.
    const check = (x: number) => {
      for (const [f, g, n] of [
        [dsin, Math.sin, "dsin"],
        [dcos, Math.cos, "dcos"],
      ] as const) {
        const got = f(x);
        const want = g(x);
        if (!(ulpDist(got, want) <= ULP_TOL || Math.abs(got - want) <= Math.abs(x) * 1e-26)) {
          throw new Error(`${n}(${x}) = ${got}, Math gives ${want}`);
        }
      }
    };
    fc.assert(fc.property(fc.double({ min: -(2 ** 20), max: 2 ** 20, noNaN: true, maxExcluded: true, minExcluded: true }), check), FC);
    fc.assert(fc.property(fc.double({ min: -7, max: 7, noNaN: true }), check), FC);
  });

  it("dpow(x, y) = x^y within 4 + 4|y ln x| ulp (the log's 1-ulp relative error is amplified by the exponent's size)", () => {
    // exp(y ln x): an error of 1 ulp in ln x and 1/2 ulp rounding y ln x shift the exponent by up to
    // 2 eps |y ln x|, a relative error of the result of the same size: <= 4 |y ln x| ulp of the result.
    fc.assert(
      fc.property(fc.double({ min: 1e-30, max: 1e30, noNaN: true }), fc.double({ min: -20, max: 20, noNaN: true }), (x, y) => {
        const want = Math.pow(x, y);
        fc.pre(want > MIN_NORMAL && want < 1e300);
        expectUlps(dpow(x, y), want, 4 + 4 * Math.abs(y * Math.log(x)), `dpow(${x}, ${y})`);
      }),
      FC,
    );
  });

  it("dsigmoid(x) = 1/(1+e^-x) within 4 ulp for x in [-700, 700] (float64 reference written the stable way)", () => {
    const ref = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
    // the reference itself carries up to ~2 ulp (exp, one add, one divide): total stays within 4
    fc.assert(fc.property(fc.double({ min: -700, max: 700, noNaN: true }), (x) => expectUlps(dsigmoid(x), ref(x), ULP_TOL, `dsigmoid(${x})`)), FC);
  });
});

describe("detmath: special values", () => {
  it("exp/expm1: exp(0) = 1, exp(-inf) = 0, exp(inf) = inf, overflow and underflow thresholds, NaN propagates", () => {
    expect(dexp(0)).toBe(1);
    expect(dexp(-0)).toBe(1);
    expect(dexp(-Infinity)).toBe(0);
    expect(dexp(Infinity)).toBe(Infinity);
    expect(dexp(709.79)).toBe(Infinity); // Math.exp(709.79) overflows too
    expect(Number.isFinite(dexp(709.78))).toBe(true);
    expect(dexp(-746)).toBe(0);
    expect(dexp(-745.1)).toBe(MIN_SUB); // Math.exp(-745.1) is the smallest subnormal
    expect(dexp(NaN)).toBeNaN();
    expect(dexpm1(0)).toBe(0);
    expect(dexpm1(-Infinity)).toBe(-1);
    expect(dexpm1(Infinity)).toBe(Infinity);
    expect(dexpm1(MIN_SUB)).toBe(MIN_SUB);
    expect(dexpm1(NaN)).toBeNaN();
  });

  it("log/log1p: log(1) = 0, log(0) = -inf, log(x<0) = NaN, log(inf) = inf, subnormals, log1p(-1) = -inf", () => {
    expect(dlog(1)).toBe(0);
    expect(dlog(0)).toBe(-Infinity);
    expect(dlog(-0)).toBe(-Infinity);
    expect(dlog(-1)).toBeNaN();
    expect(dlog(-Infinity)).toBeNaN();
    expect(dlog(Infinity)).toBe(Infinity);
    expect(dlog(NaN)).toBeNaN();
    expectUlps(dlog(MIN_SUB), Math.log(MIN_SUB), ULP_TOL, "dlog(min subnormal)");
    expectUlps(dlog(MIN_NORMAL), Math.log(MIN_NORMAL), ULP_TOL, "dlog(min normal)");
    expectUlps(dlog(Number.MAX_VALUE), Math.log(Number.MAX_VALUE), ULP_TOL, "dlog(max)");
    for (let k = -1074; k <= 1023; k++) expectUlps(dlog(2 ** k), k * Math.LN2, ULP_TOL, `dlog(2^${k})`);
    expect(dlog1p(0)).toBe(0);
    expect(dlog1p(-1)).toBe(-Infinity);
    expect(dlog1p(-2)).toBeNaN();
    expect(dlog1p(Infinity)).toBe(Infinity);
    expect(dlog1p(MIN_SUB)).toBe(MIN_SUB);
    expect(dlog1p(NaN)).toBeNaN();
  });

  it("sin/cos/pow/sigmoid: exact values at 0, NaN for NaN and infinities, pow's x^0 = 1^y = 1, sigmoid's limits", () => {
    expect(dsin(0)).toBe(0);
    expect(dcos(0)).toBe(1);
    expect(dsin(MIN_SUB)).toBe(MIN_SUB); // sin x = x below 2^-27
    expect(dcos(MIN_SUB)).toBe(1);
    for (const v of [NaN, Infinity, -Infinity]) {
      expect(dsin(v)).toBeNaN();
      expect(dcos(v)).toBeNaN();
    }
    expect(dpow(3.7, 0)).toBe(1);
    expect(dpow(1, 123.4)).toBe(1);
    expect(dpow(2, 10)).toBe(1024);
    expect(dpow(4, 0.5)).toBe(2);
    expect(dsigmoid(0)).toBe(0.5);
    expect(dsigmoid(Infinity)).toBe(1);
    expect(dsigmoid(-Infinity)).toBe(0);
    expect(dsigmoid(NaN)).toBeNaN();
  });
});

describe("detmath: the RNG's Box-Muller helpers on their domains", () => {
  it("logScaledInt53(n) = log(n 2^-53) within 4 ulp for every integer n in [1, 2^53)", () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: 1, max: 2 ** 32 }), fc.integer({ min: 1, max: 2 ** 53 - 1 })), (n) =>
        expectUlps(logScaledInt53(n), Math.log(n * 2 ** -53), ULP_TOL, `logScaledInt53(${n})`),
      ),
      FC,
    );
    expect(logScaledInt53(2 ** 52)).toBe(-Math.LN2); // n 2^-53 = 1/2
    expectUlps(logScaledInt53(1), -53 * Math.LN2, ULP_TOL, "logScaledInt53(1)");
    expect(logScaledInt53(2 ** 53 - 1)).toBeLessThan(0);
  });

  it("cosSin2Pi(u) = [cos 2 pi u, sin 2 pi u] for u in [0, 1), within 1e-15 absolute, with cos^2 + sin^2 = 1", () => {
    // The reference Math.cos(2 pi u) carries the rounding of 2 pi u (<= 4.5e-16 absolute in the angle) plus
    // 1 ulp; ours is a few ulp of 1: 1e-15 absolute bounds both. The identity holds to a few ulp of 1.
    const out = new Float64Array(2);
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (u) => {
        cosSin2Pi(u, out);
        expect(Math.abs(out[0] - Math.cos(2 * Math.PI * u))).toBeLessThanOrEqual(1e-15);
        expect(Math.abs(out[1] - Math.sin(2 * Math.PI * u))).toBeLessThanOrEqual(1e-15);
        expect(Math.abs(out[0] * out[0] + out[1] * out[1] - 1)).toBeLessThanOrEqual(8 * 2 ** -53);
      }),
      FC,
    );
    // the quarter turns are exact
    for (const [u, c, s] of [
      [0, 1, 0],
      [0.25, 0, 1],
      [0.5, -1, 0],
      [0.75, 0, -1],
    ]) {
      cosSin2Pi(u, out);
      expect(out[0] === c && out[1] === s).toBe(true);
    }
  });
});
