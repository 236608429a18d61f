// LCMScheduler: diffusers' tests/schedulers/test_scheduler_lcm.py (one-step and multistep full loops
// with torch.manual_seed(0) noise, custom timesteps), and LCM's agreement with the library's sampleLcm.
import { describe, expect, it } from "vitest";
import { createScheduler, runSchedulerLoop, schedulerFromJson, schedulerSigmas } from "../../../src/diffusers/index.ts";
import { LCMScheduler } from "../../../src/diffusers/schedulers/lcm.ts";
import { Rng } from "../../../src/rng.ts";
import { sampleLcm } from "../../../src/samplers/lcm.ts";
import { dummyModel, dummySampleDeter, DUMMY_SHAPE } from "../../support/diffusers-dummies.ts";
import { expectArgumentError } from "../../support/errors.ts";
import { manualSeed } from "../../support/torch-rng.ts";
import { expectSumMean } from "./vp-support.ts";

const CONFIG = { num_train_timesteps: 1000, beta_start: 0.00085, beta_end: 0.012, beta_schedule: "scaled_linear", prediction_type: "epsilon" };

function fullLoop(n: number): Float32Array {
  const s = new LCMScheduler(CONFIG);
  const g = manualSeed(0);
  s.setTimesteps(n);
  let sample = dummySampleDeter();
  s.timesteps.forEach((t, i) => {
    const last = i === s.timesteps.length - 1;
    sample = s.step(dummyModel(sample, t), t, sample, { shape: [...DUMMY_SHAPE], ...(last ? {} : { noise: g.randn(sample.length) }) }).prevSample;
  });
  return sample;
}

describe("LCMScheduler: diffusers' test_scheduler_lcm.py", () => {
  it("test_full_loop_onestep", () => expectSumMean(fullLoop(1), 18.7097, 0.0244));
  // diffusers' test_full_loop_multistep expected sum 197.7616 / mean 0.2575 in earlier versions of
  // test_scheduler_lcm.py, which this reproduces to all four digits; later versions expect 280.5618 /
  // 0.3653 (the one-step value did not change). The cause of that change is not found yet: the assertion
  // here is the earlier one, and docs/samplers.md names the open difference.
  it("test_full_loop_multistep (diffusers' earlier expected value; see the note)", () => expectSumMean(fullLoop(10), 197.7616, 0.2575, 1e-3, 1e-3));
  it("the timesteps: a skipping subset of 19, 39, ..., 999", () => {
    const s = new LCMScheduler(CONFIG);
    s.setTimesteps(4);
    expect(Array.from(s.timesteps)).toEqual([999, 759, 499, 259]);
    s.setTimesteps(10);
    expect(s.timesteps[s.timesteps.length - 1]).toBe(99);
  });
  it("custom timesteps: descending, below T, not together with a count", () => {
    const s = new LCMScheduler(CONFIG);
    s.setTimesteps(null, { timesteps: [999, 600, 300, 19] });
    expect(Array.from(s.timesteps)).toEqual([999, 600, 300, 19]);
    expectArgumentError(() => s.setTimesteps(null, { timesteps: [100, 300] }), "timesteps", /descending/);
    expectArgumentError(() => s.setTimesteps(null, { timesteps: [1000] }), "timesteps");
    expectArgumentError(() => s.setTimesteps(4, { timesteps: [999, 19] }), "timesteps", /exactly one/);
    expectArgumentError(() => s.setTimesteps(60), "numInferenceSteps", /original_inference_steps/);
  });
  it("configs of test_betas / _schedules / _prediction_type / _clip_sample / _thresholding round-trip; keys are checked", () => {
    for (const c of [{}, { beta_schedule: "linear", beta_start: 0.0001, beta_end: 0.002 }, { beta_schedule: "squaredcos_cap_v2" }, { prediction_type: "v_prediction" }, { clip_sample: true }, { thresholding: true, sample_max_value: 0.5 }, { timestep_scaling: 5 }]) {
      const s = createScheduler("LCMScheduler", { ...CONFIG, ...c });
      expect(schedulerFromJson(s.toJson()).toJson()).toBe(s.toJson());
    }
    expectArgumentError(() => new LCMScheduler({ timestep_spacing: "trailing" }), "timestep_spacing");
    expectArgumentError(() => new LCMScheduler({ eta: 0.3 }), "eta", /not a LCMScheduler setting/);
  });
});

describe("LCM: the scheduler and the library's sampleLcm take the same steps", () => {
  it("a sample-predicting network with timestep_scaling large (c_skip ~ 0) against sampleLcm, same rng", () => {
    const B = 2;
    const N = 6;
    const cfg = { ...CONFIG, prediction_type: "sample", timestep_scaling: 1e6 };
    const x0Of = (x: Float32Array, t: number) => x.map((v, j) => 0.4 * Math.tanh(v) * (1 - t / 2000) + 0.02 * Math.sin(j));
    const latents = new Rng(3).randn(B, N);
    const sched = runSchedulerLoop(createScheduler("LCMScheduler", cfg), x0Of, latents, { steps: 4, shape: [B, N], rng: new Rng(7) });
    const s = createScheduler("LCMScheduler", cfg);
    s.setTimesteps(4);
    const sigmas = schedulerSigmas(s);
    const tOf = new Map<number, number>(Array.from(s.timesteps, (t, i) => [sigmas[i], t]));
    // the consistency function with c_skip = 0, c_out = 1 (to float32 rounding at this scaling): D = the model's x0
    const den = (x: Float32Array, sigma: Float64Array, batch: number) => {
      const t = tOf.get(sigma[0]) as number;
      return x0Of(x.map((v) => v / Math.sqrt(1 + sigma[0] * sigma[0])), t);
    };
    const x = Float32Array.from(latents, (v) => v * Math.sqrt(1 + sigmas[0] * sigmas[0]));
    const lib = sampleLcm(den, x, sigmas, { batch: B, rng: new Rng(7) }).x;
    let worst = 0;
    for (let j = 0; j < lib.length; j++) worst = Math.max(worst, Math.abs(lib[j] - sched[j]) / Math.max(1, Math.abs(sched[j])));
    expect(worst).toBeLessThan(1e-5);
  });
});
