// PNDMScheduler: diffusers' tests/schedulers/test_scheduler_pndm.py (full loops with the PRK warm-up,
// timesteps with steps_offset, the PRK step-count check), PLMS with skip_prk_steps against the library's
// samplePlms on the same sigmas, and the config checks.
import { describe, expect, it } from "vitest";
import { createScheduler, runSchedulerLoop, schedulerDenoiser, schedulerFromJson, schedulerSigmas } from "../../../src/diffusers/index.ts";
import { PNDMScheduler } from "../../../src/diffusers/schedulers/pndm.ts";
import { Rng } from "../../../src/rng.ts";
import { samplePlms } from "../../../src/samplers/plms.ts";
import { dummyModel, dummySampleDeter } from "../../support/diffusers-dummies.ts";
import { expectArgumentError } from "../../support/errors.ts";
import { expectSumMean } from "./vp-support.ts";

const CONFIG = { num_train_timesteps: 1000, beta_start: 0.0001, beta_end: 0.02, beta_schedule: "linear" };

/** full_loop: the PRK timesteps with step_prk, then the PLMS timesteps with step_plms (= step over all timesteps). */
function fullLoop(extra: Record<string, unknown> = {}): Float32Array {
  const s = new PNDMScheduler({ ...CONFIG, ...extra });
  s.setTimesteps(10);
  let sample = dummySampleDeter();
  for (const t of s.timesteps) sample = s.step(dummyModel(sample, t), t, sample).prevSample;
  return sample;
}

describe("PNDMScheduler: diffusers' test_scheduler_pndm.py", () => {
  it("test_full_loop_no_noise", () => expectSumMean(fullLoop(), 198.1318, 0.258));
  it("test_full_loop_with_v_prediction", () => expectSumMean(fullLoop({ prediction_type: "v_prediction" }), 67.3986, 0.0878));
  it("test_full_loop_with_set_alpha_to_one", () => expectSumMean(fullLoop({ set_alpha_to_one: true, beta_start: 0.01 }), 230.0399, 0.2995));
  it("test_full_loop_with_no_set_alpha_to_one", () => expectSumMean(fullLoop({ set_alpha_to_one: false, beta_start: 0.01 }), 186.9482, 0.2434));
  it("test_steps_offset: the PRK timesteps (t, t - d/2 twice, ...) then PLMS", () => {
    const s = new PNDMScheduler({ ...CONFIG, steps_offset: 1 });
    s.setTimesteps(10);
    expect(Array.from(s.timesteps)).toEqual([901, 851, 851, 801, 801, 751, 751, 701, 701, 651, 651, 601, 601, 501, 401, 301, 201, 101, 1]);
  });
  it("test_pndm_low_inference_steps_prk_validation", () => {
    const s = new PNDMScheduler({ ...CONFIG, skip_prk_steps: false });
    for (const n of [1, 2, 3]) expectArgumentError(() => s.setTimesteps(n), "numInferenceSteps", /must be >= 4/);
    s.setTimesteps(4);
    const k = new PNDMScheduler({ ...CONFIG, skip_prk_steps: true });
    for (const n of [1, 2, 3, 4]) k.setTimesteps(n);
  });
  it("test_pow_of_3_inference_steps: 27 steps run", () => {
    const s = new PNDMScheduler(CONFIG);
    s.setTimesteps(27);
    let x = dummySampleDeter();
    for (const t of s.prkTimesteps.slice(0, 2)) x = s.step(x.map((v) => 0.1 * v), t, x).prevSample;
    expect(Number.isFinite(x[0])).toBe(true);
  });
  it("test_inference_plms_no_past_residuals: a step before setTimesteps, or out of order, is an error naming t", () => {
    const s = new PNDMScheduler(CONFIG);
    expectArgumentError(() => s.step(dummySampleDeter(), 1, dummySampleDeter()), "t");
    s.setTimesteps(10);
    expectArgumentError(() => s.step(dummySampleDeter(), 850, dummySampleDeter()), "t", /must be 900/);
  });
  it("configs of test_timesteps / _steps_offset / _betas / _schedules / _prediction_type round-trip; sample prediction is refused", () => {
    for (const c of [{}, { num_train_timesteps: 100 }, { steps_offset: 1 }, { beta_start: 0.001, beta_end: 0.02 }, { beta_schedule: "squaredcos_cap_v2" }, { prediction_type: "v_prediction" }, { skip_prk_steps: true }]) {
      const s = createScheduler("PNDMScheduler", { ...CONFIG, ...c });
      expect(schedulerFromJson(s.toJson()).toJson()).toBe(s.toJson());
    }
    expectArgumentError(() => new PNDMScheduler({ prediction_type: "sample" }), "prediction_type");
    expectArgumentError(() => new PNDMScheduler({ clip_sample: true }), "clip_sample", /not a PNDMScheduler setting/);
  });
});

describe("PLMS: the scheduler (skip_prk_steps) and the library's samplePlms take the same steps", () => {
  const B = 2;
  const N = 5;
  const net = (x: Float32Array, t: ArrayLike<number>, batch: number) => {
    const n = x.length / batch;
    return x.map((v, j) => 0.7 * Math.tanh(v) * (1 + t[Math.floor(j / n)] / 800) + 0.03 * Math.cos(j + t[Math.floor(j / n)] / 50));
  };
  it("same sigmas, same model: the samples agree to float32 rounding (1e-5 relative)", () => {
    const cfg = { ...CONFIG, skip_prk_steps: true, set_alpha_to_one: true };
    const latents = new Rng(4).randn(B, N);
    const sched = runSchedulerLoop(createScheduler("PNDMScheduler", cfg), (x, t) => net(x, new Float64Array(B).fill(t), B), latents, { steps: 12 });
    const s = createScheduler("PNDMScheduler", cfg);
    s.setTimesteps(12);
    // the run's distinct timesteps (the repeated one is PLMS's second evaluation), as DDIM's with a closing 0
    const ts = [...new Set(s.timesteps)];
    const d = createScheduler("DDIMScheduler", CONFIG);
    d.setTimesteps(12);
    const sigmas = schedulerSigmas(d);
    expect(Array.from(d.timesteps)).toEqual(ts);
    const x = Float32Array.from(latents, (v) => v * Math.sqrt(1 + sigmas[0] * sigmas[0]));
    const lib = samplePlms(schedulerDenoiser(s, net), x, sigmas, { batch: B }).x;
    let worst = 0;
    for (let j = 0; j < lib.length; j++) worst = Math.max(worst, Math.abs(lib[j] - sched[j]) / Math.max(1, Math.abs(sched[j])));
    expect(worst).toBeLessThan(1e-5);
  });
  it("samplePlms resumes to the same bytes", () => {
    const s = createScheduler("DDIMScheduler", CONFIG);
    s.setTimesteps(8);
    const sigmas = schedulerSigmas(s);
    const den = schedulerDenoiser(s, net);
    const x = new Rng(2).randn(B, N).map((v) => v * sigmas[0]);
    const whole = samplePlms(den, x, sigmas, { batch: B });
    const a = samplePlms(den, x, sigmas, { batch: B, maxSteps: 3 });
    const carry = JSON.parse(JSON.stringify(a.carry));
    const b = samplePlms(den, a.x, sigmas, { batch: B, from: { step: a.step, carry } });
    expect(Array.from(b.x)).toEqual(Array.from(whole.x));
  });
});
