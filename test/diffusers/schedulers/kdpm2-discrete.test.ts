// diffusers' tests/schedulers/test_scheduler_kdpm2_discrete.py, ported (CPU values).
import { describe, expect, it } from "vitest";
import { createScheduler } from "../../../src/diffusers/schedulers/index.ts";
import { expectArgumentError } from "../../support/errors.ts";
import { expectAddNoise, expectRoundTrip, expectSumMean } from "./laws.ts";
import { runLoop } from "./loop.ts";

const CLS = "KDPM2DiscreteScheduler";
const BASE = { num_train_timesteps: 1100, beta_start: 0.0001, beta_end: 0.02, beta_schedule: "linear" };
const make = (extra: Record<string, unknown> = {}) => {
  const s = createScheduler(CLS, { ...BASE, ...extra });
  s.setTimesteps(10);
  return s;
};

describe("KDPM2DiscreteScheduler: diffusers' full loops", () => {
  it("test_full_loop_with_v_prediction", () => expectSumMean(runLoop(make({ prediction_type: "v_prediction" })), 4.6934e-7, 1e-2, 6.1112e-10, 1e-3));
  it("test_full_loop_no_noise", () => expectSumMean(runLoop(make()), 20.4125, 1e-2, 0.0266, 1e-3));
  it("test_full_loop_device", () => expectSumMean(runLoop(make()), 20.4125, 1e-2, 0.0266, 1e-3));
  it("test_full_loop_with_noise", () => expectSumMean(runLoop(make(), { tStart: 8 }), 70408.4062, 1e-2, 91.6776, 1e-3));
});

describe("KDPM2DiscreteScheduler: tables and laws", () => {
  it("a step's two calls see sigma_i, then the log-midpoint of sigma_i and sigma_(i+1); a zero slope moves nothing", () => {
    const s = make();
    expect(s.timesteps.length).toBe(19);
    const x = new Float32Array(4).fill(1);
    const first = s.scaleModelInput(x, s.timesteps[0]);
    expect(first[0]).toBeCloseTo(1 / Math.sqrt(s.sigmas![0] ** 2 + 1), 6);
    s.step(new Float32Array(4), s.timesteps[0], x);
    const mid = Math.sqrt(s.sigmas![0] * s.sigmas![1]);
    expect(s.scaleModelInput(x, s.timesteps[1])[0]).toBeCloseTo(1 / Math.sqrt(mid * mid + 1), 6);
    // eps = 0 means x0 = x, slope 0: every call of the run leaves x where it is
    const r = make();
    let y: Float32Array = Float32Array.of(1, -2, 0.5, 3);
    for (const t of r.timesteps) y = r.step(new Float32Array(4), t, y).prevSample;
    expect(Array.from(y)).toEqual([1, -2, 0.5, 3]);
  });
  it("add_noise", () => expectAddNoise(make()));
  it("check_over_configs round trips", () => {
    for (const extra of [{}, { num_train_timesteps: 50 }, { beta_start: 0.00001, beta_end: 0.0002 }, { beta_schedule: "scaled_linear" }, { prediction_type: "v_prediction" }, { use_beta_sigmas: true }, { use_exponential_sigmas: true }, { use_karras_sigmas: true }]) {
      expectRoundTrip(CLS, { ...BASE, ...extra });
    }
  });
  it("unknown keys and prediction_type sample (not implemented in diffusers) are errors naming the key", () => {
    expectArgumentError(() => createScheduler(CLS, { prediction_type: "sample" }), "prediction_type", /not implemented/);
    expectArgumentError(() => createScheduler(CLS, { sigma_min: 0.1 }), "sigma_min");
  });
});
