// The DPM-Solver samplers added for issue 13 (dpm_solver_multistep, dpmpp_3m_sde, dpm_solver_singlestep,
// dpmpp_2s_ancestral): each equals diffusers' scheduler for the same method on the same sigmas, driven by
// the same denoiser (within float32 rounding, 1e-5 relative), converges at its order, and its names resolve.
import { describe, expect, it } from "vitest";
import { createScheduler, type Scheduler } from "../../src/diffusers/schedulers/index.ts";
import type { Denoiser } from "../../src/denoiser/contract.ts";
import { Rng } from "../../src/rng.ts";
import { karrasSigmas } from "../../src/schedule/index.ts";
import { resolveSampler, sampleDpmpp2sAncestral, sampleDpmpp3mSde, sampleDpmSolverMultistep, sampleDpmSolverSinglestep } from "../../src/samplers/index.ts";

const MU = 0.8;
const V = 0.04;
// the ideal denoiser of a 2-point mixture at +-MU with Gaussian spread V, per value
const mixture: Denoiser = (x, sigma) => {
  const per = x.length / sigma.length;
  return x.map((v, j) => {
    const s2 = sigma[Math.floor(j / per)] ** 2;
    return (V * v + s2 * MU * Math.tanh((v * MU) / (V + s2))) / (V + s2);
  });
};

/** Drive a VP scheduler with eps = (x - D)/sigma of the denoiser; returns the VE sample at the last sigma. */
function runScheduler(s: Scheduler, xVe: Float32Array): Float32Array {
  const sig = s.sigmas as Float64Array;
  const alpha = (v: number) => 1 / Math.sqrt(1 + v * v);
  let x: Float32Array = xVe.map((v) => v * alpha(sig[0]));
  s.timesteps.forEach((t, i) => {
    const a = alpha(sig[i]);
    const xe = x.map((v) => v / a);
    const d = mixture(xe, Float64Array.of(sig[i]), 1);
    x = s.step(xe.map((v, j) => (v - d[j]) / sig[i]), t, x).prevSample;
  });
  const aEnd = alpha(sig[sig.length - 1]);
  return x.map((v) => v / aEnd);
}

function expectClose(a: Float32Array, b: Float32Array, rel = 1e-5): void {
  let m = 0;
  let e = 0;
  for (let j = 0; j < a.length; j++) {
    m = Math.max(m, Math.abs(b[j]));
    e = Math.max(e, Math.abs(a[j] - b[j]));
  }
  expect(e).toBeLessThanOrEqual(rel * m);
}

const x0 = new Rng(21).randn(1, 64);

describe("the DPM-Solver samplers equal diffusers' schedulers for the same method on the same sigmas", () => {
  for (const order of [1, 2, 3]) {
    for (const solver_type of ["midpoint", "heun"] as const) {
      it(`dpm_solver_multistep order ${order} ${solver_type} = DPMSolverMultistepScheduler "dpmsolver"`, () => {
        const s = createScheduler("DPMSolverMultistepScheduler", { algorithm_type: "dpmsolver", solver_order: order, solver_type, final_sigmas_type: "sigma_min", lower_order_final: false });
        s.setTimesteps(12);
        const sig = s.sigmas as Float64Array;
        const x = x0.map((v) => v * sig[0]);
        expectClose(sampleDpmSolverMultistep(mixture, x, sig, { order, solverType: solver_type, openEnd: true }).x, runScheduler(s, x));
      });
    }
  }

  it("dpmpp_3m_sde with eta 0 = DPMSolverMultistepScheduler dpmsolver++ order 3 heun (the 3M ODE solver)", () => {
    const s = createScheduler("DPMSolverMultistepScheduler", { solver_order: 3, solver_type: "heun", lower_order_final: false, use_karras_sigmas: true });
    s.setTimesteps(15);
    const sig = s.sigmas as Float64Array;
    const x = x0.map((v) => v * sig[0]);
    expectClose(sampleDpmpp3mSde(mixture, x, sig, { eta: 0 }).x, runScheduler(s, x));
  });

  for (const order of [2, 3]) {
    for (const algorithm of ["dpmsolver++", "dpmsolver"] as const) {
      it(`dpm_solver_singlestep order ${order} ${algorithm} = DPMSolverSinglestepScheduler`, () => {
        const s = createScheduler("DPMSolverSinglestepScheduler", { solver_order: order, algorithm_type: algorithm, final_sigmas_type: "sigma_min", lower_order_final: false });
        s.setTimesteps(12);
        const sig = s.sigmas as Float64Array;
        const x = x0.map((v) => v * sig[0]);
        expectClose(sampleDpmSolverSinglestep(mixture, x, sig, { order, algorithm, openEnd: true }).x, runScheduler(s, x));
      });
    }
  }
});

