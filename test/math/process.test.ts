// The forward process and its posterior (src/process.ts): the marginal variance law on the formulas and on
// seeded samples, the step-by-step chain against the closed form, and the posterior against the Bayes
// product of Gaussians computed here in float64.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ddpmReverseVariance, forwardChain, forwardStep, posterior, posteriorMean, qSample } from "../../src/process.ts";
import { Rng } from "../../src/rng.ts";
import { EDM, VE, VPCosine, VPLinear } from "../../src/schedule/continuous.ts";
import { type DiscreteSchedule, discreteSchedule } from "../../src/schedule/discrete.ts";
import type { Schedule } from "../../src/schedule/types.ts";
import { Z, moments, seMean, seVar } from "../support/stats.ts";
import { EPS64, U32 } from "../support/ulp.ts";
import { continuousVpArb, discreteArb, namedDiscreteArb, unitArb, veArb, vpArb } from "../support/schedules.ts";

/** alphaBar_t = prod (1 - beta_s) and 1 - alphaBar_t by the cancellation-free recurrence, t = 0..T. */
function reference(betas: ArrayLike<number>): { ab: Float64Array; s2: Float64Array } {
  const T = betas.length;
  const ab = new Float64Array(T + 1);
  const s2 = new Float64Array(T + 1);
  ab[0] = 1;
  for (let t = 1; t <= T; t++) {
    ab[t] = ab[t - 1] * (1 - betas[t - 1]);
    s2[t] = betas[t - 1] + (1 - betas[t - 1]) * s2[t - 1];
  }
  return { ab, s2 };
}

const tOf = (s: Schedule, u: number, frac: boolean) =>
  s.discrete && !frac ? Math.round(u * s.tMax) : Math.min(s.tMax, s.tMin + u * (s.tMax - s.tMin));

/** Draw n values of N(0, v) from a seeded stream, as float32 (the library's tensor type). */
function data(rng: Rng, n: number, v: number, item = 0): Float32Array {
  const x = rng.stream("data").normal(new Float32Array(n), item);
  const sd = Math.sqrt(v);
  for (let i = 0; i < n; i++) x[i] *= sd;
  return x;
}

