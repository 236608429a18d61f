// diffusers' tests/schedulers/test_scheduler_unipc.py, ported: every full-loop assertion (its dummy
// model, deterministic sample and noise, tolerances), the common laws, and our config checks.
import { describe, expect, it } from "vitest";
import { createScheduler, schedulerFromJson } from "../../../src/diffusers/schedulers/index.ts";
import { expectArgumentError } from "../../support/errors.ts";
import { checkOverConfigs, checkStepShape } from "./laws-multistep.ts";
import { fullLoop, fullLoopWithNoise, meanAbs } from "./loops.ts";

const CLS = "UniPCMultistepScheduler";
const config = (kw: Record<string, unknown> = {}) => ({
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: "linear",
  solver_order: 2,
  solver_type: "bh2",
  final_sigmas_type: "sigma_min",
  ...kw,
});

for (const [suite, shape, want] of [
  ["UniPCMultistepSchedulerTest", undefined, { plain: 0.2464, karras: 0.2925, v: 0.1014, karrasV: 0.1966, noiseSum: 315.5757, noiseMean: 0.4109 }],
  ["UniPCMultistepScheduler1DTest", [4, 3, 8], { plain: 0.2441, karras: 0.2898, v: 0.1014, karrasV: 0.1944, noiseSum: 39.087, noiseMean: 0.4072 }],
] as const) {
  describe(`${suite} (full loops)`, () => {
    // diffusers' full_loop builds its scheduler from get_scheduler_config whatever it is passed, so
    // test_switch (a round trip through the DPM-Solver and DEIS classes' from_config, which drop the keys
    // they do not read; createScheduler refuses them instead) loops the default config twice
    it("test_switch", () => {
      const first = fullLoop(CLS, config(), shape);
      expect(Math.abs(meanAbs(first) - want.plain)).toBeLessThan(1e-3);
      const again = fullLoop(CLS, schedulerFromJson(createScheduler(CLS, config()).toJson()).config as Record<string, unknown>, shape);
      expect(Math.abs(meanAbs(again) - want.plain)).toBeLessThan(1e-3);
    });
    it("test_full_loop_no_noise", () => {
      expect(Math.abs(meanAbs(fullLoop(CLS, config(), shape)) - want.plain)).toBeLessThan(1e-3);
    });
    it("test_full_loop_with_karras", () => {
      expect(Math.abs(meanAbs(fullLoop(CLS, config({ use_karras_sigmas: true }), shape)) - want.karras)).toBeLessThan(1e-3);
    });
    it("test_full_loop_with_v_prediction", () => {
      expect(Math.abs(meanAbs(fullLoop(CLS, config({ prediction_type: "v_prediction" }), shape)) - want.v)).toBeLessThan(1e-3);
    });
    it("test_full_loop_with_karras_and_v_prediction", () => {
      expect(Math.abs(meanAbs(fullLoop(CLS, config({ prediction_type: "v_prediction", use_karras_sigmas: true }), shape)) - want.karrasV)).toBeLessThan(1e-3);
    });
    it("test_full_loop_with_noise (sum)", () => {
      expect(Math.abs(fullLoopWithNoise(CLS, config(), shape).sum - want.noiseSum)).toBeLessThan(1e-2);
    });
    it("test_full_loop_with_noise (mean)", () => {
      expect(Math.abs(fullLoopWithNoise(CLS, config(), shape).mean - want.noiseMean)).toBeLessThan(1e-3);
    });
  });
}

