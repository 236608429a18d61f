// diffusers' tests/schedulers/test_scheduler_deis.py, ported: every full-loop assertion, the common laws,
// and our config checks. (The suite's config nests its keys under "schedule_config" in the stored
// version; the keys and expected values are those of the flat DEISMultistepScheduler config.)
import { describe, expect, it } from "vitest";
import { createScheduler, schedulerFromJson } from "../../../src/diffusers/schedulers/index.ts";
import { expectArgumentError } from "../../support/errors.ts";
import { checkOverConfigs, checkStepShape } from "./laws-multistep.ts";
import { fullLoop, fullLoopWithNoise, meanAbs } from "./loops.ts";

const CLS = "DEISMultistepScheduler";
const config = (kw: Record<string, unknown> = {}) => ({ num_train_timesteps: 1000, beta_start: 0.0001, beta_end: 0.02, beta_schedule: "linear", solver_order: 2, ...kw });

describe("DEISMultistepSchedulerTest (full loops)", () => {
  it("test_switch", () => {
    expect(Math.abs(meanAbs(fullLoop(CLS, config())) - 0.23916)).toBeLessThan(1e-3);
    const again = schedulerFromJson(createScheduler(CLS, config()).toJson()).config as Record<string, unknown>;
    expect(Math.abs(meanAbs(fullLoop(CLS, again)) - 0.23916)).toBeLessThan(1e-3);
  });
  it("test_full_loop_no_noise", () => {
    expect(Math.abs(meanAbs(fullLoop(CLS, config())) - 0.23916)).toBeLessThan(1e-3);
  });
  it("test_full_loop_with_v_prediction", () => {
    expect(Math.abs(meanAbs(fullLoop(CLS, config({ prediction_type: "v_prediction" }))) - 0.091)).toBeLessThan(1e-3);
  });
  it("test_full_loop_with_noise (sum)", () => {
    expect(Math.abs(fullLoopWithNoise(CLS, config()).sum - 315.3016)).toBeLessThan(1e-2);
  });
  it("test_full_loop_with_noise (mean)", () => {
    expect(Math.abs(fullLoopWithNoise(CLS, config()).mean - 0.41054)).toBeLessThan(1e-3);
  });
});

describe("DEISMultistepSchedulerTest (common laws)", () => {
  const over = (kw: Record<string, unknown>) => checkOverConfigs(CLS, config(kw), 25, ((kw.solver_order as number) ?? 2) + 1);
  it("test_timesteps", () => {
    for (const T of [25, 50, 100, 999, 1000]) over({ num_train_timesteps: T });
  });
  it("test_thresholding", () => {
    over({ thresholding: false });
    for (const solver_order of [1, 2, 3])
      for (const sample_max_value of [0.5, 1.0, 2.0])
        for (const prediction_type of ["epsilon", "sample"]) over({ thresholding: true, prediction_type, sample_max_value, algorithm_type: "deis", solver_order, solver_type: "logrho" });
  });
  it("test_prediction_type", () => {
    for (const prediction_type of ["epsilon", "v_prediction"]) over({ prediction_type });
  });
  it("test_solver_order_and_type (and the full loop has no NaN)", () => {
    for (const solver_order of [1, 2, 3])
      for (const prediction_type of ["epsilon", "sample"]) {
        over({ solver_order, solver_type: "logrho", prediction_type, algorithm_type: "deis" });
        expect(fullLoop(CLS, config({ solver_order, solver_type: "logrho", prediction_type, algorithm_type: "deis" })).every(Number.isFinite)).toBe(true);
      }
  });
  it("test_lower_order_final", () => {
    over({ lower_order_final: true });
    over({ lower_order_final: false });
  });
  it("test_inference_steps (check_over_forward at time_step 0)", () => {
    for (const n of [1, 2, 3, 5, 10, 50, 100, 999, 1000]) checkOverConfigs(CLS, config(), n, 1);
  });
  it("test_beta_sigmas", () => over({ use_beta_sigmas: true }));
  it("test_exponential_sigmas", () => over({ use_exponential_sigmas: true }));
  it("test_step_shape", () => checkStepShape(CLS, config(), 25));
});

describe("DEISMultistepScheduler: what the config means here", () => {
  it("the grid closes at sigma_min (sigma(t = 0), or the last spaced sigma), never at 0", () => {
    const s = createScheduler(CLS, config());
    const sigmaAt0 = s.sigmas?.[0]; // before set_timesteps: the training table, t = 0 first
    s.setTimesteps(10);
    expect(s.sigmas?.[10]).toBe(sigmaAt0);
    expect(sigmaAt0).toBeCloseTo(Math.sqrt(0.0001 / (1 - 0.0001)), 5);
    for (const kw of [{ use_karras_sigmas: true }, { use_exponential_sigmas: true }, { use_beta_sigmas: true }]) {
      const k = createScheduler(CLS, config(kw));
      k.setTimesteps(10);
      expect(k.sigmas?.[10]).toBe(k.sigmas?.[9]);
      expect(k.sigmas?.[0]).toBeGreaterThan(150);
      expect(fullLoop(CLS, config(kw)).every(Number.isFinite)).toBe(true);
    }
  });
  it("exponential sigmas are equally spaced in log sigma; beta sigmas bunch at both ends", () => {
    const e = createScheduler(CLS, config({ use_exponential_sigmas: true }));
    e.setTimesteps(6);
    const r = Array.from({ length: 5 }, (_, i) => Math.log(e.sigmas![i] / e.sigmas![i + 1]));
    for (const v of r) expect(v).toBeCloseTo(r[0], 5);
    const b = createScheduler(CLS, config({ use_beta_sigmas: true }));
    b.setTimesteps(9);
    const d = Array.from({ length: 8 }, (_, i) => b.sigmas![i] - b.sigmas![i + 1]);
    expect(d[0]).toBeLessThan(d[4]);
    expect(d[7]).toBeLessThan(d[4]);
  });
  it("unknown keys and unsupported values are ArgumentErrors naming the key", () => {
    expectArgumentError(() => createScheduler(CLS, { final_sigmas_type: "zero" }), "final_sigmas_type");
    expectArgumentError(() => createScheduler(CLS, { solver_order: 4 }), "solver_order");
    expectArgumentError(() => createScheduler(CLS, { algorithm_type: "sde-dpmsolver" }), "algorithm_type");
    expectArgumentError(() => createScheduler(CLS, { solver_type: "bh3" }), "solver_type");
    expectArgumentError(() => createScheduler(CLS, { timestep_spacing: "cosine" }), "timestep_spacing");
  });
  it("diffusers' other algorithm and solver names register as deis / logrho, as diffusers does", () => {
    const s = createScheduler(CLS, { algorithm_type: "dpmsolver++", solver_type: "bh2" });
    expect([s.config.algorithm_type, s.config.solver_type]).toEqual(["deis", "logrho"]);
  });
  it("every config of the ported suite round-trips through schedulerFromJson", () => {
    for (const kw of [{}, { prediction_type: "v_prediction" }, { thresholding: true, sample_max_value: 0.5 }, { solver_order: 3 }, { use_beta_sigmas: true }, { use_exponential_sigmas: true }]) {
      const s = createScheduler(CLS, config(kw));
      expect(schedulerFromJson(s.toJson()).toJson()).toBe(s.toJson());
    }
  });
});