describe("forward-process variance", () => {
  it("Var(x_t) = alphaBar_t v + (1 - alphaBar_t) for every schedule, t and data variance v (exactly, on the formulas)", () => {
    // alpha^2 v + sigma^2 from the schedule against alphaBar from the betas' product (discrete) or the
    // papers' closed forms (continuous), in float64: (4t + 16) eps relative for the products.
    fc.assert(
      fc.property(fc.oneof(discreteArb, namedDiscreteArb(true), continuousVpArb), unitArb, fc.boolean(), fc.double({ min: 0, max: 100, noNaN: true }), (s, u, frac, v) => {
        const t = tOf(s, u, frac);
        let ab: number;
        let tol: number;
        if (s.discrete && Number.isInteger(t)) {
          ab = reference((s as DiscreteSchedule).betas).ab[t];
          tol = (4 * t + 16) * EPS64;
        } else if (s instanceof VPLinear) {
          ab = Math.exp(-(s.betaMin * t + 0.5 * (s.betaMax - s.betaMin) * t * t));
          tol = 1e-14 * (1 + s.betaMax);
        } else if (s instanceof VPCosine) {
          const f = (w: number) => Math.cos(((w + s.s) / (1 + s.s)) * (Math.PI / 2)) ** 2;
          ab = f(t) / f(0);
          tol = 1e-12;
        } else {
          ab = s.alpha(t) ** 2; // fractional discrete t: alphaBar is defined by the interpolation (schedules.test.ts)
          tol = 4 * EPS64;
        }
        const lawVar = ab * v + (1 - ab);
        const schedVar = s.alpha(t) ** 2 * v + s.sigma(t) ** 2;
        expect(Math.abs(schedVar - lawVar)).toBeLessThanOrEqual(tol * (v + 1) + 8 * EPS64 * (v + 1));
      }),
      { seed: 901, numRuns: 400 },
    );
  });

  it("Var(x_t) = alpha^2 v + sigma^2 empirically: qSample on seeded N(0, v) data, within z=6 of the chi-square sampling error", () => {
    // x_t = alpha x0 + sigma eps is N(0, V) with V = alpha^2 v + sigma^2; its unbiased sample variance over n
    // draws has standard error V sqrt(2 / (n - 1)), its mean V^(1/2) / sqrt(n). Four items per batch, each at
    // its own t (a per-item t array), n = 25000 values each.
    const n = 25_000;
    const B = 4;
    fc.assert(
      fc.property(fc.oneof(vpArb, veArb), fc.array(unitArb, { minLength: B, maxLength: B }), fc.double({ min: 0.01, max: 25, noNaN: true }), fc.integer({ min: 0, max: 2 ** 40 }), (s, us, v, seed) => {
        const rng = new Rng(seed);
        const x0 = data(rng, B * n, v);
        const noise = rng.stream("noise").randn(B, n);
        const ts = us.map((u, b) => tOf(s, u, b % 2 === 1));
        const xt = qSample(s, x0, noise, ts, B);
        for (let b = 0; b < B; b++) {
          const V = s.alpha(ts[b]) ** 2 * v + s.sigma(ts[b]) ** 2;
          const m = moments(xt.subarray(b * n, (b + 1) * n));
          expect(Math.abs(m.variance - V)).toBeLessThanOrEqual(Z * seVar(V, n));
          expect(Math.abs(m.mean)).toBeLessThanOrEqual(Z * seMean(V, n));
        }
      }),
      { seed: 902, numRuns: 30 },
    );
  });

  it("unit-variance data keeps unit variance at every t for EVERY variance-preserving schedule, not only the article's geometric one", () => {
    // Formula: alpha^2 + sigma^2 = 1 (to 4 eps). Samples: sample variance of x_t within z=6 standard errors of 1.
    const n = 40_000;
    fc.assert(
      fc.property(vpArb, unitArb, fc.boolean(), fc.integer({ min: 0, max: 2 ** 40 }), (s, u, frac, seed) => {
        const t = tOf(s, u, frac);
        expect(Math.abs(s.alpha(t) ** 2 + s.sigma(t) ** 2 - 1)).toBeLessThanOrEqual(4 * EPS64);
        const rng = new Rng(seed);
        const xt = qSample(s, data(rng, n, 1), rng.stream("noise").randn(1, n), t);
        expect(Math.abs(moments(xt).variance - 1)).toBeLessThanOrEqual(Z * seVar(1, n));
      }),
      { seed: 903, numRuns: 30 },
    );
  });

  it("contrast: a variance-exploding schedule (VE, EDM) does not keep unit variance: Var(x_t) = 1 + sigma_t^2 grows with t", () => {
    const n = 40_000;
    fc.assert(
      fc.property(veArb.filter((s) => s.sigma(s.tMax) >= 1), fc.integer({ min: 0, max: 2 ** 40 }), (s, seed) => {
        const rng = new Rng(seed);
        const x0 = data(rng, n, 1);
        const noise = rng.stream("noise").randn(1, n);
        let prevV = 0;
        let got = 0;
        for (const u of [0, 0.25, 0.5, 0.75, 1]) {
          const t = Math.min(s.tMax, s.tMin + u * (s.tMax - s.tMin));
          const V = 1 + s.sigma(t) ** 2;
          got = moments(qSample(s, x0, noise, t)).variance;
          expect(Math.abs(got - V)).toBeLessThanOrEqual(Z * seVar(V, n));
          expect(V).toBeGreaterThan(prevV);
          prevV = V;
        }
        expect(s.variancePreserving).toBe(false);
        expect(got).toBeGreaterThan(1 + Z * seVar(1, n)); // at tMax (sigma >= 1) clearly not 1
      }),
      { seed: 904, numRuns: 10 },
    );
  });

  it("qSample computes alpha_t x0 + sigma_t noise per item (float64, rounded once to float32)", () => {
    fc.assert(
      fc.property(fc.oneof(vpArb, veArb), fc.array(unitArb, { minLength: 1, maxLength: 5 }), fc.integer({ min: 0, max: 1e6 }), (s, us, seed) => {
        const B = us.length;
        const n = 7;
        const rng = new Rng(seed);
        const x0 = rng.stream(1).randn(B, n);
        const noise = rng.stream(2).randn(B, n);
        const ts = us.map((u) => tOf(s, u, true));
        const y = qSample(s, x0, noise, ts, B);
        for (let b = 0; b < B; b++) {
          for (let i = b * n; i < (b + 1) * n; i++) {
            const ref = s.alpha(ts[b]) * x0[i] + s.sigma(ts[b]) * noise[i];
            expect(Math.abs(y[i] - ref)).toBeLessThanOrEqual(U32 * Math.abs(ref) + 1e-300);
          }
        }
      }),
      { seed: 905, numRuns: 100 },
    );
  });
});

