// diffusers' tests/schedulers/test_scheduler_heun.py, ported (CPU values): two step calls per sigma.
import { describe, expect, it } from "vitest";
import { createScheduler } from "../../../src/diffusers/schedulers/index.ts";
import { expectArgumentError } from "../../support/errors.ts";
import { expectAddNoise, expectRoundTrip, expectSumMean } from "./laws.ts";
import { runLoop } from "./loop.ts";

const CLS = "HeunDiscreteScheduler";
const BASE = { num_train_timesteps: 1100, beta_start: 0.0001, beta_end: 0.02, beta_schedule: "linear" };
const make = (extra: Record<string, unknown> = {}) => {
  const s = createScheduler(CLS, { ...BASE, ...extra });
  s.setTimesteps(10);
  return s;
};

describe("HeunDiscreteScheduler: diffusers' full loops", () => {
  it("test_full_loop_no_noise", () => expectSumMean(runLoop(make()), 0.1233, 1e-2, 0.0002, 1e-3));
  it("test_full_loop_with_v_prediction", () => expectSumMean(runLoop(make({ prediction_type: "v_prediction" })), 4.6934e-7, 1e-2, 6.1112e-10, 1e-3));
  it("test_full_loop_device", () => expectSumMean(runLoop(make()), 0.1233, 1e-2, 0.0002, 1e-3));
  it("test_full_loop_device_karras_sigmas", () => expectSumMean(runLoop(make({ use_karras_sigmas: true })), 0.00015, 1e-2, 1.9869554535034695e-7, 1e-2));
  it("test_full_loop_with_noise", () => expectSumMean(runLoop(make(), { tStart: 8 }), 75074.8906, 1e-2, 97.7538, 1e-3));
  it("test_custom_timesteps", () => {
    for (const prediction_type of ["epsilon", "sample", "v_prediction"]) {
      for (const timestep_spacing of ["linspace", "leading"]) {
        const config = { ...BASE, prediction_type, timestep_spacing };
        const a = make(config);
        // diffusers passes timesteps[:1] + timesteps[1::2]: the run's timesteps without the repeats
        const ts = [a.timesteps[0], ...Array.from(a.timesteps).filter((_, i) => i % 2 === 1)];
        const b = createScheduler(CLS, config);
        b.setTimesteps(null, { timesteps: ts });
        const ra = runLoop(a).sample;
        const rb = runLoop(b).sample;
        let d = 0;
        for (let j = 0; j < ra.length; j++) d += Math.abs(ra[j] - rb[j]);
        expect(d, `${prediction_type} ${timestep_spacing}`).toBeLessThan(1e-5);
      }
    }
  });
});

describe("HeunDiscreteScheduler: tables and laws", () => {
  it("every sigma between the first and the last appears twice, and so does every timestep after the first", () => {
    const s = make();
    expect(s.timesteps.length).toBe(19);
    expect(s.sigmas?.length).toBe(20);
    for (let k = 1; k < 10; k++) {
      expect(s.sigmas?.[2 * k - 1]).toBe(s.sigmas?.[2 * k]);
      expect(s.timesteps[2 * k - 1]).toBe(s.timesteps[2 * k]);
    }
    expect(s.sigmas?.[19]).toBe(0);
  });
  it("clip_sample clamps the x0 estimate; the exp beta schedule builds", () => {
    const a = make({ clip_sample: true, clip_sample_range: 1 });
    const x = new Float32Array(4).fill(50);
    const r = a.step(new Float32Array(4), a.timesteps[0], x);
    expect(Array.from(r.predOriginalSample!)).toEqual([1, 1, 1, 1]);
    const e = make({ beta_schedule: "exp" });
    expect(e.sigmas!.every(Number.isFinite)).toBe(true);
  });
  it("add_noise", () => expectAddNoise(make()));
  it("check_over_configs round trips", () => {
    for (const extra of [{}, { num_train_timesteps: 50 }, { beta_start: 0.00001, beta_end: 0.0002 }, { beta_schedule: "scaled_linear" }, { beta_schedule: "exp" }, { clip_sample: true, clip_sample_range: 2.0 }, { prediction_type: "sample" }, { prediction_type: "v_prediction" }, { use_beta_sigmas: true }, { use_exponential_sigmas: true }, { use_karras_sigmas: true }]) {
      expectRoundTrip(CLS, { ...BASE, ...extra });
    }
  });
  it("unknown keys and bad values are errors naming the key", () => {
    expectArgumentError(() => createScheduler(CLS, { rescale_betas_zero_snr: true }), "rescale_betas_zero_snr");
    expectArgumentError(() => createScheduler(CLS, { clip_sample_range: -1 }), "clip_sample_range");
    expectArgumentError(() => createScheduler(CLS, { use_karras_sigmas: true }).setTimesteps(null, { timesteps: [9, 1] }), "timesteps");
  });
});
