// Preconditioning (src/denoiser/precondition.ts): D = c_skip x + c_out F(c_in x; c_noise) recovers x0 when
// F hits its regression target, the targets are the usual ones, EDM's coefficients are Table 1's, and the
// VP coefficients derived from the conversions are the textbook ones.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { edmPreconditioner, vpPreconditioner } from "../../src/denoiser/precondition.ts";
import { Rng } from "../../src/rng.ts";
import { VPLinear } from "../../src/schedule/continuous.ts";
import { discreteSchedule } from "../../src/schedule/discrete.ts";
import { EPS64 } from "../support/ulp.ts";

describe("preconditioning", () => {
  const sched = discreteSchedule("linear");
  const preconds = [vpPreconditioner("eps", sched), vpPreconditioner("x0", sched), vpPreconditioner("v", new VPLinear()), edmPreconditioner(0.5)];

  it("D = c_skip x + c_out F equals x0 exactly when F hits its regression target (x0 - c_skip x) / c_out", () => {
    fc.assert(
      fc.property(fc.constantFrom(...preconds), fc.double({ min: 0.01, max: 50, noNaN: true }), fc.double({ min: -3, max: 3, noNaN: true }), fc.double({ min: -3, max: 3, noNaN: true }), (p, sigma, x0, n) => {
        const { cSkip, cOut } = p.at(sigma);
        const x = x0 + sigma * n;
        const F = (x0 - cSkip * x) / cOut;
        expect(cSkip * x + cOut * F).toBeCloseTo(x0, 9);
      }),
      { seed: 11, numRuns: 200 },
    );
  });

  it("eps and v targets are the usual ones: F* = eps for eps, F* = alpha eps - sigma_vp x0 for v", () => {
    const rng = new Rng(3);
    for (let k = 0; k < 50; k++) {
      const u = rng.stream(k).uniform(new Float64Array(3));
      const sigma = 0.05 + 10 * u[0];
      const x0 = 2 * u[1] - 1;
      const n = 2 * u[2] - 1;
      const x = x0 + sigma * n;
      const e = preconds[0].at(sigma);
      expect((x0 - e.cSkip * x) / e.cOut).toBeCloseTo(n, 9);
      const v = preconds[2].at(sigma);
      const alpha = 1 / Math.sqrt(1 + sigma * sigma);
      expect((x0 - v.cSkip * x) / v.cOut).toBeCloseTo(alpha * n - sigma * alpha * x0, 9);
    }
  });

  it("EDM coefficients follow Karras et al. 2022 Table 1", () => {
    const c = edmPreconditioner(0.5).at(2);
    expect(c.cSkip).toBeCloseTo(0.25 / 4.25, 14);
    expect(c.cOut).toBeCloseTo(1 / Math.sqrt(4.25), 14);
    expect(c.cIn).toBeCloseTo(1 / Math.sqrt(4.25), 14);
    expect(c.cNoise).toBeCloseTo(Math.log(2) / 4, 14);
  });

  it("a VP model's c_noise is its timestep: the discrete t whose sigma was asked for", () => {
    const p = preconds[0];
    for (const t of [1, 10, 500, 1000]) expect(p.at(sched.sigma(t) / sched.alpha(t)).cNoise).toBeCloseTo(t, 6);
  });

  it("the VP coefficients derived from conversions.ts are the textbook ones to 8 float64 roundoffs: eps (1, -sigma), x0 (0, 1), v (alpha^2, -alpha sigma), c_in = alpha", () => {
    // Written out (DDPM eps: x0 = x - sigma eps in VE space; v: x0 = alpha x_vp - sigma_vp v, Salimans &
    // Ho 2022). The derivation goes through a 2x2 solve (a determinant, a division, a product: each
    // rounds once, alpha and sigma_vp carry their own), so it may differ from these in the last bits.
    const vp = { eps: vpPreconditioner("eps", sched), x0: vpPreconditioner("x0", sched), v: vpPreconditioner("v", sched) };
    fc.assert(
      fc.property(fc.double({ min: -7, max: 5, noNaN: true }), (ls) => {
        const sigma = Math.exp(ls);
        const alpha = 1 / Math.sqrt(1 + sigma * sigma);
        const want = { eps: [1, -sigma], x0: [0, 1], v: [alpha * alpha, -sigma * alpha] };
        for (const k of ["eps", "x0", "v"] as const) {
          const c = vp[k].at(sigma);
          expect(c.cIn).toBe(alpha);
          expect(Math.abs(c.cSkip - want[k][0])).toBeLessThanOrEqual(8 * EPS64 * Math.abs(want[k][0]));
          expect(Math.abs(c.cOut - want[k][1])).toBeLessThanOrEqual(8 * EPS64 * Math.abs(want[k][1]));
        }
      }),
      { seed: 12, numRuns: 2000 },
    );
  });
});
