// diffusers' tests/schedulers/test_scheduler_euler_ancestral.py, ported (CPU values): the loops draw
// each step's noise from torch.manual_seed(0), passed in as opts.noise.
import { describe, expect, it } from "vitest";
import { createScheduler } from "../../../src/diffusers/schedulers/index.ts";
import { Rng } from "../../../src/rng.ts";
import { expectArgumentError } from "../../support/errors.ts";
import { expectAddNoise, expectRoundTrip, expectSumMean } from "./laws.ts";
import { runLoop } from "./loop.ts";

const CLS = "EulerAncestralDiscreteScheduler";
const BASE = { num_train_timesteps: 1100, beta_start: 0.0001, beta_end: 0.02, beta_schedule: "linear" };
const make = (extra: Record<string, unknown> = {}) => {
  const s = createScheduler(CLS, { ...BASE, ...extra });
  s.setTimesteps(10);
  return s;
};
const everyStep = { drawsNoise: () => true };

describe("EulerAncestralDiscreteScheduler: diffusers' full loops", () => {
  it("test_full_loop_no_noise", () => expectSumMean(runLoop(make(), everyStep), 152.3192, 1e-2, 0.1983, 1e-3));
  it("test_full_loop_with_v_prediction", () => expectSumMean(runLoop(make({ prediction_type: "v_prediction" }), everyStep), 108.4439, 1e-2, 0.1412, 1e-3));
  it("test_full_loop_device", () => expectSumMean(runLoop(make(), everyStep), 152.3192, 1e-2, 0.1983, 1e-3));
  it("test_full_loop_with_noise", () => expectSumMean(runLoop(make(), { ...everyStep, tStart: 8 }), 56163.0508, 1e-2, 73.129, 1e-3));
});

describe("EulerAncestralDiscreteScheduler: laws", () => {
  it("each step needs noise (opts.noise or opts.rng) except the last, to sigma = 0", () => {
    const s = make();
    const x = new Float32Array(6).fill(0.3);
    expectArgumentError(() => s.step(x, s.timesteps[0], x), "noise");
    const a = make();
    const b = make();
    const ra = a.step(x, a.timesteps[0], x, { rng: new Rng(1), shape: [2, 3] }).prevSample;
    const rb = b.step(x, b.timesteps[0], x, { noise: new Rng(1).stream(0).randn(2, 3) }).prevSample;
    expect(Array.from(ra)).toEqual(Array.from(rb));
    for (let i = 0; i < 9; i++) make(); // fresh runs stay independent
    const c = make();
    for (let i = 0; i < 9; i++) c.step(x, c.timesteps[i], x, { noise: x });
    expect(c.step(x, c.timesteps[9], x).prevSample.every(Number.isFinite)).toBe(true);
  });
  it("add_noise", () => expectAddNoise(make()));
  it("check_over_configs round trips", () => {
    for (const extra of [{}, { num_train_timesteps: 50 }, { num_train_timesteps: 1000 }, { beta_start: 0.00001, beta_end: 0.0002 }, { beta_schedule: "scaled_linear" }, { prediction_type: "v_prediction" }, { rescale_betas_zero_snr: true }, { timestep_spacing: "trailing" }, { timestep_spacing: "leading", steps_offset: 1 }]) {
      expectRoundTrip(CLS, { ...BASE, ...extra });
    }
  });
  it("unknown keys and prediction_type sample (NotImplementedError in diffusers) are errors naming the key", () => {
    expectArgumentError(() => createScheduler(CLS, { use_karras_sigmas: true }), "use_karras_sigmas");
    expectArgumentError(() => createScheduler(CLS, { prediction_type: "sample" }), "prediction_type", /not implemented/);
    expectArgumentError(() => make().setTimesteps(null, { timesteps: [5, 1] }), "timesteps");
  });
});