describe("the step-by-step chain (the seed article; DDPM eq. 2) gives the closed-form marginal", () => {
  it("alphaBar_t = prod(1 - beta_s) and sum_s beta_s prod_{r>s}(1 - beta_r) = 1 - alphaBar_t: the chain's coefficients are the marginal's, in float64", () => {
    fc.assert(
      fc.property(discreteArb, (s) => {
        let prod = 1;
        let noiseVar = 0;
        for (let t = 1; t <= s.T; t++) {
          const b = s.beta(t);
          prod *= 1 - b;
          noiseVar = (1 - b) * noiseVar + b; // variance of the accumulated noise after step t
          expect(Math.abs(prod - s.alphaBar(t))).toBeLessThanOrEqual((4 * t + 8) * EPS64 * prod);
          expect(Math.abs(noiseVar - s.sigma(t) ** 2)).toBeLessThanOrEqual((4 * t + 8) * EPS64 * noiseVar);
        }
      }),
      { seed: 906, numRuns: 60 },
    );
  });

  it("forwardChain(x0, t) = prod_s sqrt(1 - beta_s) x0 + sum_s sqrt(beta_s) prod_{r>s} sqrt(1 - beta_r) eta_s for the noise it documents (rng.stream(s), item)", () => {
    // The unrolled recursion in float64 from the same eta; the chain stores float32: U32 relative, plus
    // the float64 accumulation (t eps) of the unrolled sum.
    fc.assert(
      fc.property(namedDiscreteArb().filter((s) => s.T <= 300), unitArb, fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 1e9 }), fc.integer({ min: 0, max: 1e6 }), (s, u, B, seed, first) => {
        const t = Math.round(u * s.T);
        const n = 5;
        const rng = new Rng(seed);
        const x0 = rng.stream("x0").randn(B, n);
        const got = forwardChain(s, x0, t, rng, B, first);
        const eta = new Float64Array(n);
        for (let b = 0; b < B; b++) {
          const ref = new Float64Array(n);
          const mag = new Float64Array(n);
          let a = 1;
          for (let r = 1; r <= t; r++) a *= Math.sqrt(1 - s.beta(r));
          for (let i = 0; i < n; i++) ref[i] = a * x0[b * n + i];
          for (let sIdx = 1; sIdx <= t; sIdx++) {
            let tail = 1;
            for (let r = sIdx + 1; r <= t; r++) tail *= Math.sqrt(1 - s.beta(r));
            rng.stream(sIdx).normal(eta, first + b);
            for (let i = 0; i < n; i++) {
              ref[i] += Math.sqrt(s.beta(sIdx)) * tail * eta[i];
              mag[i] += Math.abs(Math.sqrt(s.beta(sIdx)) * tail * eta[i]);
            }
          }
          for (let i = 0; i < n; i++) {
            const tol = U32 * Math.abs(ref[i]) + (4 * t + 8) * EPS64 * (mag[i] + Math.abs(a * x0[b * n + i]));
            expect(Math.abs(got[b * n + i] - ref[i])).toBeLessThanOrEqual(tol);
          }
          // the same item alone gives the same chain (batch invariance)
          expect(forwardChain(s, x0.subarray(b * n, (b + 1) * n), t, rng, 1, first + b)).toEqual(got.subarray(b * n, (b + 1) * n));
        }
        if (t === 0) expect(got).toEqual(x0);
      }),
      { seed: 907, numRuns: 40 },
    );
  });

  it("the chain's samples have mean alpha_t x0 and variance sigma_t^2 = 1 - alphaBar_t within z=6 standard errors", () => {
    const n = 8_000;
    fc.assert(
      fc.property(
        fc.constantFrom("linear", "cosine", "geometric", "sigmoid", "scaled_linear" as const),
        fc.integer({ min: 5, max: 60 }),
        unitArb,
        fc.double({ min: -3, max: 3, noNaN: true }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        (kind, T, u, c, seed) => {
          // larger betas than the defaults so a short chain travels far (T <= 60 keeps the run fast)
          const s = discreteSchedule(kind, { T, betaStart: 0.01, betaEnd: 0.3, beta: 0.3 });
          const t = Math.max(1, Math.round(u * T));
          const x0 = new Float32Array(n).fill(c);
          const xt = forwardChain(s, x0, t, new Rng(seed));
          const m = moments(xt);
          const v = s.sigma(t) ** 2;
          expect(Math.abs(m.mean - s.alpha(t) * Math.fround(c))).toBeLessThanOrEqual(Z * seMean(v, n));
          expect(Math.abs(m.variance - v)).toBeLessThanOrEqual(Z * seVar(v, n));
        },
      ),
      { seed: 908, numRuns: 12 },
    );
  });

  it("forwardStep computes sqrt(1 - beta) x + sqrt(beta) eta (DDPM eq. 2), rounded once to float32", () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-6, max: 1, noNaN: true }), fc.integer({ min: 0, max: 1e6 }), (beta, seed) => {
        const r = new Rng(seed);
        const x = r.stream(0).randn(1, 9);
        const e = r.stream(1).randn(1, 9);
        const y = forwardStep(x, e, beta);
        for (let i = 0; i < 9; i++) {
          const ref = Math.sqrt(1 - beta) * x[i] + Math.sqrt(beta) * e[i];
          expect(Math.abs(y[i] - ref)).toBeLessThanOrEqual(U32 * Math.abs(ref) + 1e-300);
        }
      }),
      { seed: 909, numRuns: 100 },
    );
  });
});

