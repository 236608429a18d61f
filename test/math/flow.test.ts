// The rectified-flow path x_t = (1 - t) x0 + t eps (src/schedule/flow.ts) and its velocity
// parameterization v = eps - x0 (src/denoiser/conversions.ts, precondition.ts): the laws the other
// schedules' tests state, and that sampling the exact flow of a Gaussian mixture reproduces the mixture.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { conversionCoefficients, flowFromVeSigma, flowToX0 } from "../../src/denoiser/conversions.ts";
import { flowPreconditioner } from "../../src/denoiser/precondition.ts";
import { predictionDenoiser } from "../../src/denoiser/wrappers.ts";
import { FlowMatchEulerDiscreteScheduler } from "../../src/diffusers/schedulers/flow-euler.ts";
import { qSample } from "../../src/process.ts";
import { Rng } from "../../src/rng.ts";
import { sampleHeun } from "../../src/samplers/ode.ts";
import { flowTOfVeSigma, flowVeSigma, RectifiedFlow } from "../../src/schedule/flow.ts";
import { karrasSigmas } from "../../src/schedule/sigmas.ts";
import { veSigma } from "../../src/schedule/types.ts";
import { GaussianMixture } from "../../src/testbed/mixture.ts";
import { expectArgumentError } from "../support/errors.ts";
import { energyDistance, moments, seMean, seVar, Z } from "../support/stats.ts";
import { EPS64 } from "../support/ulp.ts";

const rf = new RectifiedFlow();
const tArb = fc.double({ min: 1e-9, max: 1 - 1e-9, noNaN: true });

describe("rectified flow: the schedule's laws", () => {
  it("endpoints: alpha(0) = 1, sigma(0) = 0 (the data); alpha(1) = 0, sigma(1) = 1 (pure noise); log SNR +-Infinity there", () => {
    expect([rf.alpha(0), rf.sigma(0), rf.alpha(1), rf.sigma(1)]).toEqual([1, 0, 0, 1]);
    expect(rf.logSnr(0)).toBe(Infinity);
    expect(rf.logSnr(1)).toBe(-Infinity);
    expect(flowVeSigma(1)).toBe(Infinity);
    expect(flowTOfVeSigma(Infinity)).toBe(1);
    expectArgumentError(() => rf.alpha(1.5), "t");
  });

  it("alpha = 1 - t and sigma = t sum to 1 (linear interpolation), and alpha^2 + sigma^2 < 1 inside: not variance preserving", () => {
    fc.assert(
      fc.property(tArb, (t) => {
        expect(rf.alpha(t) + rf.sigma(t)).toBeCloseTo(1, 15);
        expect(rf.alpha(t) ** 2 + rf.sigma(t) ** 2).toBeLessThan(1);
      }),
      { seed: 2001, numRuns: 500 },
    );
    expect(rf.variancePreserving).toBe(false);
  });

  it("SNR alpha^2 / sigma^2 = ((1 - t) / t)^2 is strictly decreasing, and log SNR is its log", () => {
    fc.assert(
      fc.property(tArb, tArb, (a, b) => {
        if (a === b) return;
        const [lo, hi] = a < b ? [a, b] : [b, a];
        // strictly where the two t differ by more than the resolution of log SNR's float64 value
        if (hi - lo > 1e-12 * hi) expect(rf.logSnr(hi)).toBeLessThan(rf.logSnr(lo));
        else expect(rf.logSnr(hi)).toBeLessThanOrEqual(rf.logSnr(lo));
        const snr = (rf.alpha(lo) / rf.sigma(lo)) ** 2;
        expect(Math.abs(rf.logSnr(lo) - Math.log(snr))).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(Math.log(snr))));
      }),
      { seed: 2002, numRuns: 1000 },
    );
  });

  it("tOfLogSnr inverts logSnr: t = 1 / (1 + e^(lambda/2))", () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-6, max: 1 - 1e-6, noNaN: true }), (t) => {
        expect(Math.abs(rf.tOfLogSnr(rf.logSnr(t)) - t)).toBeLessThanOrEqual(1e-13);
      }),
      { seed: 2003, numRuns: 500 },
    );
    expect(rf.tOfLogSnr(Infinity)).toBe(0);
    expect(rf.tOfLogSnr(-Infinity)).toBe(1);
  });

  it("VE space: sigma_ve = sigma / alpha = t / (1 - t), and t = sigma_ve / (1 + sigma_ve) inverts it", () => {
    fc.assert(
      fc.property(tArb, (t) => {
        const s = flowVeSigma(t);
        expect(Math.abs(s - veSigma(rf, t))).toBeLessThanOrEqual(4 * EPS64 * s);
        expect(Math.abs(flowTOfVeSigma(s) - t)).toBeLessThanOrEqual(4 * EPS64);
        const { alpha, sigma } = flowFromVeSigma(s);
        expect(Math.abs(alpha - (1 - t))).toBeLessThanOrEqual(4 * EPS64);
        expect(Math.abs(sigma - t)).toBeLessThanOrEqual(4 * EPS64);
      }),
      { seed: 2004, numRuns: 500 },
    );
  });

  it("marginals: q(x_t) of a Gaussian mixture has mean (1 - t) E[x0] and variance (1 - t)^2 Var[x0] + t^2 per coordinate (Z standard errors)", () => {
    const gm = GaussianMixture.example2d();
    const n = 20000;
    const x0 = gm.sample(n, new Rng(1));
    const eps = new Rng(2).randn(n, 2);
    const m0 = [0, 1].map((i) => moments(x0.filter((_, j) => j % 2 === i)));
    for (const t of [0, 0.2, 0.5, 0.9, 1]) {
      const xt = qSample(rf, x0, eps, t, n);
      for (const i of [0, 1]) {
        const m = moments(xt.filter((_, j) => j % 2 === i));
        const wantMean = (1 - t) * m0[i].mean;
        const wantVar = (1 - t) ** 2 * m0[i].variance + t * t;
        expect(Math.abs(m.mean - wantMean)).toBeLessThan(Z * seMean(wantVar, n));
        expect(Math.abs(m.variance - wantVar)).toBeLessThan(Z * seVar(wantVar, n) * 2);
      }
    }
  });
});

