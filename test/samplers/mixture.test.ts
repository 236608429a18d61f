// Every sampler, at its documented step count, reproduces the exact-score Gaussian mixture; a
// deliberately broken sampler does not. Bounds come from the sample size: component statistics within
// 4.5 standard errors, and the energy distance within 4x the data-vs-data floor measured on exact samples.
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/rng.ts";
import { karrasSigmas } from "../../src/schedule/index.ts";
import { GaussianMixture } from "../../src/testbed/mixture.ts";
import { getSampler, initialNoise, type SamplerFn } from "../../src/samplers/index.ts";
import { energyDistance, worstZ } from "../support/stats.ts";

const gm = GaussianMixture.example2d();
const N = 2000;
const ref = gm.sample(N, new Rng(1));
// data-vs-data floor: mean energy distance between the reference and independent exact samples
const floors = [2, 3, 4, 5].map((s) => energyDistance(ref, gm.sample(N, new Rng(s)), 2));
const floor = floors.reduce((a, b) => a + b) / floors.length;
const SIGMA_MAX = 40;

/** Documented step counts (docs/samplers.md) for the 2-D mixture with Karras sigmas 0.002..40. */
const CASES: [string, string, number, Record<string, unknown>][] = [
  ["euler", "euler", 50, {}],
  ["heun", "heun", 20, {}],
  ["heun with churn", "heun", 30, { sChurn: 10 }],
  ["dpmpp_2m", "dpmpp_2m", 20, {}],
  ["dpmpp_2m_sde", "dpmpp_2m_sde", 40, {}],
  ["dpmpp_2m_sde heun", "dpmpp_2m_sde", 40, { solverType: "heun" }],
  ["euler_ancestral", "euler_ancestral", 100, {}],
  ["ddim eta=0", "ddim", 50, {}],
  ["ddim eta=1", "ddim", 100, { eta: 1 }],
  ["ddpm betaTilde", "ddpm", 200, {}],
  ["ddpm beta", "ddpm", 200, { variance: "beta" }],
  ["pc reverse diffusion", "pc", 100, { snrNorm: "expected", snr: 0.3 }],
  ["pc euler-maruyama", "pc", 200, { snrNorm: "expected", predictor: "eulerMaruyama" }],
  ["pc with its defaults (snrNorm \"auto\": the expected norm in 2-D)", "pc", 100, {}],
  ["rk45", "rk45", 2, {}],
  ["unipc", "unipc", 20, {}],
  ["unipc bh1 order 3 on eps", "unipc", 20, { variant: "bh1", order: 3, predictX0: false }],
  ["deis", "deis", 20, {}],
  ["deis order 3", "deis", 20, { order: 3 }],
  ["sa_solver (tau 1)", "sa_solver", 40, {}],
  ["sa_solver ODE (tau 0), order 3", "sa_solver", 20, { tau: 0, predictorOrder: 3, correctorOrder: 3 }],
];

function run(fn: SamplerFn, steps: number, o: Record<string, unknown>, seed = 7): Float32Array {
  const rng = new Rng(seed);
  const sig = steps === 2 ? Float64Array.from([SIGMA_MAX, 0.002, 0]) : karrasSigmas(steps, 0.002, SIGMA_MAX);
  return fn(gm.denoiser, initialNoise(rng, N, 2, SIGMA_MAX), sig, { batch: N, rng, ...o }).x;
}

describe("samplers reproduce the Gaussian mixture", () => {
  it("exact samples pass the same checks (the bounds are not too tight)", () => {
    const x = gm.sample(N, new Rng(9));
    expect(worstZ(gm, x).z).toBeLessThan(4.5);
    expect(energyDistance(ref, x, 2)).toBeLessThan(4 * floor);
  });
  for (const [label, name, steps, o] of CASES) {
    it(`${label}, ${steps} steps`, () => {
      const x = run(getSampler(name), steps, o);
      const z = worstZ(gm, x);
      const ed = energyDistance(ref, x, 2);
      expect(z.z, z.where).toBeLessThan(4.5);
      expect(ed, `energy distance (floor ${floor.toExponential(2)})`).toBeLessThan(4 * floor);
    });
  }
  // NCSN's levels: 20 geometric 10..0.01, T = 100, r = 0.2 (twice NCSN's epsilon = 2e-5, whose
  // r = epsilon / (2 sigma_L^2) is 0.1; 0.2 is what this test ran before the rename); and the default
  // step scale on the Karras sigmas every other sampler uses, which end at 0.002: the old step
  // epsilon sigma_i^2 / sigma_L^2 gave alpha / sigma^2 = 5 there and diverged (issue 14 #2). Two well
  // separated modes need more steps per level than digits do (the default T = 10 reaches 5x the floor).
  const LANGEVIN: [string, Float64Array, Record<string, unknown>][] = [
    ["annealed Langevin (NCSN's 20 levels 10..0.01, T = 100, stepScale 0.2)", Float64Array.from({ length: 21 }, (_, i) => (i < 20 ? 10 * 0.001 ** (i / 19) : 0)), { stepsPerLevel: 100, stepScale: 0.2 }],
    ["annealed Langevin with its default stepScale on Karras sigmas 0.002..40, 20 levels, T = 30", karrasSigmas(20, 0.002, SIGMA_MAX), { stepsPerLevel: 30 }],
  ];
  for (const [label, sig, o] of LANGEVIN) {
    it(label, () => {
      const rng = new Rng(7);
      const x = getSampler("langevin")(gm.denoiser, initialNoise(rng, N, 2, sig[0]), sig, { batch: N, rng, ...o }).x;
      const z = worstZ(gm, x);
      const ed = energyDistance(ref, x, 2);
      expect(z.z, z.where).toBeLessThan(4.5);
      expect(ed, `energy distance (floor ${floor.toExponential(2)})`).toBeLessThan(4 * floor);
    });
  }
  it("pc's per-item SNR rule (Alg. 4) fails the same checks in 2-D: why \"auto\" does not use it here", () => {
    const x = run(getSampler("pc"), 100, { snrNorm: "item" });
    expect(energyDistance(ref, x, 2)).toBeGreaterThan(4 * floor);
  });
  it("a deliberately broken sampler fails the same checks", () => {
    // a plausible bug: the x0 estimate shrunk by 10% toward the origin
    const broken = (x: Float32Array, s: Float64Array, b: number) => {
      const d = gm.denoiser(x, s, b);
      for (let j = 0; j < d.length; j++) d[j] *= 0.9;
      return d;
    };
    const rng = new Rng(7);
    const x = getSampler("heun")(broken, initialNoise(rng, N, 2, SIGMA_MAX), karrasSigmas(20, 0.002, SIGMA_MAX), { batch: N }).x;
    const ed = energyDistance(ref, x, 2);
    expect(ed, `energy distance (floor ${floor.toExponential(2)})`).toBeGreaterThan(4 * floor);
    expect(worstZ(gm, x).z).toBeGreaterThan(4.5);
  });
});