describe("UniPCMultistepSchedulerTest (common laws)", () => {
  const over = (kw: Record<string, unknown>) => checkOverConfigs(CLS, config(kw), 25, ((kw.solver_order as number) ?? 2) + 1);
  it("test_timesteps", () => {
    for (const T of [25, 50, 100, 999, 1000]) over({ num_train_timesteps: T });
  });
  it("test_thresholding", () => {
    over({ thresholding: false });
    for (const order of [1, 2, 3])
      for (const solver_type of ["bh1", "bh2"])
        for (const sample_max_value of [0.5, 1.0, 2.0])
          for (const prediction_type of ["epsilon", "sample"]) over({ thresholding: true, prediction_type, sample_max_value, solver_order: order, solver_type });
  });
  it("test_prediction_type", () => {
    for (const prediction_type of ["epsilon", "v_prediction"]) over({ prediction_type });
  });
  it("test_solver_order_and_type (and the full loop has no NaN)", () => {
    for (const solver_type of ["bh1", "bh2"])
      for (const solver_order of [1, 2, 3])
        for (const prediction_type of ["epsilon", "sample"]) {
          over({ solver_order, solver_type, prediction_type });
          expect(fullLoop(CLS, config({ solver_order, solver_type, prediction_type })).every(Number.isFinite)).toBe(true);
        }
  });
  it("test_lower_order_final", () => {
    over({ lower_order_final: true });
    over({ lower_order_final: false });
  });
  it("test_inference_steps (check_over_forward at time_step 0)", () => {
    for (const n of [1, 2, 3, 5, 10, 50, 100, 999, 1000]) checkOverConfigs(CLS, config(), n, 1);
  });
  it("test_step_shape", () => checkStepShape(CLS, config(), 25));
});

describe("UniPCMultistepScheduler: what the config means here", () => {
  it("disable_corrector skips UniC after the listed steps; predict_x0 false integrates eps; both stay finite", () => {
    const base = fullLoop(CLS, config());
    const off = fullLoop(CLS, config({ disable_corrector: [0, 1, 2] }));
    expect(off.every(Number.isFinite)).toBe(true);
    expect(Array.from(off)).not.toEqual(Array.from(base));
    const eps = fullLoop(CLS, config({ predict_x0: false }));
    expect(eps.every(Number.isFinite)).toBe(true);
    expect(Math.abs(meanAbs(eps) - meanAbs(base))).toBeLessThan(0.05);
  });
  it("final_sigmas_type zero closes the grid at 0 and the last step returns the x0 estimate", () => {
    const s = createScheduler(CLS, config({ final_sigmas_type: "zero" }));
    s.setTimesteps(10);
    expect(s.sigmas?.[10]).toBe(0);
    expect(Array.from(s.timesteps)).toEqual([999, 899, 799, 699, 599, 500, 400, 300, 200, 100]);
    expect(fullLoop(CLS, config({ final_sigmas_type: "zero", lower_order_final: false })).every(Number.isFinite)).toBe(true);
  });
  it("Karras timesteps span the whole training table (the issue's bug: they ended 247, 100)", () => {
    const s = createScheduler(CLS, config({ use_karras_sigmas: true }));
    s.setTimesteps(10);
    expect(s.timesteps[0]).toBe(999);
    expect(s.timesteps[9]).toBe(0);
  });
  it("unknown keys and unsupported values are ArgumentErrors naming the key", () => {
    expectArgumentError(() => createScheduler(CLS, { solver_orderr: 2 }), "solver_orderr");
    expectArgumentError(() => createScheduler(CLS, { solver_type: "bh3" }), "solver_type");
    expectArgumentError(() => createScheduler(CLS, { solver_p: {} }), "solver_p", /not supported/);
    expectArgumentError(() => createScheduler(CLS, { beta_schedule: "sigmoid" }), "beta_schedule");
    expectArgumentError(() => createScheduler(CLS, { use_karras_sigmas: true, use_beta_sigmas: true }), "use_beta_sigmas");
    expectArgumentError(() => createScheduler(CLS, { time_shift_type: "linear" }), "time_shift_type");
    const s = createScheduler(CLS, config());
    expectArgumentError(() => s.step(new Float32Array(4), 999, new Float32Array(4)), "setTimesteps");
    s.setTimesteps(10);
    expectArgumentError(() => s.step(new Float32Array(4), 998, new Float32Array(4)), "t", /998/);
  });
  it("diffusers' DPM-Solver solver_type names register as bh2, as diffusers does", () => {
    expect(createScheduler(CLS, { solver_type: "midpoint" }).config.solver_type).toBe("bh2");
  });
  it("every config of the ported suite round-trips through schedulerFromJson", () => {
    for (const kw of [{}, { use_karras_sigmas: true }, { prediction_type: "v_prediction" }, { thresholding: true, sample_max_value: 2 }, { solver_type: "bh1", solver_order: 3 }, { disable_corrector: [1, 3] }]) {
      const s = createScheduler(CLS, config(kw));
      expect(schedulerFromJson(s.toJson()).toJson()).toBe(s.toJson());
    }
  });
});