describe("the flow velocity among the parameterizations", () => {
  it("v = eps - x0 converts to x0 = x_t - t v and eps = x_t + (1 - t) v on the flow path", () => {
    fc.assert(
      fc.property(tArb, fc.double({ min: -5, max: 5, noNaN: true }), fc.double({ min: -5, max: 5, noNaN: true }), (t, x0, eps) => {
        const xt = (1 - t) * x0 + t * eps;
        const v = eps - x0;
        const [cx, cp] = conversionCoefficients("flow", "x0", 1 - t, t);
        expect(Math.abs(cx * xt + cp * v - x0)).toBeLessThanOrEqual(64 * EPS64 * 10);
        const [ex, ep] = conversionCoefficients("flow", "eps", 1 - t, t);
        expect(Math.abs(ex * xt + ep * v - eps)).toBeLessThanOrEqual(64 * EPS64 * 10);
        // and back: the velocity from (x_t, x0)
        const [fx, fp] = conversionCoefficients("x0", "flow", 1 - t, t);
        expect(Math.abs(fx * xt + fp * x0 - v) * t).toBeLessThanOrEqual(64 * EPS64 * 10);
      }),
      { seed: 2005, numRuns: 1000 },
    );
  });

  it("to the VE Denoiser: at sigma_ve the network sees x_t = x / (1 + sigma) and x0 = x_t - t v (flowToX0)", () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-4, max: 1e4, noNaN: true }), (s) => {
        const { alpha, sigma, cx, cp } = flowToX0("flow", s);
        expect(Math.abs(alpha - 1 / (1 + s))).toBeLessThanOrEqual(4 * EPS64);
        expect(cx).toBeCloseTo(1, 12);
        expect(Math.abs(cp + sigma)).toBeLessThanOrEqual(4 * EPS64);
      }),
      { seed: 2006, numRuns: 300 },
    );
  });

  it("the flow preconditioner: D = c_skip x + c_out v is x0 for x = x0 + sigma n, v = n - x0; its target (x0 - c_skip x) / c_out is v", () => {
    const p = flowPreconditioner();
    fc.assert(
      fc.property(fc.double({ min: 1e-3, max: 1e3, noNaN: true }), fc.double({ min: -3, max: 3, noNaN: true }), fc.double({ min: -3, max: 3, noNaN: true }), (s, x0, n) => {
        const { cSkip, cOut, cIn, cNoise } = p.at(s);
        const x = x0 + s * n;
        const scale = 1 + Math.abs(x) * (1 + s);
        expect(Math.abs(cSkip * x + cOut * (n - x0) - x0)).toBeLessThanOrEqual(64 * EPS64 * scale);
        expect(Math.abs((x0 - cSkip * x) / cOut - (n - x0))).toBeLessThanOrEqual((64 * EPS64 * scale) / Math.abs(cOut));
        expect(cIn).toBeCloseTo(1 - cNoise, 14);
        expect(cNoise).toBeCloseTo(s / (1 + s), 14);
      }),
      { seed: 2007, numRuns: 500 },
    );
    expect(p.sigmaMin).toBeCloseTo(1e-3 / (1 - 1e-3), 15);
    expect(p.sigmaMax).toBeCloseTo(999, 9);
  });
});

