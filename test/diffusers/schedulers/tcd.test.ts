// TCDScheduler: diffusers' tests/schedulers/test_scheduler_tcd.py (deterministic full loops with gamma 0,
// custom timesteps and previous_timestep), gamma's two limits, and the keys its step does not apply.
import { describe, expect, it } from "vitest";
import { createScheduler, schedulerFromJson } from "../../../src/diffusers/schedulers/index.ts";
import { DDIMScheduler } from "../../../src/diffusers/schedulers/ddim.ts";
import { TCDScheduler } from "../../../src/diffusers/schedulers/tcd.ts";
import { dummyModel, dummyNoiseDeter, dummySampleDeter } from "../../support/diffusers-dummies.ts";
import { expectArgumentError } from "../../support/errors.ts";
import { expectSumMean, maxAbsDiff } from "./vp-support.ts";

const CONFIG = { num_train_timesteps: 1000, beta_start: 0.00085, beta_end: 0.012, beta_schedule: "scaled_linear", prediction_type: "epsilon" };

function fullLoop(n: number): Float32Array {
  const s = new TCDScheduler(CONFIG);
  s.setTimesteps(n);
  let sample = dummySampleDeter();
  for (const t of s.timesteps) sample = s.step(dummyModel(sample, t), t, sample, { eta: 0 }).prevSample;
  return sample;
}

describe("TCDScheduler: diffusers' test_scheduler_tcd.py", () => {
  it("test_full_loop_onestep_deter", () => expectSumMean(fullLoop(1), 29.8715, 0.0389, 1e-3, 1e-3));
  it("test_full_loop_multistep_deter", () => expectSumMean(fullLoop(10), 181.204, 0.2359, 1e-3, 1e-3));
  it("test_custom_timesteps: previous_timestep walks the table, -1 after the last", () => {
    const s = new TCDScheduler(CONFIG);
    const ts = [100, 87, 50, 1, 0];
    s.setTimesteps(null, { timesteps: ts });
    ts.forEach((t, i) => expect(s.previousTimestep(t)).toBe(i === ts.length - 1 ? -1 : ts[i + 1]));
  });
  it("test_custom_timesteps_increasing_order / _passing_both / _too_large", () => {
    const s = new TCDScheduler(CONFIG);
    expectArgumentError(() => s.setTimesteps(null, { timesteps: [100, 87, 50, 51, 0] }), "timesteps", /descending/);
    expectArgumentError(() => s.setTimesteps(5, { timesteps: [100, 87, 50, 1, 0] }), "timesteps");
    expectArgumentError(() => s.setTimesteps(null, { timesteps: [1000] }), "timesteps");
  });
  it("configs round-trip; clip_sample / thresholding true are refused (diffusers' TCD step ignores them)", () => {
    for (const c of [{}, { prediction_type: "v_prediction" }, { beta_schedule: "linear", beta_start: 0.0001, beta_end: 0.002 }, { original_inference_steps: 100 }]) {
      const s = createScheduler("TCDScheduler", { ...CONFIG, ...c });
      expect(schedulerFromJson(s.toJson()).toJson()).toBe(s.toJson());
    }
    expectArgumentError(() => new TCDScheduler({ clip_sample: true }), "clip_sample", /never clips/);
    expectArgumentError(() => new TCDScheduler({ thresholding: true }), "thresholding");
  });
});

describe("TCD's gamma", () => {
  it("gamma 0 is DDIM between the run's timesteps (until the last step, which lands at s = 0)", () => {
    const tcd = new TCDScheduler({ ...CONFIG, clip_sample: false });
    const ddim = new DDIMScheduler({ ...CONFIG, clip_sample: false, timestep_spacing: "leading" });
    tcd.setTimesteps(null, { timesteps: [999, 799, 599, 399, 199] });
    ddim.setTimesteps(5);
    expect(Array.from(ddim.timesteps)).toEqual([800, 600, 400, 200, 0]);
    // one step from the same state: TCD 799 -> 599 equals DDIM's formula at those timesteps
    const x = dummySampleDeter();
    const m = dummyNoiseDeter();
    tcd.step(m, 999, x, { eta: 0 });
    const a = tcd.step(m, 799, x, { eta: 0 }).prevSample;
    const ab = tcd.alphasCumprod[799];
    const ap = tcd.alphasCumprod[599];
    const want = x.map((v, j) => Math.sqrt(ap) * ((v - Math.sqrt(1 - ab) * m[j]) / Math.sqrt(ab)) + Math.sqrt(1 - ap) * m[j]);
    expect(maxAbsDiff(a, want)).toBeLessThan(1e-5);
  });
  it("gamma > 0 needs noise; gamma outside [0, 1] names eta", () => {
    const s = new TCDScheduler(CONFIG);
    s.setTimesteps(4);
    const x = dummySampleDeter();
    expectArgumentError(() => s.step(x, s.timesteps[0], x, { eta: 0.3 }), "noise");
    expectArgumentError(() => s.step(x, s.timesteps[0], x, { eta: 1.5 }), "eta");
  });
});
