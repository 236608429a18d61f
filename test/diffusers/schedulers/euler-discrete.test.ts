// diffusers' tests/schedulers/test_scheduler_euler.py, ported: its full loops over the dummy model with
// their expected sums and tolerances (CPU values), the custom timesteps / sigmas equivalences, and the
// config laws of SchedulerCommonTest.
import { describe, expect, it } from "vitest";
import { createScheduler, schedulerFromJson } from "../../../src/diffusers/schedulers/index.ts";
import { expectArgumentError } from "../../support/errors.ts";
import { expectAddNoise, expectRoundTrip, expectSumMean } from "./laws.ts";
import { runLoop } from "./loop.ts";

const CLS = "EulerDiscreteScheduler";
const BASE = { num_train_timesteps: 1100, beta_start: 0.0001, beta_end: 0.02, beta_schedule: "linear" };
const make = (extra: Record<string, unknown> = {}, steps = 10) => {
  const s = createScheduler(CLS, { ...BASE, ...extra });
  s.setTimesteps(steps);
  return s;
};

describe("EulerDiscreteScheduler: diffusers' full loops", () => {
  it("test_full_loop_no_noise", () => expectSumMean(runLoop(make()), 10.0807, 1e-2, 0.0131, 1e-3));
  it("test_full_loop_with_v_prediction", () => expectSumMean(runLoop(make({ prediction_type: "v_prediction" })), 0.0002, 1e-2, 2.2676e-6, 1e-3));
  it("test_full_loop_device", () => expectSumMean(runLoop(make()), 10.0807, 1e-2, 0.0131, 1e-3));
  it("test_full_loop_device_karras_sigmas", () =>
    expectSumMean(runLoop(make({ use_karras_sigmas: true })), 124.52299499511719, 1e-2, 0.16213932633399963, 1e-3));
  it("test_full_loop_with_noise", () => expectSumMean(runLoop(make(), { tStart: 8 }), 57062.9297, 1e-2, 74.3007, 1e-3));

  // full_loop_custom_timesteps / _sigmas: the run rebuilt from its own timesteps (or sigmas) is the same run
  it("test_custom_timesteps", () => {
    for (const prediction_type of ["epsilon", "sample", "v_prediction"]) {
      for (const interpolation_type of ["linear", "log_linear"]) {
        for (const final_sigmas_type of ["sigma_min", "zero"]) {
          const config = { ...BASE, prediction_type, interpolation_type, final_sigmas_type };
          const a = make(config);
          const b = createScheduler(CLS, config);
          b.setTimesteps(null, { timesteps: a.timesteps });
          let d = 0;
          const ra = runLoop(a).sample;
          const rb = runLoop(b).sample;
          for (let j = 0; j < ra.length; j++) d += Math.abs(ra[j] - rb[j]);
          expect(d, `${prediction_type} ${interpolation_type} ${final_sigmas_type}`).toBeLessThan(1e-5);
        }
      }
    }
  });
  it("test_custom_sigmas", () => {
    for (const prediction_type of ["epsilon", "sample", "v_prediction"]) {
      for (const final_sigmas_type of ["sigma_min", "zero"]) {
        const config = { ...BASE, prediction_type, final_sigmas_type };
        const a = make(config);
        const b = createScheduler(CLS, config);
        b.setTimesteps(null, { sigmas: a.sigmas });
        let d = 0;
        const ra = runLoop(a).sample;
        const rb = runLoop(b).sample;
        for (let j = 0; j < ra.length; j++) d += Math.abs(ra[j] - rb[j]);
        expect(d, `${prediction_type} ${final_sigmas_type}`).toBeLessThan(1e-5);
      }
    }
  });
});

