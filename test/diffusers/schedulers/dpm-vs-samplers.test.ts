// Property: diffusers' DPMSolverMultistepScheduler driven by a Denoiser's outputs gives the library
// sampler's samples for the same method on the same sigmas (dpmsolver++ order 2 = dpmpp_2m,
// sde-dpmsolver++ order 2 = dpmpp_2m_sde with the same noise). The scheduler steps on x_vp = alpha x and
// rounds there; the sampler on x in float32: they agree to float32 rounding (relative 1e-5 here).
import { describe, expect, it } from "vitest";
import { createScheduler, type Scheduler } from "../../../src/diffusers/schedulers/index.ts";
import { Rng } from "../../../src/rng.ts";
import { sampleDpmpp2m, sampleDpmpp2mSde } from "../../../src/samplers/index.ts";
import type { Denoiser } from "../../../src/denoiser/contract.ts";

// the ideal denoiser of a 2-point mixture at +-mu with a little Gaussian spread, per value
const MU = 0.8;
const V = 0.04;
const denoiser: Denoiser = (x, sigma) => {
  const out = new Float32Array(x.length);
  const per = x.length / sigma.length;
  for (let j = 0; j < x.length; j++) {
    const s2 = sigma[Math.floor(j / per)] ** 2;
    const w = Math.tanh((x[j] * MU) / (V + s2));
    out[j] = (V * x[j] + s2 * MU * w) / (V + s2);
  }
  return out;
};

/** Run the scheduler with eps = (x - D(x, sigma)) / sigma of the same denoiser, returning VE samples. */
function runScheduler(s: Scheduler, x0: Float32Array, rng?: Rng): Float32Array {
  const sig = s.sigmas as Float64Array;
  const alpha = (v: number) => 1 / Math.sqrt(1 + v * v);
  let x: Float32Array = x0.map((v) => v * alpha(sig[0]));
  s.timesteps.forEach((t, i) => {
    const a = alpha(sig[i]);
    const xve = x.map((v) => v / a);
    const d = denoiser(xve, Float64Array.of(sig[i]), 1);
    const eps = xve.map((v, j) => (v - d[j]) / sig[i]);
    x = s.step(eps, t, x, { rng }).prevSample;
  });
  return x; // the last sigma is 0: alpha = 1
}

function expectClose(a: Float32Array, b: Float32Array): void {
  let max = 0;
  let err = 0;
  for (let j = 0; j < a.length; j++) {
    max = Math.max(max, Math.abs(b[j]));
    err = Math.max(err, Math.abs(a[j] - b[j]));
  }
  expect(err).toBeLessThanOrEqual(1e-5 * max);
}

describe("DPMSolverMultistepScheduler = the library's DPM-Solver++ samplers on the same sigmas", () => {
  const x0 = new Rng(7).randn(1, 64);
  for (const [steps, karras] of [[10, false], [25, true], [7, false]] as const) {
    it(`dpmsolver++ order 2 = dpmpp_2m (${steps} steps${karras ? ", Karras" : ""})`, () => {
      const s = createScheduler("DPMSolverMultistepScheduler", { use_karras_sigmas: karras, beta_schedule: "scaled_linear", beta_start: 0.00085, beta_end: 0.012 });
      s.setTimesteps(steps);
      const sig = s.sigmas as Float64Array;
      const xs = x0.map((v) => v * sig[0]);
      expectClose(runScheduler(s, xs), sampleDpmpp2m(denoiser, xs, sig).x);
    });

    it(`sde-dpmsolver++ order 2 = dpmpp_2m_sde with the same noise (${steps} steps${karras ? ", Karras" : ""}, ${karras ? "heun" : "midpoint"})`, () => {
      const solverType = karras ? "heun" : "midpoint";
      const s = createScheduler("DPMSolverMultistepScheduler", { algorithm_type: "sde-dpmsolver++", solver_type: solverType, use_karras_sigmas: karras });
      s.setTimesteps(steps);
      const sig = s.sigmas as Float64Array;
      const xs = x0.map((v) => v * sig[0]);
      const rng = new Rng(11);
      expectClose(runScheduler(s, xs, rng), sampleDpmpp2mSde(denoiser, xs, sig, { rng, solverType }).x);
    });
  }
});