describe("sampling the exact flow of a Gaussian mixture reproduces the mixture", () => {
  const gm = GaussianMixture.example2d();
  const N = 2000;
  const ref = gm.sample(N, new Rng(1));
  const floors = [2, 3, 4, 5].map((s) => energyDistance(ref, gm.sample(N, new Rng(s)), 2));
  const floor = floors.reduce((a, b) => a + b) / floors.length;
  const mean = [0, 1].map((i) => Array.from(gm.weights).reduce((a, w, k) => a + w * gm.means[k * 2 + i], 0));
  /** The exact velocity field of the mixture's flow: v(x_t, t) = (x_t - E[x0 | x_t]) / t. */
  const velocity = (xt: Float32Array, t: Float64Array, batch: number): Float32Array => {
    const d = t.every((v) => v === 1)
      ? Float32Array.from(xt, (_, j) => mean[j % 2])
      : gm.denoiser(Float32Array.from(xt, (v, j) => v / (1 - t[Math.floor(j / 2)])), t.map((v) => v / (1 - v)), batch);
    return Float32Array.from(xt, (v, j) => (v - d[j]) / t[Math.floor(j / 2)]);
  };

  it("as a flow-velocity network read by the library (predictionDenoiser, space \"flow\"), with Heun on Karras sigmas", () => {
    const den = predictionDenoiser(velocity, { prediction: "flow", space: "flow", cNoise: (s) => s / (1 + s) });
    const sig = karrasSigmas(20, 0.002, 80);
    const x = new Rng(7).randn(N, 2).map((v) => v * 80);
    const out = sampleHeun(den, x, sig, { batch: N }).x;
    expect(energyDistance(ref, out, 2)).toBeLessThan(4 * floor);
    // a wrong reading (the velocity taken as eps) does not
    const wrong = predictionDenoiser(velocity, { prediction: "eps", space: "flow", cNoise: (s) => s / (1 + s) });
    expect(energyDistance(ref, sampleHeun(wrong, x, sig, { batch: N }).x, 2)).toBeGreaterThan(10 * floor);
  });

  it("through FlowMatchEulerDiscreteScheduler from pure noise at t = 1 (shift 3, 50 steps)", () => {
    const s = new FlowMatchEulerDiscreteScheduler({ shift: 3 });
    s.setTimesteps(50);
    let x: Float32Array = new Rng(8).randn(N, 2);
    for (const t of s.timesteps) x = s.step(velocity(x, new Float64Array(N).fill(s.sigmas[s.stepIndex ?? 0]), N), t, x).prevSample;
    expect(energyDistance(ref, x, 2)).toBeLessThan(4 * floor);
  });
});
