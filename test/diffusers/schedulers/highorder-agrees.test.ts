// Property: diffusers' DEIS, UniPC and SA-Solver schedulers, driven by the eps of a library Denoiser on
// their own sigmas, give the samples of the library's deis / unipc / sa_solver samplers on those sigmas
// (the scheduler steps x_vp = alpha x_ve; we compare x_vp / alpha). Both call the same step function; they
// differ only by float32 rounding: the scheduler's samples are x_vp = alpha x_ve (alpha down to 1/15 on
// these grids), so its float32 rounding is up to ~15x the sampler's; they agree to 1e-4 relative
// (the largest difference seen so far: 2.8e-5, DEIS order 3 on exponential sigmas). (The library
// samplers take the same lower-order rules, so "lower_order_final" maps to lowerOrderFinal.)
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createScheduler } from "../../../src/diffusers/schedulers/index.ts";
import { Rng } from "../../../src/rng.ts";
import { getSampler, initialNoise } from "../../../src/samplers/index.ts";
import { GaussianMixture } from "../../../src/testbed/mixture.ts";

const gm = GaussianMixture.example2d();
const B = 3;

function viaScheduler(cls: string, cfg: Record<string, unknown>, steps: number, x0: Float32Array, rng?: Rng): { x: Float32Array; sigmas: Float64Array } {
  const s = createScheduler(cls, cfg);
  s.setTimesteps(steps);
  const sig = s.sigmas as Float64Array;
  const alpha = (v: number) => 1 / Math.sqrt(1 + v * v);
  let x: Float32Array = x0.map((v) => v * alpha(sig[0]));
  s.timesteps.forEach((t, i) => {
    const a = alpha(sig[i]);
    const xve = x.map((v) => v / a);
    const d = gm.denoiser(xve, new Float64Array(B).fill(sig[i]), B);
    const eps = xve.map((v, j) => (v - d[j]) / sig[i]);
    x = s.step(eps, t, x, { rng, shape: [B, 2] }).prevSample;
  });
  const aEnd = alpha(sig[sig.length - 1]);
  return { x: x.map((v) => v / aEnd), sigmas: sig };
}

function agree(cls: string, cfg: Record<string, unknown>, sampler: string, opts: Record<string, unknown>, stochastic = false): void {
  fc.assert(
    fc.property(fc.integer({ min: 4, max: 20 }), fc.integer({ min: 0, max: 1000 }), (steps, seed) => {
      const probe = createScheduler(cls, cfg);
      probe.setTimesteps(steps);
      const sig = probe.sigmas as Float64Array;
      const x0 = initialNoise(new Rng(seed), B, 2, sig[0]);
      const rng = stochastic ? new Rng(seed + 1) : undefined;
      const want = viaScheduler(cls, cfg, steps, x0, rng);
      // spaced grids closing at sigma_min repeat the last sigma: that last step (h = 0) leaves x as it is
      const n = want.sigmas.length;
      const sigmas = want.sigmas[n - 1] === want.sigmas[n - 2] ? want.sigmas.slice(0, -1) : want.sigmas;
      const got = getSampler(sampler)(gm.denoiser, x0, sigmas, { batch: B, openEnd: sig[sig.length - 1] > 0, rng, ...opts });
      for (let j = 0; j < got.x.length; j++) expect(Math.abs(got.x[j] - want.x[j])).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(want.x[j])));
    }),
    { numRuns: 20 },
  );
}

const BASE = { beta_schedule: "scaled_linear", beta_start: 0.00085, beta_end: 0.012 };

describe("the diffusers schedulers and the library samplers of the same method agree", () => {
  it("UniPC bh2, order 2, x0, closing at 0 = unipc", () => agree("UniPCMultistepScheduler", BASE, "unipc", {}));
  it("UniPC bh2, order 3, x0, Karras sigmas closing at 0 = unipc", () =>
    agree("UniPCMultistepScheduler", { ...BASE, solver_order: 3, use_karras_sigmas: true }, "unipc", { order: 3 }));
  it("UniPC bh1, order 3, eps, closing at sigma_min = unipc", () =>
    agree("UniPCMultistepScheduler", { ...BASE, solver_type: "bh1", solver_order: 3, predict_x0: false, final_sigmas_type: "sigma_min" }, "unipc", {
      variant: "bh1",
      order: 3,
      predictX0: false,
    }));
  it("UniPC with disable_corrector and without lower_order_final = unipc", () =>
    agree("UniPCMultistepScheduler", { ...BASE, disable_corrector: [0, 2], lower_order_final: false, solver_order: 3 }, "unipc", { disableCorrector: [0, 2], lowerOrderFinal: false, order: 3 }));
  for (const order of [1, 2, 3]) it(`DEIS order ${order} = deis`, () => agree("DEISMultistepScheduler", { ...BASE, solver_order: order }, "deis", { order }));
  it("DEIS order 3, exponential sigmas, no lower_order_final = deis", () =>
    agree("DEISMultistepScheduler", { ...BASE, solver_order: 3, use_exponential_sigmas: true, lower_order_final: false }, "deis", { order: 3, lowerOrderFinal: false }));
  it("SA-Solver, tau = 1, predictor 3 / corrector 2, with the same noise = sa_solver", () =>
    agree("SASolverScheduler", { ...BASE, tau_func: () => 1, predictor_order: 3 }, "sa_solver", { tau: 1, predictorOrder: 3 }, true));
  it("SA-Solver noise prediction, tau = 0.5, orders 2 / 3 = sa_solver", () =>
    agree("SASolverScheduler", { ...BASE, tau_func: () => 0.5, algorithm_type: "noise_prediction", corrector_order: 3 }, "sa_solver", { tau: 0.5, predictX0: false, correctorOrder: 3 }, true));
});
