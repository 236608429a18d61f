// Noise schedules (src/schedule/): the betas of each named schedule against their published formulas,
// the monotonicity and range laws, zero-terminal SNR, discrete vs continuous agreement, and the inverse
// of log-SNR. Reference values are computed here in float64 with Math.* from the papers' formulas.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  cosineAlphaBar,
  cosineBetas,
  geometricBetas,
  linearBetas,
  rescaleZeroTerminalSnr,
  scaledLinearBetas,
  sigmoidBetas,
} from "../../src/schedule/betas.ts";
import { EDM, VE, VPCosine, VPLinear } from "../../src/schedule/continuous.ts";
import { DiscreteSchedule, discreteSchedule } from "../../src/schedule/discrete.ts";
import type { Schedule } from "../../src/schedule/types.ts";
import { EPS64 } from "../support/ulp.ts";
import { KINDS, continuousVpArb, discreteArb, namedDiscreteArb, unitArb, userBetasArb, veArb, vpArb } from "../support/schedules.ts";

const FC = { seed: 777, numRuns: 60 };

/** alphaBar_t = prod_{s<=t} (1 - beta_s) in float64, t = 0..T (index t). */
function cumprod(betas: ArrayLike<number>): Float64Array {
  const ab = new Float64Array(betas.length + 1);
  ab[0] = 1;
  for (let t = 1; t <= betas.length; t++) ab[t] = ab[t - 1] * (1 - betas[t - 1]);
  return ab;
}

/** 1 - alphaBar_t by the recurrence sigma2_t = beta_t + (1 - beta_t) sigma2_{t-1}: no cancellation. */
function sigma2s(betas: ArrayLike<number>): Float64Array {
  const s = new Float64Array(betas.length + 1);
  for (let t = 1; t <= betas.length; t++) s[t] = betas[t - 1] + (1 - betas[t - 1]) * s[t - 1];
  return s;
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), 1e-300);

describe("named beta schedules match their published formulas", () => {
  // Betas are < 1, each computed with a handful of roundings: 16 eps absolute, except where noted.
  it("linear (DDPM sec. 4): beta_t = start + (end - start)(t-1)/(T-1)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 5000 }), fc.double({ min: 1e-5, max: 0.1, noNaN: true }), fc.double({ min: 0.1, max: 0.9, noNaN: true }), (T, a, b) => {
        const got = linearBetas(T, a, b);
        for (let t = 1; t <= T; t++) expect(Math.abs(got[t - 1] - (a + ((b - a) * (t - 1)) / (T - 1)))).toBeLessThanOrEqual(16 * EPS64);
        expect(got[0]).toBe(a);
        expect(got[T - 1]).toBe(b);
      }),
      FC,
    );
  });

  it("scaled_linear (Latent Diffusion): sqrt(beta_t) linear from sqrt(start) to sqrt(end)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 5000 }), (T) => {
        const got = scaledLinearBetas(T, 0.00085, 0.012);
        for (let t = 1; t <= T; t++) {
          const r = Math.sqrt(0.00085) + ((Math.sqrt(0.012) - Math.sqrt(0.00085)) * (t - 1)) / (T - 1);
          expect(Math.abs(got[t - 1] - r * r)).toBeLessThanOrEqual(16 * EPS64);
        }
      }),
      FC,
    );
  });

  it("sigmoid (GeoDiff): beta_t = sigmoid(-6 + 12 (t-1)/(T-1)) (end - start) + start", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 5000 }), (T) => {
        const got = sigmoidBetas(T, 1e-4, 0.02);
        for (let t = 1; t <= T; t++) {
          const x = -6 + (12 * (t - 1)) / (T - 1);
          expect(Math.abs(got[t - 1] - ((1 / (1 + Math.exp(-x))) * (0.02 - 1e-4) + 1e-4))).toBeLessThanOrEqual(16 * EPS64);
        }
      }),
      FC,
    );
  });

  it("geometric (the seed article): beta_t = beta (1 - beta)^(T-1-t') for the article's t' = t - 1, growing to beta at t = T", () => {
    // dpow's relative error grows with |y ln x| (see detmath.test.ts): tolerance (8 + 8 |y ln(1-beta)|) eps relative.
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3000 }), fc.double({ min: 1e-4, max: 0.9, noNaN: true }), (T, beta) => {
        // beyond T |ln(1 - beta)| ~ 700 the first betas underflow and geometricBetas refuses (validation.test.ts)
        fc.pre((T - 1) * -Math.log1p(-beta) < 700);
        const got = geometricBetas(T, beta);
        for (let tp = 0; tp < T; tp++) {
          const want = beta * Math.pow(1 - beta, T - 1 - tp);
          if (want < 1e-290) continue; // underflow territory: both are ~0
          const tol = (8 + 8 * Math.abs((T - 1 - tp) * Math.log(1 - beta))) * 2 * EPS64;
          expect(rel(got[tp], want)).toBeLessThanOrEqual(tol);
        }
        expect(got[T - 1]).toBe(beta);
        for (let t = 1; t < T; t++) expect(got[t]).toBeGreaterThan(got[t - 1]);
      }),
      FC,
    );
  });

  it("cosine (Nichol & Dhariwal eq. 17): beta_t = min(1 - f(t/T)/f((t-1)/T), 0.999), f(u) = cos^2((u+s)/(1+s) pi/2)", () => {
    // 1 - ratio of two values each within a few ulp: absolute error a few eps.
    const f = (u: number, s: number) => Math.cos(((u + s) / (1 + s)) * (Math.PI / 2)) ** 2;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.double({ min: 0, max: 0.1, noNaN: true }), (T, s) => {
        const got = cosineBetas(T, s);
        for (let t = 1; t <= T; t++) {
          const want = Math.min(1 - f(t / T, s) / f((t - 1) / T, s), 0.999);
          expect(Math.abs(got[t - 1] - want)).toBeLessThanOrEqual(16 * EPS64);
        }
        expect(got[T - 1]).toBe(0.999); // f(1) = cos^2(pi/2) = 0: the cap binds at t = T
        expect(Math.abs(cosineAlphaBar(0.5, s) - f(0.5, s) / f(0, s))).toBeLessThanOrEqual(8 * EPS64);
      }),
      FC,
    );
  });
});

