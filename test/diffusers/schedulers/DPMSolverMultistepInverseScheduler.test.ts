// diffusers' tests/schedulers/test_scheduler_dpm_multi_inverse.py, ported: every full-loop assertion
// with its expected value and tolerance, and the laws that carry meaning here.
import { describe, expect, it } from "vitest";
import { createScheduler, schedulerFromJson } from "../../../src/diffusers/schedulers/index.ts";
import { absSumMean, dummySampleDeter } from "../../support/diffusers-dummies.ts";
import { expectArgumentError } from "../../support/errors.ts";
import { fullLoop, make, overConfigs } from "./support-dpm.ts";

const CLS = "DPMSolverMultistepInverseScheduler";
const BASE = {
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: "linear",
  solver_order: 2,
  prediction_type: "epsilon",
  thresholding: false,
  sample_max_value: 1.0,
  algorithm_type: "dpmsolver++",
  solver_type: "midpoint",
  lower_order_final: false,
  lambda_min_clipped: -Infinity,
  variance_type: null,
};
const mean = (extra: Record<string, unknown> = {}) => absSumMean(fullLoop(make(CLS, BASE, extra))).mean;

describe("DPMSolverMultistepInverseScheduler: diffusers' full-loop values", () => {
  it("test_full_loop_no_noise", () => expect(Math.abs(mean() - 0.7047)).toBeLessThan(1e-3));
  it("test_full_loop_no_noise_thres", () => expect(Math.abs(mean({ thresholding: true, dynamic_thresholding_ratio: 0.87, sample_max_value: 0.5 }) - 19.8933)).toBeLessThan(1e-3));
  it("test_full_loop_with_v_prediction", () => expect(Math.abs(mean({ prediction_type: "v_prediction" }) - 1.5194)).toBeLessThan(1e-3));
  // diffusers' current test allows 2e-3 here (its older version 1e-3); we get 1.7816
  it("test_full_loop_with_karras_and_v_prediction", () => expect(Math.abs(mean({ prediction_type: "v_prediction", use_karras_sigmas: true }) - 1.7833)).toBeLessThan(2e-3));
  it("test_switch (through the JSON and back)", () => {
    const s = make(CLS, BASE);
    const a = absSumMean(fullLoop(s)).mean;
    expect(Math.abs(a - 0.7047)).toBeLessThan(1e-3);
    expect(Math.abs(absSumMean(fullLoop(schedulerFromJson(s.toJson()))).mean - a)).toBeLessThan(1e-3);
  });
});

describe("DPMSolverMultistepInverseScheduler: diffusers' laws", () => {
  it("test_solver_order_and_type", () => {
    for (const algorithm_type of ["dpmsolver", "dpmsolver++"]) {
      for (const solver_type of ["midpoint", "heun"]) {
        for (const solver_order of [1, 2, 3]) {
          for (const prediction_type of ["epsilon", "sample"]) {
            const cfg = { solver_order, solver_type, prediction_type, algorithm_type };
            expect(overConfigs(CLS, BASE, cfg)).toBeLessThan(1e-5);
            expect(fullLoop(make(CLS, BASE, cfg)).every(Number.isFinite), JSON.stringify(cfg)).toBe(true);
          }
        }
      }
    }
  });

  it("check_over_configs: timesteps, thresholding, predictions, lower_order_final, clipping, variance type, spacing", () => {
    const cases: Record<string, unknown>[] = [
      ...[25, 50, 100, 999, 1000].map((num_train_timesteps) => ({ num_train_timesteps })),
      { prediction_type: "v_prediction" },
      { lower_order_final: true },
      { lambda_min_clipped: -5.1 },
      { variance_type: "learned_range" },
      { timestep_spacing: "trailing" },
      { timestep_spacing: "leading" },
      { use_exponential_sigmas: true },
      { use_beta_sigmas: true },
    ];
    for (const solver_order of [1, 2, 3]) {
      for (const solver_type of ["midpoint", "heun"]) {
        for (const sample_max_value of [0.5, 1.0, 2.0]) {
          for (const prediction_type of ["epsilon", "sample"]) cases.push({ thresholding: true, prediction_type, sample_max_value, solver_order, solver_type });
        }
      }
    }
    for (const c of cases) expect(overConfigs(CLS, BASE, c), JSON.stringify(c)).toBeLessThan(1e-5);
  });

  it("test_inference_steps", () => {
    for (const steps of [1, 2, 3, 5, 10, 50, 100, 999, 1000]) expect(overConfigs(CLS, BASE, {}, steps)).toBeLessThan(1e-5);
  });

  it("test_unique_timesteps: no repeated timestep at num_train_timesteps steps", () => {
    const s = make(CLS, BASE);
    s.setTimesteps(1000);
    expect(new Set(s.timesteps).size).toBe(s.timesteps.length);
  });

  it("the timesteps ascend and the run ends at the noisiest sigma (an inversion)", () => {
    const s = make(CLS, BASE);
    s.setTimesteps(10);
    expect(Array.from(s.timesteps)).toEqual([0, 100, 200, 300, 400, 500, 599, 699, 799, 899]);
    const sig = s.sigmas as Float64Array;
    for (let i = 1; i < sig.length; i++) expect(sig[i]).toBeGreaterThan(sig[i - 1]);
    const fwd = createScheduler("DPMSolverMultistepScheduler", {});
    fwd.setTimesteps(10);
    expect(sig[sig.length - 1]).toBe((fwd.sigmas as Float64Array)[0]);
  });

  it("test_step_shape", () => {
    const s = make(CLS, BASE);
    s.setTimesteps(25);
    const x = dummySampleDeter();
    const r = x.map((v) => 0.1 * v);
    expect(s.step(r, s.timesteps[5], x).prevSample.length).toBe(x.length);
    expect(s.step(r, s.timesteps[6], x).prevSample.length).toBe(x.length);
  });
});

describe("DPMSolverMultistepInverseScheduler: arguments", () => {
  it("keys of the forward scheduler it does not take, and unsupported values, are errors naming them", () => {
    expectArgumentError(() => createScheduler(CLS, { final_sigmas_type: "zero" }), "final_sigmas_type", "not a DPMSolverMultistepInverseScheduler setting");
    expectArgumentError(() => createScheduler(CLS, { use_lu_lambdas: true }), "use_lu_lambdas");
    expectArgumentError(() => createScheduler(CLS, { use_flow_sigmas: true }), "use_flow_sigmas", "not implemented");
    expectArgumentError(() => createScheduler(CLS, { algorithm_type: "sde-dpmsolver++", solver_order: 3 }), "solver_order");
    const s = createScheduler(CLS, {});
    expectArgumentError(() => s.setTimesteps(null, { timesteps: [1, 2] }), "timesteps");
  });

  it("round-trips every config the tests use", () => {
    for (const c of [{}, { use_karras_sigmas: true, prediction_type: "v_prediction" }, { thresholding: true, dynamic_thresholding_ratio: 0.87, sample_max_value: 0.5 }, { timestep_spacing: "leading" }]) {
      const s = make(CLS, BASE, c);
      expect(schedulerFromJson(s.toJson()).toJson()).toBe(s.toJson());
    }
  });
});