describe("EulerDiscreteScheduler: tables and laws", () => {
  it("linspace timesteps over 1100 training steps and their interpolated sigmas, then 0", () => {
    const s = make();
    expect(Array.from(s.timesteps)).toEqual([1099, 976.888916015625, 854.7777709960938, 732.6666870117188, 610.5555419921875, 488.4444580078125, 366.3333435058594, 244.22222900390625, 122.11111450195312, 0]);
    expect(s.sigmas?.length).toBe(11);
    expect(s.sigmas?.[10]).toBe(0);
    expect(s.initNoiseSigma).toBe(s.sigmas?.[0]);
    // leading spacing: sqrt(sigma_max^2 + 1), and steps_offset shifts the timesteps
    const lead = make({ timestep_spacing: "leading", steps_offset: 1 });
    expect(Array.from(lead.timesteps)).toEqual([991, 881, 771, 661, 551, 441, 331, 221, 111, 1]);
    expect(lead.initNoiseSigma).toBe(Math.fround(Math.sqrt(Math.fround(lead.sigmas![0] ** 2 + 1))));
    expect(Array.from(make({ timestep_spacing: "trailing" }).timesteps)).toEqual([1099, 989, 879, 769, 659, 549, 439, 329, 219, 109]);
  });
  it("Karras sigmas span the whole training table (or sigma_min / sigma_max) with timesteps mapped back", () => {
    const s = make({ use_karras_sigmas: true });
    const full = make({}, 1100);
    expect(s.sigmas?.[0]).toBe(full.sigmas?.[0]);
    expect(s.sigmas?.[9]).toBeCloseTo(full.sigmas![1099], 6);
    expect(s.timesteps[0]).toBeCloseTo(1099, 3);
    expect(s.timesteps[9]).toBeCloseTo(0, 3);
    const r = make({ use_karras_sigmas: true, sigma_min: 0.02, sigma_max: 700 });
    expect(r.sigmas?.[0]).toBe(700);
    expect(r.sigmas?.[9]).toBe(Math.fround(0.02));
  });
  it("exponential and beta sigmas run from sigma_max to sigma_min", () => {
    for (const key of ["use_exponential_sigmas", "use_beta_sigmas"]) {
      const s = make({ [key]: true });
      const z = make();
      expect(s.sigmas?.[0], key).toBe(z.sigmas?.[0]);
      expect(s.sigmas?.[9], key).toBeCloseTo(z.sigmas![9], 6);
      for (let i = 1; i < 10; i++) expect(s.sigmas![i], key).toBeLessThan(s.sigmas![i - 1]);
    }
  });
  it("final_sigmas_type sigma_min ends on the first training sigma; continuous v-prediction timesteps are log(sigma) / 4", () => {
    const s = make({ final_sigmas_type: "sigma_min" });
    expect(s.sigmas?.[10]).toBe(make({}, 1100).sigmas?.[1099]);
    const c = make({ timestep_type: "continuous", prediction_type: "v_prediction" });
    expect(c.timesteps[0]).toBeCloseTo(0.25 * Math.log(c.sigmas![0]), 6);
  });
  it("scale_model_input divides by sqrt(sigma^2 + 1); add_noise adds sigma n", () => {
    const s = make();
    const x = Float32Array.of(1, -2, 3, 0.5);
    const sig = s.sigmas![0];
    const y = s.scaleModelInput(x, s.timesteps[0]);
    for (let j = 0; j < 4; j++) expect(y[j]).toBeCloseTo(x[j] / Math.sqrt(sig * sig + 1), 6);
    expectAddNoise(make());
  });
  it("get_velocity: sqrt(abar) n - sqrt(1 - abar) x, abar read at t's position in the run (as diffusers indexes it)", () => {
    const s = make();
    const x = Float32Array.of(0.5, -1, 2, 0.25);
    const n = Float32Array.of(1, 0.5, -0.5, 2);
    const full = createScheduler(CLS, BASE);
    // the position of timesteps[3] is 3: diffusers reads alphas_cumprod[3], a training-table entry
    const sigma3 = full.sigmas![1100 - 1 - 3];
    const abar = 1 / (1 + sigma3 * sigma3);
    const v = s.getVelocity!(x, n, [s.timesteps[3]]);
    for (let j = 0; j < 4; j++) expect(v[j]).toBeCloseTo(Math.sqrt(abar) * n[j] - Math.sqrt(1 - abar) * x[j], 5);
    expectArgumentError(() => s.getVelocity!(x, n, [3.5]), "t");
  });
  it("churn (s_churn > 0) draws noise: from opts.noise, opts.rng, else an error naming noise", () => {
    const s = make();
    const x = new Float32Array(8).fill(1);
    expectArgumentError(() => s.step(x, s.timesteps[0], x, { sChurn: 1 }), "noise");
    const a = make();
    const b = make();
    const z = new Float32Array(8).fill(0.5);
    const ra = a.step(x, a.timesteps[0], x, { sChurn: 1, noise: z }).prevSample;
    const rb = b.step(x, b.timesteps[0], x, {}).prevSample;
    expect(Array.from(ra)).not.toEqual(Array.from(rb));
  });
  it("check_over_configs: every config of the suite survives scheduler_config.json, with identical steps", () => {
    for (const extra of [
      {},
      { num_train_timesteps: 10 },
      { num_train_timesteps: 50 },
      { num_train_timesteps: 100 },
      { num_train_timesteps: 1000 },
      { beta_start: 0.00001, beta_end: 0.0002 },
      { beta_start: 0.001, beta_end: 0.02 },
      { beta_schedule: "scaled_linear" },
      { prediction_type: "v_prediction" },
      { prediction_type: "sample" },
      { timestep_type: "continuous" },
      { timestep_type: "continuous", prediction_type: "v_prediction" },
      { use_karras_sigmas: true, sigma_min: 0.02, sigma_max: 700.0 },
      { rescale_betas_zero_snr: true },
      { use_beta_sigmas: true },
      { use_exponential_sigmas: true },
      { interpolation_type: "log_linear", final_sigmas_type: "sigma_min" },
      { trained_betas: Array.from({ length: 1100 }, (_, i) => 0.0001 + (0.02 - 0.0001) * (i / 1099)) },
    ]) {
      expectRoundTrip(CLS, { ...BASE, ...extra }, extra.num_train_timesteps === 10 ? 5 : 10);
    }
  });
  it("unknown keys, unsupported values, two sigma spacings and bad calls are errors naming the argument", () => {
    expectArgumentError(() => createScheduler(CLS, { clip_sample: true }), "clip_sample");
    expectArgumentError(() => createScheduler(CLS, { beta_schedule: "sigmoid" }), "beta_schedule");
    expectArgumentError(() => createScheduler(CLS, { interpolation_type: "cubic" }), "interpolation_type");
    expectArgumentError(() => createScheduler(CLS, { use_karras_sigmas: true, use_beta_sigmas: true }), "use_beta_sigmas");
    expectArgumentError(() => createScheduler(CLS, { final_sigmas_type: "one" }), "final_sigmas_type");
    const s = createScheduler(CLS, { use_karras_sigmas: true });
    expectArgumentError(() => s.setTimesteps(null, { timesteps: [999, 500, 0] }), "timesteps");
    expectArgumentError(() => s.setTimesteps(5, { sigmas: [3, 2, 0] }), "numInferenceSteps");
    const r = make();
    expectArgumentError(() => r.step(new Float32Array(4), 12345, new Float32Array(4)), "t");
    expectArgumentError(() => r.step(new Float32Array(4), r.timesteps[0], new Float32Array(5)), "modelOutput");
    expect(() => schedulerFromJson('{"_class_name": "EulerDiscreteScheduler", "use_karras_sigmas": 1}')).toThrow(/use_karras_sigmas/);
  });
});