describe("schedule laws at every step", () => {
  it("alphaBar_t = prod_{s<=t}(1 - beta_s) (DDPM eq. 4) for every discrete schedule and t, to float64 accuracy", () => {
    // The schedule sums log1p(-beta) and exponentiates; the reference multiplies. Each carries ~1 ulp per
    // step, so they agree to (4t + 8) eps relative.
    fc.assert(
      fc.property(fc.oneof(discreteArb, namedDiscreteArb(true)), (s) => {
        const ab = cumprod(s.betas);
        for (let t = 0; t <= s.T; t++) {
          const got = s.alpha(t) ** 2;
          if (ab[t] === 0) expect(s.alpha(t)).toBe(0);
          else expect(rel(s.alphaBar(t), ab[t])).toBeLessThanOrEqual((4 * t + 8) * EPS64);
          expect(rel(got, s.alphaBar(t))).toBeLessThanOrEqual(4 * EPS64);
        }
      }),
      FC,
    );
  });

  it("alphaBar strictly decreasing in t, log-SNR strictly decreasing, alpha and alphaBar in (0, 1], beta in (0, 1): every discrete schedule", () => {
    fc.assert(
      fc.property(discreteArb, (s) => {
        expect(s.alpha(0)).toBe(1);
        expect(s.sigma(0) === 0).toBe(true);
        expect(s.logSnr(0)).toBe(Infinity);
        for (let t = 1; t <= s.T; t++) {
          const b = s.beta(t);
          expect(b > 0 && b < 1).toBe(true);
          // 1 - beta_t rounds to 1 for beta_t < 2^-53 (the geometric schedule's first betas can be ~1e-17):
          // then alphaBar_t cannot differ from alphaBar_{t-1} in float64; log alphaBar and log-SNR still do
          if (b > 2 ** -52) expect(s.alphaBar(t)).toBeLessThan(s.alphaBar(t - 1));
          else expect(s.alphaBar(t)).toBeLessThanOrEqual(s.alphaBar(t - 1));
          expect(s.logAlphaBars[t]).toBeLessThan(s.logAlphaBars[t - 1]);
          expect(s.logSnr(t)).toBeLessThan(s.logSnr(t - 1));
          expect(s.alpha(t) > 0 && s.alpha(t) <= 1).toBe(true);
          expect(s.alphaBar(t) > 0 && s.alphaBar(t) <= 1).toBe(true);
        }
      }),
      FC,
    );
  });

  it("between steps (fractional t) alphaBar and log-SNR stay strictly decreasing and alpha^2 + sigma^2 = 1", () => {
    fc.assert(
      fc.property(discreteArb, unitArb, unitArb, (s, u, v) => {
        const [a, b] = [u, v].map((w) => w * s.T).sort((x, y) => x - y);
        fc.pre(b - a > 1e-9 * s.T);
        // strict where the change is representable: alphaBar moves by >= 2^-40 relative between a and b
        if (s.alphaBar(a) - s.alphaBar(b) > 2 ** -40 || s.logSnr(a) - s.logSnr(b) > 2 ** -40 * Math.abs(s.logSnr(a))) {
          expect(s.logSnr(b)).toBeLessThan(s.logSnr(a));
        }
        expect(s.alphaBar(b)).toBeLessThanOrEqual(s.alphaBar(a));
        expect(s.logSnr(b)).toBeLessThanOrEqual(s.logSnr(a));
        for (const t of [a, b]) expect(Math.abs(s.alpha(t) ** 2 + s.sigma(t) ** 2 - 1)).toBeLessThanOrEqual(4 * EPS64);
        // integer neighbours bracket it
        const i = Math.floor(a);
        if (i < a) expect(s.alphaBar(a) <= s.alphaBar(i) && s.alphaBar(a) >= s.alphaBar(i + 1)).toBe(true);
        if (i < a && i >= 1) expect(s.logSnr(a) < s.logSnr(i) && s.logSnr(a) > s.logSnr(i + 1)).toBe(true);
      }),
      FC,
    );
  });

  it("continuous VP (linear, cosine): alpha strictly decreasing, log-SNR strictly decreasing, alpha in (0, 1], alpha^2 + sigma^2 = 1", () => {
    fc.assert(
      fc.property(continuousVpArb, (s) => {
        expect(s.alpha(s.tMin)).toBe(1);
        expect(s.sigma(s.tMin) === 0).toBe(true);
        const K = 400;
        for (let k = 1; k <= K; k++) {
          const t0 = s.tMin + ((k - 1) / K) * (s.tMax - s.tMin);
          const t1 = s.tMin + (k / K) * (s.tMax - s.tMin);
          expect(s.alpha(t1)).toBeLessThan(s.alpha(t0));
          expect(s.logSnr(t1)).toBeLessThan(s.logSnr(t0));
          expect(s.alpha(t1) > 0 && s.alpha(t1) <= 1).toBe(true);
          expect(Math.abs(s.alpha(t1) ** 2 + s.sigma(t1) ** 2 - 1)).toBeLessThanOrEqual(4 * EPS64);
        }
      }),
      FC,
    );
  });

  it("VE (NCSN) and EDM: alpha = 1, sigma strictly increasing from sigmaMin to sigmaMax, log-SNR = -2 log sigma strictly decreasing", () => {
    fc.assert(
      fc.property(veArb, (s) => {
        const K = 200;
        for (let k = 0; k <= K; k++) {
          const t = Math.min(s.tMax, s.tMin + (k / K) * (s.tMax - s.tMin));
          expect(s.alpha(t)).toBe(1);
          expect(Math.abs(s.logSnr(t) + 2 * Math.log(s.sigma(t)))).toBeLessThanOrEqual(1e-13 * Math.max(1, Math.abs(s.logSnr(t))));
          if (k > 0) expect(s.sigma(t)).toBeGreaterThan(s.sigma(Math.min(s.tMax, s.tMin + ((k - 1) / K) * (s.tMax - s.tMin))));
        }
        const ss = s as VE | EDM;
        expect(rel(s.sigma(s.tMin), ss.sigmaMin)).toBeLessThanOrEqual(8 * EPS64);
        expect(rel(s.sigma(s.tMax), ss.sigmaMax)).toBeLessThanOrEqual(64 * EPS64);
      }),
      FC,
    );
  });

  it("VP linear (Song et al. 2021 eq. 33): alphaBar(t) = exp(-(betaMin t + (betaMax - betaMin) t^2/2)); VP cosine alphaBar(t) = f(t)/f(0)", () => {
    fc.assert(
      fc.property(unitArb, fc.double({ min: 0.01, max: 1, noNaN: true }), fc.double({ min: 1, max: 30, noNaN: true }), (t, lo, hi) => {
        const s = new VPLinear(lo, hi);
        expect(rel(s.alpha(t) ** 2, Math.exp(-(lo * t + ((hi - lo) * t * t) / 2)))).toBeLessThanOrEqual(1e-14 * (1 + hi));
        const c = new VPCosine(0.008, 0.9946);
        const tc = t * 0.9946;
        const f = (u: number) => Math.cos(((u + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
        // alphaBar(tMax) ~ 7e-5: the ratio of two cos^2 loses ~ 1/|cos| of accuracy near t = 1
        expect(rel(c.alpha(tc) ** 2, f(tc) / f(0))).toBeLessThanOrEqual(1e-12);
      }),
      FC,
    );
  });
});

describe("zero terminal SNR (Lin et al. 2023, Alg. 1)", () => {
  it("rescaled: alphaBar_T = 0 exactly, alphaBar_1 unchanged, sqrt(alphaBar) an affine map of the original, still strictly decreasing", () => {
    fc.assert(
      fc.property(fc.oneof(fc.constantFrom(...KINDS).chain((k) => fc.integer({ min: 2, max: k === "geometric" ? 150 : 2000 }).map((T) => discreteSchedule(k, { T }).betas)), userBetasArb.filter((b) => b.length >= 2)), (betas) => {
        const orig = cumprod(betas);
        const T = betas.length;
        const z = new DiscreteSchedule(rescaleZeroTerminalSnr(betas), "zsnr", { zeroTerminalSnr: true });
        expect(z.alphaBar(T)).toBe(0);
        expect(z.alpha(T)).toBe(0);
        expect(z.sigma(T)).toBe(1);
        expect(z.logSnr(T)).toBe(-Infinity);
        expect(z.beta(T)).toBe(1);
        expect(rel(z.alphaBar(1), orig[1])).toBeLessThanOrEqual(8 * EPS64);
        const a1 = Math.sqrt(orig[1]);
        const aT = Math.sqrt(orig[T]);
        for (let t = 1; t < T; t++) {
          const want = ((Math.sqrt(orig[t]) - aT) * a1) / (a1 - aT);
          // (4t + 16) eps relative from the products, amplified by a1 / (sqrt(ab_t) - aT) where the shift bites
          const amp = a1 / Math.max(Math.sqrt(orig[t]) - aT, 1e-300);
          // Both sides carry (4t + 16) eps in sqrt(alphaBar) before the shift, amplified by the shift's
          // cancellation (amp). The schedule then stores betas: where a rescaled beta_s is close to 1,
          // 1 - beta_s keeps only eps absolute, i.e. 2 eps / (1 - beta_s) relative in alphaBar (half in alpha).
          let viaBetas = 0;
          for (let r = 1; r <= t; r++) viaBetas += (2 * EPS64) / (1 - z.betas[r - 1]);
          expect(Math.abs(z.alpha(t) - want)).toBeLessThanOrEqual(((8 * t + 32) * EPS64 * amp + viaBetas) * want + 1e-15);
          expect(z.alphaBar(t)).toBeLessThan(z.alphaBar(t - 1));
          expect(z.beta(t) > 0 && z.beta(t) < 1).toBe(true);
        }
      }),
      FC,
    );
  });
});

describe("discrete and continuous schedules agree where both exist", () => {
  it("cosine: discrete alphaBar_t = cosineAlphaBar(t/T) = VPCosine alphaBar(t/T) wherever no beta up to t was clipped", () => {
    // The discrete alphaBar telescopes prod f(s/T)/f((s-1)/T) = f(t/T)/f(0); each factor passes through
    // 1 - beta and back (an absolute eps each), so (8t + 16) eps relative.
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4000 }), (T) => {
        const d = discreteSchedule("cosine", { T });
        const c = new VPCosine(0.008, 1);
        const f = (u: number) => Math.cos(((u + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
        for (let t = 1; t <= T && d.beta(t) < 0.999; t++) {
          const want = f(t / T) / f(0);
          expect(rel(d.alphaBar(t), want)).toBeLessThanOrEqual((8 * t + 16) * EPS64 + 1e-13 * (t / T > 0.99 ? 1 / want : 0));
          expect(rel(d.alphaBar(t), cosineAlphaBar(t / T))).toBeLessThanOrEqual((8 * t + 16) * EPS64 + 1e-13 * (t / T > 0.99 ? 1 / want : 0));
          if (t < T) expect(rel(d.alphaBar(t), c.alpha(t / T) ** 2)).toBeLessThanOrEqual((8 * t + 16) * EPS64 + 1e-12);
        }
      }),
      { seed: 778, numRuns: 30 },
    );
  });

  it("linear: DDPM's betas with beta_i = beta(t_i)/T converge to VP linear; |log alphaBar error| <= sum beta_i^2 / (2(1 - beta_max)) + (betaMax - betaMin) i (T-i) / (2 T^2 (T-1)), shrinking like 1/T", () => {
    // log(1 - b) = -b - r with 0 <= r <= b^2 / (2 (1 - b)): the first term of the bound. The second is the
    // exact difference between the left-point sum of the linear beta(t) on the grid (i-1)/(T-1) and its
    // integral over [0, i/T]: (betaMax - betaMin) i (i - T) / (2 T^2 (T - 1)), derived for linear beta(t).
    const worst: number[] = [];
    for (const T of [100, 200, 400, 800, 1600, 3200]) {
      const lo = 0.1;
      const hi = 20;
      const d = discreteSchedule("linear", { T, betaStart: lo / T, betaEnd: hi / T });
      const c = new VPLinear(lo, hi);
      let sumB2 = 0;
      let w = 0;
      for (let i = 1; i <= T; i++) {
        const b = d.beta(i);
        sumB2 += (b * b) / (2 * (1 - hi / T));
        const err = Math.abs(Math.log(d.alphaBar(i)) - c.logAlphaBar(i / T));
        const disc = ((hi - lo) * i * (T - i)) / (2 * T * T * (T - 1));
        expect(err).toBeLessThanOrEqual(sumB2 + disc + 1e-12 * i);
        w = Math.max(w, err);
      }
      worst.push(w);
    }
    // halving 1/T at least nearly halves the worst error
    for (let k = 1; k < worst.length; k++) expect(worst[k]).toBeLessThan(0.6 * worst[k - 1]);
  });
});

describe("between t = 0 and t = 1 a discrete schedule interpolates alphaBar linearly", () => {
  it("1 - alphaBar(t) = sigma(t)^2 = t (1 - alphaBar_1) to 16 eps relative, even for tiny t (no cancellation)", () => {
    fc.assert(
      fc.property(discreteArb, fc.double({ min: 1e-200, max: 1, maxExcluded: true, noNaN: true }), (s, t) => {
        const om = t * s.betas[0]; // 1 - alphaBar_1 = beta_1
        if (om < 1e-280) return; // subnormal territory: relative accuracy is not representable
        // beta_1 comes back from -expm1(log1p(-beta_1)) (log1p rounds 1 - beta_1 for beta_1 > 0.29: up to
        // ~8 eps), then t *, sqrt and squaring here: 16 eps
        expect(rel(s.sigma(t) ** 2, om)).toBeLessThanOrEqual(16 * EPS64);
        expect(Math.abs(s.alphaBar(t) - (1 - om))).toBeLessThanOrEqual(4 * EPS64);
        // a difference of two logs: absolute error 8 eps (|log alphaBar| + |log(1 - alphaBar)|)
        const [la, lb] = [Math.log1p(-om), Math.log(om)];
        expect(Math.abs(s.logSnr(t) - (la - lb))).toBeLessThanOrEqual(8 * EPS64 * (Math.abs(la) + Math.abs(lb)));
      }),
      { seed: 782, numRuns: 300 },
    );
  });
});

describe("tOfLogSnr inverts logSnr", () => {
  it("discrete, integer t: tOfLogSnr(logSnr(t)) = t exactly; clamps beyond the ends", () => {
    fc.assert(
      fc.property(discreteArb, (s) => {
        for (let t = 0; t <= s.T; t++) expect(s.tOfLogSnr(s.logSnr(t))).toBe(t);
        expect(s.tOfLogSnr(-Infinity)).toBe(s.T);
        expect(s.tOfLogSnr(s.logSnr(s.T) - 1)).toBe(s.T);
      }),
      { ...FC, numRuns: 30 },
    );
  });

  it("discrete, fractional t: tOfLogSnr(logSnr(t)) = t within the rounding of the interpolation", () => {
    // For t in (i, i+1), i >= 1: lambda carries ~2 eps max|ls| absolute, and the inverse divides by
    // ls_i - ls_{i+1}: |dt| <= 8 eps (|ls_i| + |ls_{i+1}|) / (ls_i - ls_{i+1}) + 4 eps t.
    // For t in (0, 1): 1 - alphaBar = t (1 - alphaBar_1) and its inverse from sigmoid(-lambda) are each a
    // few roundings: |dt| <= (16 + 2 |lambda|) eps t.
    fc.assert(
      fc.property(discreteArb, unitArb, (s, u) => {
        const t = u * s.T;
        const back = s.tOfLogSnr(s.logSnr(t));
        const i = Math.floor(t);
        let tol: number;
        // lambda = log(alphaBar) - log(1 - alphaBar) is rounded to eps |lambda|, which exp(-lambda) turns
        // into a relative error of t of the same size (lambda ~ 600 for t ~ 1e-260)
        if (t === 0) tol = 0;
        else if (i === 0) tol = (16 + 2 * Math.abs(s.logSnr(t))) * EPS64 * t + 1e-290 / s.betas[0]; // 1 - alphaBar = sigmoid(-lambda) is computed without cancellation
        else if (i >= s.T) tol = 0;
        else {
          const [a, b] = [s.logSnr(i), s.logSnr(i + 1)];
          tol = (8 * EPS64 * (Math.abs(a) + Math.abs(b))) / (a - b) + 4 * EPS64 * t;
        }
        expect(Math.abs(back - t)).toBeLessThanOrEqual(tol);
      }),
      { seed: 779, numRuns: 500 },
    );
  });

  it("continuous (VP linear, VP cosine, VE, EDM): tOfLogSnr(logSnr(t)) = t within (error of logSnr) / |d logSnr/dt|", () => {
    // logSnr = L - log(-expm1(L)) with L = log alphaBar: L's rounding (~8 eps max(1, |lambda|) absolute
    // through the logs) plus -expm1(L)'s relative error from L's absolute error (~4 eps / |L|: VP cosine's
    // L = log cos^2 - log cos^2(0) has eps absolute error, large relative to a tiny L near t = 0).
    // Bisection finds t to the last bit of that, so |dt| <= (error of lambda) / |d lambda / dt|.
    fc.assert(
      fc.property(fc.oneof(continuousVpArb, veArb), unitArb, (s: Schedule, u) => {
        fc.pre(u === 0 || u > 1e-9); // below that alpha rounds to 1 and L to 0: nothing left to invert
        const t = s.tMin + u * (s.tMax - s.tMin);
        const lam = s.logSnr(t);
        const back = s.tOfLogSnr(lam);
        const h = 1e-6 * (s.tMax - s.tMin);
        // one-sided difference away from the ends (logSnr(tMin) is +inf for VP)
        const [ta, tb] = t + h <= s.tMax ? [t, t + h] : [t - h, t];
        const slope = Math.abs((s.logSnr(tb) - s.logSnr(ta)) / (tb - ta));
        const L = 2 * Math.log(s.alpha(t));
        const lamErr = 16 * EPS64 * Math.max(1, Math.abs(lam)) + (s.variancePreserving ? (4 * EPS64) / Math.abs(L) : 0);
        const tol = lamErr / slope + 8 * EPS64 * Math.max(Math.abs(t), s.tMax - s.tMin);
        if (lam === Infinity) expect(back).toBe(s.tMin);
        else expect(Math.abs(back - t)).toBeLessThanOrEqual(tol);
        expect(s.tOfLogSnr(Infinity)).toBe(s.tMin);
        expect(s.tOfLogSnr(-Infinity)).toBe(s.tMax);
        expect(s.tOfLogSnr(s.logSnr(s.tMax) - 1)).toBe(s.tMax);
        if (!s.variancePreserving) expect(s.tOfLogSnr(s.logSnr(s.tMin) + 1)).toBe(s.tMin);
      }),
      { seed: 780, numRuns: 300 },
    );
  });
});

describe("every VP schedule", () => {
  it("alpha(t)^2 + sigma(t)^2 = 1 at every t (the schedules are variance preserving by construction)", () => {
    fc.assert(
      fc.property(vpArb, unitArb, fc.boolean(), (s, u, frac) => {
        const t = s.discrete && !frac ? Math.round(u * s.tMax) : s.tMin + u * (s.tMax - s.tMin);
        expect(s.variancePreserving).toBe(true);
        expect(Math.abs(s.alpha(t) ** 2 + s.sigma(t) ** 2 - 1)).toBeLessThanOrEqual(4 * EPS64);
      }),
      { seed: 781, numRuns: 300 },
    );
  });
});

void EDM;
void VE;
