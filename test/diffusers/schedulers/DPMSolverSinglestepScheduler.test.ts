// diffusers' tests/schedulers/test_scheduler_dpm_single.py, ported: every full-loop assertion with its
// expected value and tolerance, and the laws that carry meaning here.
import { describe, expect, it } from "vitest";
import { createScheduler, schedulerFromJson } from "../../../src/diffusers/schedulers/index.ts";
import { singlestepOrders } from "../../../src/diffusers/schedulers/dpm-singlestep.ts";
import { absSumMean, dummyModel, dummyNoiseDeter, dummySampleDeter } from "../../support/diffusers-dummies.ts";
import { expectArgumentError } from "../../support/errors.ts";
import { fullLoop, make, overConfigs } from "./support-dpm.ts";

const CLS = "DPMSolverSinglestepScheduler";
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
  lambda_min_clipped: -Infinity,
  variance_type: null,
  // Not in diffusers' test config: its expected values are those of a run that ends at sigma(t = 0) with
  // lower_order_final off (what the class did before final_sigmas_type existed). With the class default
  // "zero" the run ends at 0 and lower_order_final is forced on, as diffusers' set_timesteps does, which
  // gives other values (0.2278 for test_full_loop_no_noise).
  final_sigmas_type: "sigma_min",
};
const mean = (extra: Record<string, unknown> = {}) => absSumMean(fullLoop(make(CLS, BASE, extra))).mean;

describe("DPMSolverSinglestepScheduler: diffusers' full-loop values", () => {
  it("test_full_loop_no_noise", () => expect(Math.abs(mean() - 0.2791)).toBeLessThan(1e-3));
  it("test_full_loop_with_karras", () => expect(Math.abs(mean({ use_karras_sigmas: true }) - 0.2248)).toBeLessThan(1e-3));
  it("test_full_loop_with_v_prediction", () => expect(Math.abs(mean({ prediction_type: "v_prediction" }) - 0.1453)).toBeLessThan(1e-3));
  it("test_full_loop_with_karras_and_v_prediction", () => expect(Math.abs(mean({ prediction_type: "v_prediction", use_karras_sigmas: true }) - 0.0649)).toBeLessThan(1e-3));

  it("test_full_uneven_loop (50 steps, started at timesteps[3])", () => {
    const s = make(CLS, BASE);
    s.setTimesteps(50);
    let x = dummySampleDeter();
    for (const t of s.timesteps.slice(3)) x = s.step(dummyModel(x, t), t, x).prevSample;
    expect(Math.abs(absSumMean(x).mean - 0.2574)).toBeLessThan(1e-3);
  });

  it("test_full_loop_with_noise", () => {
    const s = make(CLS, BASE);
    s.setTimesteps(10);
    const timesteps = s.timesteps.slice(5 * s.order);
    let x = s.addNoise(dummySampleDeter(), dummyNoiseDeter(), timesteps.slice(0, 1));
    for (const t of timesteps) x = s.step(dummyModel(x, t), t, x).prevSample;
    const { sum, mean: m } = absSumMean(x);
    expect(Math.abs(sum - 269.2187)).toBeLessThan(1e-2);
    expect(Math.abs(m - 0.3505)).toBeLessThan(1e-3);
  });

  it("test_switch (through the JSON and back)", () => {
    const s = make(CLS, BASE);
    expect(Math.abs(absSumMean(fullLoop(s)).mean - 0.2791)).toBeLessThan(1e-3);
    expect(Math.abs(absSumMean(fullLoop(schedulerFromJson(s.toJson()))).mean - 0.2791)).toBeLessThan(1e-3);
  });
});

describe("DPMSolverSinglestepScheduler: diffusers' laws", () => {
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

  it("check_over_configs: timesteps, thresholding, predictions, lower_order_final, clipping, variance type", () => {
    const cases: Record<string, unknown>[] = [
      ...[25, 50, 100, 999, 1000].map((num_train_timesteps) => ({ num_train_timesteps })),
      { prediction_type: "v_prediction" },
      { lower_order_final: true },
      { lower_order_final: false },
      { lambda_min_clipped: -5.1 },
      { variance_type: "learned_range" },
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

  it("test_step_shape", () => {
    const s = make(CLS, BASE);
    s.setTimesteps(25);
    const x = dummySampleDeter();
    const r = x.map((v) => 0.1 * v);
    expect(s.step(r, s.timesteps[0], x).prevSample.length).toBe(x.length);
    expect(s.step(r, s.timesteps[1], x).prevSample.length).toBe(x.length);
  });

  it("get_order_list: blocks of the solver order, lower orders at the end when asked, and first order into sigma 0", () => {
    expect(singlestepOrders(10, 2, false, false)).toEqual([1, 2, 1, 2, 1, 2, 1, 2, 1, 2]);
    expect(singlestepOrders(10, 2, true, false)).toEqual([1, 2, 1, 2, 1, 2, 1, 2, 1, 1]);
    expect(singlestepOrders(7, 3, true, false)).toEqual([1, 2, 3, 1, 2, 3, 1]);
    expect(singlestepOrders(9, 3, true, false)).toEqual([1, 2, 3, 1, 2, 3, 1, 2, 1]);
    expect(singlestepOrders(8, 3, true, true)).toEqual([1, 2, 3, 1, 2, 3, 1, 1]);
  });

  it("an odd number of steps, or an end at sigma 0, switches lower_order_final on (written to the config, as diffusers does)", () => {
    const s = make(CLS, BASE, { lower_order_final: false });
    s.setTimesteps(10);
    expect(s.config.lower_order_final).toBe(false);
    s.setTimesteps(9);
    expect(s.config.lower_order_final).toBe(true);
    const z = createScheduler(CLS, { lower_order_final: false, final_sigmas_type: "zero" });
    z.setTimesteps(10);
    expect(z.config.lower_order_final).toBe(true);
    expect(z.toJson()).toContain('"lower_order_final": true');
  });
});

describe("DPMSolverSinglestepScheduler: arguments", () => {
  it("keys it does not take and values not implemented are errors naming them", () => {
    expectArgumentError(() => createScheduler(CLS, { timestep_spacing: "linspace" }), "timestep_spacing", "not a DPMSolverSinglestepScheduler setting");
    expectArgumentError(() => createScheduler(CLS, { use_flow_sigmas: true }), "use_flow_sigmas", "not implemented");
    expectArgumentError(() => createScheduler(CLS, { algorithm_type: "sde-dpmsolver++", solver_order: 3 }), "solver_order");
    expectArgumentError(() => createScheduler(CLS, { algorithm_type: "dpmsolver" }), "final_sigmas_type");
  });

  it("round-trips every config the tests use", () => {
    for (const c of [{}, { use_karras_sigmas: true }, { prediction_type: "v_prediction" }, { solver_order: 3, solver_type: "heun" }]) {
      const s = make(CLS, BASE, c);
      expect(schedulerFromJson(s.toJson()).toJson()).toBe(s.toJson());
    }
  });
});
