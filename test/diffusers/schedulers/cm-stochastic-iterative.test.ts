// diffusers' tests/schedulers/test_scheduler_consistency_model.py, ported: the loop steps the unscaled
// sample; noise from torch.manual_seed(0) at every step of a multistep run.
import { describe, expect, it } from "vitest";
import { createScheduler, type Scheduler } from "../../../src/diffusers/schedulers/index.ts";
import { expectArgumentError } from "../../support/errors.ts";
import { dummySampleDeter } from "../../support/diffusers-dummies.ts";
import { expectAddNoise, expectRoundTrip, expectSumMean } from "./laws.ts";
import { runLoop } from "./loop.ts";

const CLS = "CMStochasticIterativeScheduler";
const BASE = { num_train_timesteps: 201, sigma_min: 0.002, sigma_max: 80.0 };
const fresh = () => createScheduler(CLS, BASE);
const loop = { stepScaled: false, drawsNoise: (_i: number, s: Scheduler) => s.timesteps.length > 1 };

describe("CMStochasticIterativeScheduler: diffusers' full loops and checks", () => {
  it("test_full_loop_no_noise_onestep", () => {
    const s = fresh();
    s.setTimesteps(1);
    expectSumMean(runLoop(s, loop), 192.7614, 1e-2, 0.251, 1e-3);
  });
  it("test_full_loop_no_noise_multistep", () => {
    const s = fresh();
    s.setTimesteps(null, { timesteps: [106, 0] });
    expectSumMean(runLoop(s, loop), 347.6357, 1e-2, 0.4527, 1e-3);
  });
  it("test_full_loop_with_noise", () => {
    const s = fresh();
    s.setTimesteps(10);
    expectSumMean(runLoop(s, { ...loop, tStart: 8 }), 763.9186, 1e-2, 0.9947, 1e-3);
  });
  it("test_custom_timesteps_increasing_order", () => expectArgumentError(() => fresh().setTimesteps(null, { timesteps: [39, 30, 12, 15, 0] }), "timesteps", /descending/));
  it("test_custom_timesteps_passing_both_num_inference_steps_and_timesteps", () =>
    expectArgumentError(() => fresh().setTimesteps(5, { timesteps: [39, 30, 12, 1, 0] }), "numInferenceSteps"));
  it("test_custom_timesteps_too_large", () => expectArgumentError(() => fresh().setTimesteps(null, { timesteps: [201] }), "timesteps", /201/));
});

describe("CMStochasticIterativeScheduler: laws", () => {
  it("test_step_shape; the one-step run draws no noise; a multistep run needs it", () => {
    const s = fresh();
    s.setTimesteps(10);
    const x = dummySampleDeter();
    expectArgumentError(() => s.step(x.map((v) => 0.1 * v), s.timesteps[0], x), "noise");
    const a = s.step(x.map((v) => 0.1 * v), s.timesteps[0], x, { noise: x }).prevSample;
    expect(a.length).toBe(x.length);
    const one = fresh();
    one.setTimesteps(1);
    expect(one.step(x, one.timesteps[0], x).prevSample.length).toBe(x.length);
  });
  it("clip_denoised clamps the consistency output to [-1, 1]", () => {
    const s = createScheduler(CLS, { ...BASE, clip_denoised: true });
    s.setTimesteps(1);
    const big = new Float32Array(4).fill(1e4);
    expect(Array.from(s.step(big, s.timesteps[0], big).prevSample)).toEqual([1, 1, 1, 1]);
  });
  it("add_noise", () => {
    const s = fresh();
    s.setTimesteps(10);
    expectAddNoise(s);
  });
  it("check_over_configs round trips", () => {
    for (const extra of [{}, { num_train_timesteps: 50 }, { num_train_timesteps: 1000 }, { clip_denoised: false }, { s_noise: 1.007, rho: 6 }]) {
      expectRoundTrip(CLS, { ...BASE, ...extra });
    }
  });
  it("unknown keys and bad values are errors naming the key", () => {
    expectArgumentError(() => createScheduler(CLS, { prediction_type: "epsilon" }), "prediction_type");
    expectArgumentError(() => createScheduler(CLS, { clip_denoised: "yes" }), "clip_denoised");
    expectArgumentError(() => fresh().setTimesteps(300), "numInferenceSteps");
  });
});
