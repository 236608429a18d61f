// The exponential-integrator samplers (UniPC, DEIS, SA-Solver) converge at their order: on Gaussian data
// N(0, s^2) the denoiser is exact, D(x, sigma) = x s^2 / (s^2 + sigma^2), and the probability-flow ODE has
// the closed form x(sigma) = x(sigma_0) sqrt((s^2 + sigma^2) / (s^2 + sigma_0^2)); halving the step in
// lambda divides the error by about 2^order. Also: their step functions' limits and errors.
import { describe, expect, it } from "vitest";
import { getSampler } from "../../src/samplers/index.ts";
import { deisCoefficients } from "../../src/samplers/deis.ts";
import { saUpdate } from "../../src/samplers/sa-solver.ts";
import { unipcWeights } from "../../src/samplers/unipc.ts";
import { ArgumentError } from "../../src/validate.ts";

const S2 = 0.25; // data variance
const denoiser = (x: Float32Array, sigma: Float64Array) => x.map((v, j) => (v * S2) / (S2 + sigma[j] * sigma[j]));
const X0 = 3;

/** |error| at sigma = 0.05 after n steps equally spaced in log sigma from 20. */
function error(name: string, n: number, o: Record<string, unknown>): number {
  const sig = Float64Array.from({ length: n + 1 }, (_, i) => 20 * (0.05 / 20) ** (i / n));
  const x = getSampler(name)(denoiser, Float32Array.of(X0), sig, { openEnd: true, ...o }).x[0];
  const exact = X0 * Math.sqrt((S2 + 0.05 ** 2) / (S2 + 400));
  return Math.abs(x - exact);
}

/** log2 of the error ratio between n and 2n steps. */
const rate = (name: string, o: Record<string, unknown>, n = 8) => Math.log2(error(name, n, o) / error(name, 2 * n, o));

describe("convergence order on Gaussian data (exact PF-ODE solution)", () => {
  it("DEIS order 1 / 2 / 3 converge at orders 1 / 2 / 3", () => {
    expect(rate("deis", { order: 1 })).toBeGreaterThan(0.85);
    expect(rate("deis", { order: 2, lowerOrderFinal: false })).toBeGreaterThan(1.8);
    expect(rate("deis", { order: 3, lowerOrderFinal: false })).toBeGreaterThan(2.7);
  });
  it("UniPC's corrector adds an order: UniPC-1 converges at order 2, UniPC-2 at >= 2.5", () => {
    expect(rate("unipc", { order: 1 })).toBeGreaterThan(1.8);
    expect(rate("unipc", { order: 2, lowerOrderFinal: false })).toBeGreaterThan(2.5);
    // without the corrector UniPC-1 is DPM-Solver-1 (DDIM): order 1
    expect(rate("unipc", { order: 1, disableCorrector: Array.from({ length: 40 }, (_, i) => i) })).toBeLessThan(1.2);
  });
  it("SA-Solver with tau = 0 (the ODE) converges at order >= 2.5 with predictor and corrector of order 2, >= 3 with 3 and 3", () => {
    expect(rate("sa_solver", { tau: 0, lowerOrderFinal: false })).toBeGreaterThan(2.5);
    expect(rate("sa_solver", { tau: 0, predictorOrder: 3, correctorOrder: 3, lowerOrderFinal: false })).toBeGreaterThan(3);
  });
});

describe("the step functions", () => {
  const ve = (s: number) => ({ alpha: 1, sigma: s });
  it("the first-order step to sigma = 0 returns the x0 estimate; higher orders there are refused", () => {
    const w = unipcWeights([ve(2)], ve(0), { predictX0: true, variant: "bh2" }, false);
    expect([w.a, ...w.w]).toEqual([0, 1]);
    expect(() => unipcWeights([ve(2), ve(3)], ve(0), { predictX0: true, variant: "bh2" }, false)).toThrow(ArgumentError);
    expect(deisCoefficients([ve(2)], ve(0))).toEqual([-2]);
    expect(() => deisCoefficients([ve(2), ve(3)], ve(0))).toThrow(ArgumentError);
    const out = saUpdate(new Float32Array(1), [5], [[1]], [ve(2)], ve(2), ve(0), 1, null, { predictX0: true });
    expect(out[0]).toBe(1);
  });
  it("DEIS's coefficients integrate polynomials in log rho exactly: constants sum to rho_t - rho_s", () => {
    const c = deisCoefficients([ve(2), ve(3), ve(5)], ve(1.2));
    expect(c[0] + c[1] + c[2]).toBeCloseTo(1.2 - 2, 12);
  });
  it("a stochastic SA-Solver step without noise is an ArgumentError naming noise", () => {
    expect(() => saUpdate(new Float32Array(1), [5], [[1]], [ve(2)], ve(2), ve(1), 1, null, { predictX0: true })).toThrow(/noise/);
  });
});
