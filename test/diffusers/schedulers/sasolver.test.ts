// diffusers' tests/schedulers/test_scheduler_sasolver.py, ported with its CPU expected values: the noise
// each step draws is torch.randn on the CPU generator (test/support/torch-rng.ts), passed as opts.noise.
import { describe, expect, it } from "vitest";
import { createScheduler, schedulerFromJson } from "../../../src/diffusers/schedulers/index.ts";
import { Rng } from "../../../src/rng.ts";
import { absSumMean, dummyModel, dummySampleDeter } from "../../support/diffusers-dummies.ts";
import { expectArgumentError } from "../../support/errors.ts";
import { manualSeed, type TorchGenerator } from "../../support/torch-rng.ts";
import { checkOverConfigs, checkStepShape } from "./laws-multistep.ts";

const CLS = "SASolverScheduler";
const config = (kw: Record<string, unknown> = {}) => ({ num_train_timesteps: 1100, beta_start: 0.0001, beta_end: 0.02, beta_schedule: "linear", ...kw });

/** The tests' loop: 10 steps of the dummy model; step k draws randn(768) from `gen`. */
function loop(kw: Record<string, unknown>, gen: TorchGenerator): { sum: number; mean: number } {
  const s = createScheduler(CLS, config(kw));
  s.setTimesteps(10);
  let x: Float32Array = dummySampleDeter().map((v) => v * s.initNoiseSigma);
  for (const t of s.timesteps) {
    x = s.scaleModelInput(x, t);
    x = s.step(dummyModel(x, t), t, x, { noise: gen.randn(x.length) }).prevSample;
  }
  return absSumMean(x);
}

describe("SASolverSchedulerTest (full loops, CPU values)", () => {
  it("test_full_loop_device", () => {
    const r = loop({}, manualSeed(0));
    expect(Math.abs(r.sum - 337.394287109375)).toBeLessThan(1e-2);
    expect(Math.abs(r.mean - 0.43931546807289124)).toBeLessThan(1e-3);
  });
  it("test_full_loop_device_karras_sigmas", () => {
    const r = loop({ use_karras_sigmas: true }, manualSeed(0));
    expect(Math.abs(r.sum - 837.2554931640625)).toBeLessThan(1e-2);
    expect(Math.abs(r.mean - 1.0901764631271362)).toBeLessThan(1e-2);
  });
  it("test_full_loop_no_noise", () => {
    // its step() gets no generator, so it draws from torch's global generator where the tests before it
    // left it: seeded 0 by test_full_loop_device_karras_sigmas and advanced by 11 draws of 768 normals
    // (found by trying 0..300 draws: only 11 reproduces the value, to 2e-5)
    const g = manualSeed(0);
    for (let k = 0; k < 11; k++) g.randn(768);
    const r = loop({}, g);
    expect(Math.abs(r.sum - 328.8799133300781)).toBeLessThan(1e-2);
    expect(Math.abs(r.mean - 0.42822906374931335)).toBeLessThan(1e-3);
  });
  it("test_full_loop_with_v_prediction", () => {
    // torch.manual_seed(0) seeds the global generator the generator-less step() draws from
    const r = loop({ prediction_type: "v_prediction" }, manualSeed(0));
    expect(Math.abs(r.sum - 193.1467742919922)).toBeLessThan(1e-2);
    expect(Math.abs(r.mean - 0.2514931857585907)).toBeLessThan(1e-3);
  });
});

describe("SASolverSchedulerTest (common laws)", () => {
  // the same noise for the original and the reloaded scheduler at each step
  const over = (kw: Record<string, unknown>) => {
    const rng = new Rng(3);
    checkOverConfigs(CLS, config(kw), 10, 3, () => ({ rng }));
  };
  it("test_timesteps", () => {
    for (const T of [10, 50, 100, 1000]) over({ num_train_timesteps: T });
  });
  it("test_betas", () => {
    for (const [beta_start, beta_end] of [[0.00001, 0.0002], [0.0001, 0.002], [0.001, 0.02]]) over({ beta_start, beta_end });
  });
  it("test_schedules", () => {
    for (const beta_schedule of ["linear", "scaled_linear"]) over({ beta_schedule });
  });
  it("test_prediction_type", () => {
    for (const prediction_type of ["epsilon", "v_prediction"]) over({ prediction_type });
  });
  it("test_step_shape", () => checkStepShape(CLS, config(), 10, () => ({ rng: new Rng(1) })));
});

describe("SASolverScheduler: what the config means here", () => {
  it("a stochastic step needs noise: opts.noise, else opts.rng; the ODE part (tau = 0) needs none", () => {
    const s = createScheduler(CLS, config());
    s.setTimesteps(10);
    let x = dummySampleDeter();
    // timesteps 1099, 989, 879 are above 800: tau = 0 there, no noise needed
    for (const t of s.timesteps.slice(0, 3)) x = s.step(dummyModel(x, t), t, x).prevSample;
    const t = s.timesteps[3];
    expectArgumentError(() => s.step(dummyModel(x, t), t, x), "noise");
    expectArgumentError(() => s.step(dummyModel(x, t), t, x, { noise: new Float32Array(3) }), "noise");
  });
  it("tau_func 0 everywhere makes the run deterministic (the ODE solver); noise_prediction stays finite", () => {
    const zero = { tau_func: () => 0 };
    const a = loop(zero, manualSeed(0));
    const b = loop(zero, manualSeed(5));
    expect(a).toEqual(b);
    expect(Number.isFinite(loop({ algorithm_type: "noise_prediction" }, manualSeed(0)).sum)).toBe(true);
    expect(Number.isFinite(loop({ predictor_order: 3, corrector_order: 3, thresholding: true }, manualSeed(0)).sum)).toBe(true);
  });
  it("add_noise is DDPM's, at the training timestep", () => {
    const s = createScheduler(CLS, config());
    const x = new Float32Array([1, -1]);
    const n = new Float32Array([0.5, 0.5]);
    const out = s.addNoise(x, n, 0);
    const ab = 1 - 0.0001;
    expect(out[0]).toBeCloseTo(Math.sqrt(ab) + 0.5 * Math.sqrt(1 - ab), 6);
  });
  it("unknown keys and unsupported values are ArgumentErrors naming the key", () => {
    expectArgumentError(() => createScheduler(CLS, { solver_order: 2 }), "solver_order");
    expectArgumentError(() => createScheduler(CLS, { variance_type: "learned_range" }), "variance_type", /not implemented/);
    expectArgumentError(() => createScheduler(CLS, { algorithm_type: "deis" }), "algorithm_type");
    expectArgumentError(() => createScheduler(CLS, { tau_func: "lambda t: 1" }), "tau_func");
  });
  it("lambda_min_clipped ends the linspace table where lambda(t) falls below it", () => {
    const s = createScheduler(CLS, config({ lambda_min_clipped: -5 }));
    s.setTimesteps(10);
    expect(s.timesteps[0]).toBeLessThan(1099);
  });
  it("every config of the ported suite round-trips through schedulerFromJson (Python's -Infinity included)", () => {
    for (const kw of [{}, { use_karras_sigmas: true }, { prediction_type: "v_prediction" }, { beta_schedule: "scaled_linear" }]) {
      const s = createScheduler(CLS, config(kw));
      expect(s.toJson()).toMatch(/"lambda_min_clipped": -Infinity/);
      expect(schedulerFromJson(s.toJson()).toJson()).toBe(s.toJson());
    }
  });
});
