// diffusers' tests/schedulers/test_scheduler_edm_euler.py, ported: the loop steps the unscaled sample and
// feeds the model EDM's c_in x and c_noise = log(sigma) / 4.
import { describe, expect, it } from "vitest";
import { createScheduler } from "../../../src/diffusers/schedulers/index.ts";
import { expectArgumentError } from "../../support/errors.ts";
import { dummySampleDeter } from "../../support/diffusers-dummies.ts";
import { expectAddNoise, expectRoundTrip, expectSumMean } from "./laws.ts";
import { runLoop } from "./loop.ts";

const CLS = "EDMEulerScheduler";
const BASE = { num_train_timesteps: 256, sigma_min: 0.002, sigma_max: 80.0 };
const make = (extra: Record<string, unknown> = {}) => {
  const s = createScheduler(CLS, { ...BASE, ...extra });
  s.setTimesteps(10);
  return s;
};

describe("EDMEulerScheduler: diffusers' full loops", () => {
  it("test_full_loop_no_noise", () => expectSumMean(runLoop(make(), { stepScaled: false }), 34.1855, 1e-3, 0.044, 1e-3));
  it("test_full_loop_device", () => expectSumMean(runLoop(make(), { stepScaled: false }), 34.1855, 1e-3, 0.044, 1e-3));
});

describe("EDMEulerScheduler: tables and laws", () => {
  it("Karras sigmas from sigma_max to sigma_min, then 0; timesteps log(sigma) / 4; init sqrt(sigma_max^2 + 1)", () => {
    const s = make();
    expect(s.sigmas?.length).toBe(11);
    expect(s.sigmas?.[0]).toBe(80);
    expect(s.sigmas?.[9]).toBe(Math.fround(0.002));
    expect(s.sigmas?.[10]).toBe(0);
    expect(s.timesteps[0]).toBeCloseTo(0.25 * Math.log(80), 6);
    expect(s.initNoiseSigma).toBe(Math.sqrt(6401));
    const e = make({ sigma_schedule: "exponential", final_sigmas_type: "sigma_min" });
    expect(e.sigmas?.[0]).toBeCloseTo(80, 4);
    expect(e.sigmas?.[1]! / e.sigmas![0]).toBeCloseTo(e.sigmas![2] / e.sigmas![1], 5);
    expect(e.sigmas?.[10]).toBe(e.sigmas?.[9]);
  });
  it("test_step_shape; scale_model_input is c_in = 1 / sqrt(sigma^2 + sigma_data^2)", () => {
    const s = make();
    const x = dummySampleDeter();
    const scaled = s.scaleModelInput(x, s.timesteps[0]);
    expect(scaled[5]).toBeCloseTo(x[5] / Math.sqrt(6400 + 0.25), 7);
    const a = s.step(scaled.map((v) => 0.1 * v), s.timesteps[0], x).prevSample;
    const b = s.step(scaled.map((v) => 0.1 * v), s.timesteps[1], x).prevSample;
    expect(a.length).toBe(x.length);
    expect(b.length).toBe(a.length);
  });
  it("add_noise", () => expectAddNoise(make()));
  it("check_over_configs round trips", () => {
    for (const extra of [{}, { num_train_timesteps: 10 }, { num_train_timesteps: 1000 }, { prediction_type: "v_prediction" }, { sigma_schedule: "exponential" }, { final_sigmas_type: "sigma_min", rho: 5 }]) {
      expectRoundTrip(CLS, { ...BASE, ...extra });
    }
  });
  it("unknown keys (beta keys: test_trained_betas is skipped in diffusers) and bad values are errors", () => {
    expectArgumentError(() => createScheduler(CLS, { trained_betas: [0.1] }), "trained_betas");
    expectArgumentError(() => createScheduler(CLS, { sigma_schedule: "linear" }), "sigma_schedule");
    expectArgumentError(() => createScheduler(CLS, { prediction_type: "sample" }), "prediction_type");
  });
});