/** N(m1, v1) * N(m2, v2) in x: precision-weighted, as (weights on the two means, variance). */
function gaussProduct(v1: number, v2: number): { w1: number; w2: number; v: number } {
  const p = 1 / v1 + 1 / v2;
  return { w1: 1 / v1 / p, w2: 1 / v2 / p, v: 1 / p };
}

describe("posterior q(x_{t-1} | x_t, x_0)", () => {
  it("mean and variance equal the Bayes product of q(x_t | x_{t-1}) = N(sqrt(1-beta_t) x_{t-1}, beta_t) and q(x_{t-1} | x_0) = N(alpha_{t-1} x0, sigma_{t-1}^2)", () => {
    // The likelihood N(x_t; a x_{t-1}, beta) is, in x_{t-1}, N(x_t / a, beta / a^2). Multiplying by the prior:
    // precision a^2/beta + 1/sigma_{t-1}^2, mean (a x_t / beta + alpha_{t-1} x0 / sigma_{t-1}^2) / precision.
    // Reference in float64 from the betas (products and the cancellation-free sigma^2 recurrence): (8t + 16)
    // eps. The library works in log-SNR: lambda carries ~4 eps max(1, |lambda|) absolute, and expm1 of the
    // difference d = lambda_t - lambda_{t-1} turns that into 16 eps (|lambda_s| + |lambda_t| + 1) / |d| relative.
    fc.assert(
      fc.property(fc.oneof(discreteArb, namedDiscreteArb(true)), (s) => {
        const { ab, s2 } = reference(s.betas);
        for (let t = 1; t <= s.T; t++) {
          const beta = s.betas[t - 1];
          const a = Math.sqrt(1 - beta);
          const p = posterior(s, t - 1, t);
          let cXt: number;
          let cX0: number;
          let v: number;
          if (t === 1) {
            [cXt, cX0, v] = [0, 1, 0]; // the prior is a point mass at x0
          } else if (a === 0) {
            [cXt, cX0, v] = [0, Math.sqrt(ab[t - 1]), s2[t - 1]]; // x_t carries nothing about x_{t-1}
          } else {
            const g = gaussProduct(beta / (a * a), s2[t - 1]);
            cXt = g.w1 / a;
            cX0 = g.w2 * Math.sqrt(ab[t - 1]);
            v = g.v;
          }
          const [ls, lt] = [s.logSnr(t - 1), s.logSnr(t)];
          const d = Math.abs(lt - ls);
          const tol = (8 * t + 16) * EPS64 + (Number.isFinite(ls) && Number.isFinite(lt) ? (16 * EPS64 * (Math.abs(ls) + Math.abs(lt) + 1)) / d : 0);
          expect(Math.abs(p.cXt - cXt)).toBeLessThanOrEqual(tol * Math.abs(cXt) + 1e-300);
          expect(Math.abs(p.cX0 - cX0)).toBeLessThanOrEqual(tol * Math.abs(cX0) + 1e-300);
          expect(Math.abs(p.variance - v)).toBeLessThanOrEqual(tol * v + 1e-300);
        }
      }),
      { seed: 910, numRuns: 60 },
    );
  });

  it("DDPM eq. 7: mean coefficients sqrt(alphaBar_{t-1}) beta_t / (1 - alphaBar_t) on x0 and sqrt(alpha_t)(1 - alphaBar_{t-1}) / (1 - alphaBar_t) on x_t; variance betaTilde_t = beta_t (1 - alphaBar_{t-1}) / (1 - alphaBar_t)", () => {
    fc.assert(
      fc.property(discreteArb, (s) => {
        const { ab, s2 } = reference(s.betas);
        for (let t = 2; t <= s.T; t++) {
          const beta = s.betas[t - 1];
          const p = posterior(s, t - 1, t);
          const [ls, lt] = [s.logSnr(t - 1), s.logSnr(t)];
          const tol = (8 * t + 16) * EPS64 + (16 * EPS64 * (Math.abs(ls) + Math.abs(lt) + 1)) / Math.abs(lt - ls);
          const cX0 = (Math.sqrt(ab[t - 1]) * beta) / s2[t];
          const cXt = (Math.sqrt(1 - beta) * s2[t - 1]) / s2[t];
          const bt = (beta * s2[t - 1]) / s2[t];
          expect(Math.abs(p.cX0 - cX0)).toBeLessThanOrEqual(tol * cX0);
          expect(Math.abs(p.cXt - cXt)).toBeLessThanOrEqual(tol * cXt);
          expect(Math.abs(p.variance - bt)).toBeLessThanOrEqual(tol * bt);
          // both reverse-variance choices (DDPM sec. 3.2), and betaTilde <= beta
          expect(ddpmReverseVariance(s, t, "beta")).toBe(beta);
          const tilde = ddpmReverseVariance(s, t, "betaTilde");
          expect(tilde).toBe(p.variance);
          expect(tilde).toBeLessThanOrEqual(beta);
        }
        expect(ddpmReverseVariance(s, 1, "betaTilde")).toBe(0); // x_0 is known given x_0
        expect(ddpmReverseVariance(s, 1, "beta")).toBe(s.betas[0]);
      }),
      { seed: 911, numRuns: 60 },
    );
  });

  it("for s < t in any schedule (VP linear/cosine, VE, EDM, fractional discrete): the posterior is the product of q(x_t | x_s) = N(alpha_t/alpha_s x_s, sigma_t^2 - (alpha_t/alpha_s)^2 sigma_s^2) and q(x_s | x_0)", () => {
    // sigma_{t|s}^2 = sigma_t^2 - (alpha_t/alpha_s)^2 sigma_s^2 cancels when s is close to t: its relative
    // error is ~4 eps sigma_t^2 / sigma_{t|s}^2; the library's expm1 of a log-SNR difference has the
    // matching 16 eps (|lambda_s| + |lambda_t| + 1) / |lambda_t - lambda_s|. Tolerance: the sum of both.
    fc.assert(
      fc.property(fc.oneof(continuousVpArb, veArb, discreteArb), unitArb, unitArb, (sch, w1, w2) => {
        // no t so small that sigma^2 underflows: snap u < 1e-9 to 0
        const [u1, u2] = [w1, w2].map((w) => (w < 1e-9 ? 0 : w));
        const [s, t] = [tOf(sch, Math.min(u1, u2), true), tOf(sch, Math.max(u1, u2), true)];
        fc.pre(t - s > 1e-6 * (sch.tMax - sch.tMin));
        const [as, at, ss, st] = [sch.alpha(s), sch.alpha(t), sch.sigma(s), sch.sigma(t)];
        const ats = at / as;
        const vts = st * st - ats * ats * ss * ss;
        const p = posterior(sch, s, t);
        let cXt: number;
        let cX0: number;
        let v: number;
        if (ss * ss < 1e-290) [cXt, cX0, v] = [0, as, 0]; // sigma_s^2 ~ 0: the prior is (numerically) a point mass
        else {
          const g = gaussProduct(vts / (ats * ats), ss * ss);
          [cXt, cX0, v] = [g.w1 / ats, g.w2 * as, g.v];
        }
        const [ls, lt] = [sch.logSnr(s), sch.logSnr(t)];
        // (VP cosine computes sigma^2 = -expm1(L) from L = log alphaBar, which has eps absolute error: a
        // relative error 4 eps / |L| in sigma_s^2, large only for tiny s; see schedules.test.ts)
        const Ls = sch instanceof VPCosine ? Math.abs(2 * Math.log(as)) : Infinity;
        const tol =
          (16 * EPS64 * st * st) / vts +
          (Number.isFinite(ls) ? (16 * EPS64 * (Math.abs(ls) + Math.abs(lt) + 1)) / Math.abs(lt - ls) : 0) +
          (ss > 0 ? (8 * EPS64) / Ls : 0) +
          16 * EPS64;
        expect(Math.abs(p.cXt - cXt)).toBeLessThanOrEqual(tol * Math.abs(cXt) + 1e-300);
        expect(Math.abs(p.cX0 - cX0)).toBeLessThanOrEqual(tol * Math.abs(cX0) + 1e-300);
        expect(Math.abs(p.variance - v)).toBeLessThanOrEqual(tol * v + (ss * ss < 1e-290 ? ss * ss : 1e-300));
      }),
      { seed: 912, numRuns: 500 },
    );
  });

  it("posteriorMean = cXt x_t + cX0 x_0, rounded once to float32", () => {
    const s = new VPLinear();
    const p = posterior(s, 0.3, 0.6);
    const r = new Rng(3);
    const xt = r.stream(0).randn(1, 64);
    const x0 = r.stream(1).randn(1, 64);
    const m = posteriorMean(p, xt, x0);
    for (let i = 0; i < 64; i++) {
      const ref = p.cXt * xt[i] + p.cX0 * x0[i];
      expect(Math.abs(m[i] - ref)).toBeLessThanOrEqual(U32 * Math.abs(ref));
    }
  });
});

void EDM;
void VE;
