// diffusers' tests/schedulers/test_scheduler_kdpm2_ancestral.py, ported (CPU values): the second call of
// each pair draws noise from torch.manual_seed(0), passed in as opts.noise.
import { describe, expect, it } from "vitest";
import { createScheduler, type Scheduler } from "../../../src/diffusers/schedulers/index.ts";
import { expectArgumentError } from "../../support/errors.ts";
import { expectAddNoise, expectRoundTrip, expectSumMean } from "./laws.ts";
import { runLoop } from "./loop.ts";

const CLS = "KDPM2AncestralDiscreteScheduler";
const BASE = { num_train_timesteps: 1100, beta_start: 0.0001, beta_end: 0.02, beta_schedule: "linear" };
const make = (extra: Record<string, unknown> = {}) => {
  const s = createScheduler(CLS, { ...BASE, ...extra });
  s.setTimesteps(10);
  return s;
};
// diffusers draws in the second call of each pair (state_in_first_order false before the call)
const secondCalls = { drawsNoise: (_i: number, s: Scheduler) => (s as unknown as { stateInFirstOrder: boolean }).stateInFirstOrder === false };

describe("KDPM2AncestralDiscreteScheduler: diffusers' full loops", () => {
  it("test_full_loop_no_noise", () => expectSumMean(runLoop(make(), secondCalls), 13979.9433, 1e-2, 18.203, 5e-3));
  it("test_full_loop_with_v_prediction", () => expectSumMean(runLoop(make({ prediction_type: "v_prediction" }), secondCalls), 331.8133, 1e-2, 0.432, 1e-3));
  it("test_full_loop_device", () => expectSumMean(runLoop(make(), secondCalls), 13979.9433, 1e-1, 18.203, 1e-3));
  it("test_full_loop_with_noise", () => expectSumMean(runLoop(make(), { ...secondCalls, tStart: 8 }), 93087.3437, 1e-2, 121.2074, 5e-3));
});

describe("KDPM2AncestralDiscreteScheduler: laws", () => {
  it("only the second call of a pair needs noise", () => {
    const s = make();
    const x = new Float32Array(4).fill(1);
    s.step(new Float32Array(4), s.timesteps[0], x);
    expectArgumentError(() => s.step(new Float32Array(4), s.timesteps[1], x), "noise");
    expect(s.step(new Float32Array(4), s.timesteps[1], x, { noise: new Float32Array(4) }).prevSample.length).toBe(4);
  });
  it("add_noise", () => expectAddNoise(make()));
  it("check_over_configs round trips", () => {
    for (const extra of [{}, { num_train_timesteps: 50 }, { beta_start: 0.001, beta_end: 0.02 }, { beta_schedule: "scaled_linear" }, { prediction_type: "v_prediction" }, { use_beta_sigmas: true }, { use_exponential_sigmas: true }, { use_karras_sigmas: true }]) {
      expectRoundTrip(CLS, { ...BASE, ...extra });
    }
  });
  it("unknown keys and bad values are errors naming the key", () => {
    expectArgumentError(() => createScheduler(CLS, { prediction_type: "sample" }), "prediction_type");
    expectArgumentError(() => createScheduler(CLS, { eta: 1 }), "eta");
  });
});
