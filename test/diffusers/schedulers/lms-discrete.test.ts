// diffusers' tests/schedulers/test_scheduler_lms.py, ported (CPU values).
import { describe, expect, it } from "vitest";
import { createScheduler } from "../../../src/diffusers/schedulers/index.ts";
import { expectArgumentError } from "../../support/errors.ts";
import { dummySampleDeter } from "../../support/diffusers-dummies.ts";
import { expectAddNoise, expectRoundTrip, expectSumMean } from "./laws.ts";
import { runLoop } from "./loop.ts";

const CLS = "LMSDiscreteScheduler";
const BASE = { num_train_timesteps: 1100, beta_start: 0.0001, beta_end: 0.02, beta_schedule: "linear" };
const make = (extra: Record<string, unknown> = {}) => {
  const s = createScheduler(CLS, { ...BASE, ...extra });
  s.setTimesteps(10);
  return s;
};

describe("LMSDiscreteScheduler: diffusers' full loops", () => {
  it("test_full_loop_no_noise", () => expectSumMean(runLoop(make()), 1006.388, 1e-2, 1.31, 1e-3));
  it("test_full_loop_with_v_prediction", () => expectSumMean(runLoop(make({ prediction_type: "v_prediction" })), 0.0017, 1e-2, 2.2676e-6, 1e-3));
  it("test_full_loop_device", () => expectSumMean(runLoop(make()), 1006.388, 1e-2, 1.31, 1e-3));
  it("test_full_loop_device_karras_sigmas", () => expectSumMean(runLoop(make({ use_karras_sigmas: true })), 3812.9927, 2e-2, 4.9648, 1e-3));
  it("test_full_loop_with_noise", () => expectSumMean(runLoop(make(), { tStart: 8 }), 27663.6895, 1e-2, 36.0204, 1e-3));
});

describe("LMSDiscreteScheduler: laws", () => {
  it("test_time_indices: stepping from timesteps 0, 500, 800 of the full table keeps the shape", () => {
    for (const t of [0, 500, 800]) {
      const s = createScheduler(CLS, BASE); // set to all 1100 timesteps by the constructor, as diffusers'
      const x = dummySampleDeter();
      const out = s.step(s.scaleModelInput(x, t).map((v) => 0.1 * v), t, x).prevSample;
      expect(out.length).toBe(x.length);
      expect(out.every(Number.isFinite)).toBe(true);
    }
  });
  it("the step's order option: order 1 is Euler's step", () => {
    const a = make();
    const b = createScheduler("EulerDiscreteScheduler", BASE);
    b.setTimesteps(10);
    const x = dummySampleDeter();
    for (let i = 0; i < 3; i++) {
      const ra = a.step(x.map((v) => 0.1 * v), a.timesteps[i], x, { order: 1 }).prevSample;
      const rb = b.step(x.map((v) => 0.1 * v), b.timesteps[i], x).prevSample;
      for (let j = 0; j < x.length; j += 97) expect(ra[j]).toBeCloseTo(rb[j], 5);
    }
  });
  it("add_noise", () => expectAddNoise(make()));
  it("check_over_configs round trips", () => {
    for (const extra of [{}, { num_train_timesteps: 50 }, { num_train_timesteps: 1000 }, { beta_start: 0.001, beta_end: 0.02 }, { beta_schedule: "scaled_linear" }, { prediction_type: "v_prediction" }, { use_beta_sigmas: true }, { use_exponential_sigmas: true }, { use_karras_sigmas: true }]) {
      expectRoundTrip(CLS, { ...BASE, ...extra });
    }
  });
  it("unknown keys and bad values are errors naming the key", () => {
    expectArgumentError(() => createScheduler(CLS, { final_sigmas_type: "zero" }), "final_sigmas_type");
    expectArgumentError(() => createScheduler(CLS, { timestep_spacing: "uniform" }), "timestep_spacing");
    expectArgumentError(() => createScheduler(CLS, { use_karras_sigmas: true, use_exponential_sigmas: true }), "use_exponential_sigmas");
    const s = make();
    expectArgumentError(() => s.step(new Float32Array(4), s.timesteps[0], new Float32Array(4), { order: 0 }), "order");
  });
});