describe("the DPM-Solver samplers converge at their order on a Gaussian (the PF-ODE's exact solution is a scaling)", () => {
  const v = 0.3;
  const gauss: Denoiser = (x, sigma) => x.map((u) => (v * u) / (v + sigma[0] ** 2));
  const err = (run: (s: Float64Array) => Float32Array, n: number) => {
    const sig = karrasSigmas(n, 0.05, 20);
    const open = Float64Array.from([...sig.slice(0, n)]); // stop at sigma 0.05: the exact map is finite there
    const x = x0.map((u) => u * open[0]);
    const y = run(open);
    const scale = Math.sqrt((v + open[n - 1] ** 2) / (v + open[0] ** 2));
    let e = 0;
    for (let j = 0; j < x.length; j++) e = Math.max(e, Math.abs(y[j] - x[j] * scale));
    return e;
  };
  // [name, sampler, doubling ratio the error must beat, sigma counts]: halving the step divides the
  // error by ~2^order; singlestep order 3 on Karras sigmas needs more steps before it settles into its rate
  const cases: [string, (x: Float32Array, s: Float64Array) => Float32Array, number, number, number][] = [
    ["dpmpp_2s_ancestral (eta 0): 2nd order", (x, s) => sampleDpmpp2sAncestral(gauss, x, s, { eta: 0, openEnd: true }).x, 3, 7, 13],
    ["dpm_solver_multistep order 3", (x, s) => sampleDpmSolverMultistep(gauss, x, s, { order: 3, openEnd: true }).x, 5, 7, 13],
    ["dpmpp_3m_sde (eta 0): 3rd order", (x, s) => sampleDpmpp3mSde(gauss, x, s, { eta: 0, openEnd: true }).x, 5, 7, 13],
    ["dpm_solver_singlestep order 3", (x, s) => sampleDpmSolverSinglestep(gauss, x, s, { order: 3, openEnd: true }).x, 5, 25, 49],
  ];
  for (const [name, f, ratio, nCoarse, nFine] of cases) {
    it(name, () => {
      const coarse = err((s) => f(x0.map((u) => u * s[0]), s), nCoarse);
      const fine = err((s) => f(x0.map((u) => u * s[0]), s), nFine);
      expect(coarse / fine).toBeGreaterThan(ratio);
    });
  }
});

describe("names people type for them", () => {
  it("A1111, k-diffusion and diffusers names resolve", () => {
    expect(resolveSampler("DPM++ 3M SDE").name).toBe("dpmpp_3m_sde");
    expect(resolveSampler("DPM++ 3M SDE Karras")).toMatchObject({ name: "dpmpp_3m_sde", schedule: "karras" });
    expect(resolveSampler("DPM++ 3M SDE Exponential")).toMatchObject({ name: "dpmpp_3m_sde", schedule: "exponential" });
    expect(resolveSampler("DPM++ 2S a").name).toBe("dpmpp_2s_ancestral");
    expect(resolveSampler("DPM++ 2S a Karras")).toMatchObject({ name: "dpmpp_2s_ancestral", schedule: "karras" });
    expect(resolveSampler("sample_dpmpp_3m_sde").name).toBe("dpmpp_3m_sde");
    expect(resolveSampler("sample_dpmpp_2s_ancestral").name).toBe("dpmpp_2s_ancestral");
    expect(resolveSampler("DPMSolverSinglestepScheduler").name).toBe("dpm_solver_singlestep");
    expect(resolveSampler("EDMDPMSolverMultistepScheduler")).toMatchObject({ name: "dpmpp_2m", schedule: "karras" });
    expect(resolveSampler("DPM++ 2M Karras")).toMatchObject({ name: "dpmpp_2m", schedule: "karras" });
    expect(resolveSampler("DPM++ 2M SDE Karras")).toMatchObject({ name: "dpmpp_2m_sde", schedule: "karras" });
  });
});
