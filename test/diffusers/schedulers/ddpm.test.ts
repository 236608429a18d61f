// DDPMScheduler and DDPMParallelScheduler: diffusers' tests/schedulers/test_scheduler_ddpm.py and
// test_scheduler_ddpm_parallel.py (full loops with torch.manual_seed(0) noise, variances, custom
// timesteps), the recorded DDPM loop, and what diffusers does that the old bridge did not.
import { describe, expect, it } from "vitest";
import { createScheduler, schedulerFromJson } from "../../../src/diffusers/schedulers/index.ts";
import { DDPMParallelScheduler, DDPMScheduler } from "../../../src/diffusers/schedulers/ddpm.ts";
import { dummyModel, dummyNoiseDeter, dummySampleDeter, DUMMY_SHAPE } from "../../support/diffusers-dummies.ts";
import { expectArgumentError } from "../../support/errors.ts";
import { manualSeed } from "../../support/torch-rng.ts";
import { dummyModelPerItem, expectSumMean, maxAbsDiff, readLoop, replay } from "./vp-support.ts";

const CONFIG = { num_train_timesteps: 1000, beta_start: 0.0001, beta_end: 0.02, beta_schedule: "linear", variance_type: "fixed_small", clip_sample: true };
const SHAPE = [...DUMMY_SHAPE];

for (const cls of ["DDPMScheduler", "DDPMParallelScheduler"] as const) {
  describe(`${cls}: diffusers' test_scheduler_${cls === "DDPMScheduler" ? "ddpm" : "ddpm_parallel"}.py`, () => {
    /** The 1000-step loop without set_timesteps; the generator draws one randn(768) per step with t > 0. */
    const loopAll = (extra: Record<string, unknown> = {}) => {
      const s = createScheduler(cls, { ...CONFIG, ...extra });
      const g = manualSeed(0);
      let sample = dummySampleDeter();
      for (let t = 999; t >= 0; t--) {
        const residual = dummyModel(sample, t);
        sample = s.step(residual, t, sample, { shape: SHAPE, ...(t > 0 ? { noise: g.randn(sample.length) } : {}) }).prevSample;
      }
      return sample;
    };

    it("test_full_loop_no_noise", () => expectSumMean(loopAll(), 258.9606, 0.3372));
    it("test_full_loop_with_v_prediction", () => expectSumMean(loopAll({ prediction_type: "v_prediction" }), 202.0296, 0.2631));

    it("test_full_loop_with_noise", () => {
      const s = createScheduler(cls, CONFIG);
      const g = manualSeed(0);
      const timesteps = Array.from(s.timesteps.slice(998 * s.order));
      expect(timesteps).toEqual([1, 0]);
      let sample = s.addNoise(dummySampleDeter(), dummyNoiseDeter(), timesteps[0]);
      for (const t of timesteps) {
        const residual = dummyModel(sample, t);
        sample = s.step(residual, t, sample, { shape: SHAPE, ...(t > 0 ? { noise: g.randn(sample.length) } : {}) }).prevSample;
      }
      expectSumMean(sample, 387.9466, 0.5051);
    });

    it("test_variance", () => {
      const s = createScheduler(cls, CONFIG) as DDPMScheduler;
      expect(Math.abs(s.getVariance(0) - 0)).toBeLessThan(1e-5);
      expect(Math.abs(s.getVariance(487) - 0.00979)).toBeLessThan(1e-5);
      expect(Math.abs(s.getVariance(999) - 0.02)).toBeLessThan(1e-5);
    });

    it("test_custom_timesteps: previous_timestep walks the given table, -1 after the last", () => {
      const s = createScheduler(cls, CONFIG) as DDPMScheduler;
      const ts = [100, 87, 50, 1, 0];
      s.setTimesteps(null, { timesteps: ts });
      ts.forEach((t, i) => expect(s.previousTimestep(t)).toBe(i === ts.length - 1 ? -1 : ts[i + 1]));
    });

    it("test_custom_timesteps_increasing_order, _passing_both, _too_large", () => {
      const s = createScheduler(cls, CONFIG);
      expectArgumentError(() => s.setTimesteps(null, { timesteps: [100, 87, 50, 51, 0] }), "timesteps", /descending/);
      expectArgumentError(() => s.setTimesteps(5, { timesteps: [100, 87, 50, 1, 0] }), "timesteps", /not both/);
      expectArgumentError(() => s.setTimesteps(null, { timesteps: [1000] }), "timesteps", /below num_train_timesteps/);
    });

    it("test_prediction_type / test_thresholding / test_clip_sample / test_variance_type configs round-trip through schedulerFromJson", () => {
      const configs: Record<string, unknown>[] = [
        CONFIG,
        { ...CONFIG, prediction_type: "v_prediction" },
        { ...CONFIG, prediction_type: "sample" },
        { ...CONFIG, clip_sample: false },
        { ...CONFIG, variance_type: "fixed_large" },
        { ...CONFIG, beta_schedule: "squaredcos_cap_v2" },
        { ...CONFIG, rescale_betas_zero_snr: true },
        ...[0.5, 1, 2].flatMap((v) => (["epsilon", "sample", "v_prediction"] as const).map((p) => ({ ...CONFIG, thresholding: true, prediction_type: p, sample_max_value: v }))),
      ];
      for (const c of configs) {
        const s = createScheduler(cls, c);
        const back = schedulerFromJson(s.toJson());
        expect(back.className).toBe(cls);
        expect(back.toJson()).toBe(s.toJson());
        const { _class_name: _c, ...cfg } = back.config;
        expect(cfg).toEqual(s.config);
      }
    });
  });
}

describe("DDPMParallelScheduler.batchStepNoNoise", () => {
  it("test_batch_step_no_noise: three copies at timesteps 0, 1, 2 (no setTimesteps: prev = t - 1)", () => {
    const s = new DDPMParallelScheduler(CONFIG);
    const base = dummySampleDeter();
    const samples = new Float32Array(base.length * 3);
    [0, 0.1, -0.1].forEach((d, k) => samples.set(base.map((v) => Math.fround(v + d)), k * base.length));
    const ts = [0, 1, 2].flatMap((t) => [t, t, t, t]);
    const residual = dummyModelPerItem(samples, ts);
    expectSumMean(s.batchStepNoNoise(residual, ts, samples), 1153.1833, 0.5005);
  });
});

describe("DDPMScheduler: the recorded diffusers loop (fixtures/pipelines/ddpm)", () => {
  it("replays each step from diffusers' state within 1e-6 and the whole loop within 1e-5", () => {
    const loop = readLoop("ddpm");
    const s = schedulerFromJson(loop.config);
    const r = replay(s, loop, (i) => (loop.noise.has(i) ? { noise: loop.noise.get(i) } : {}));
    expect(r.perStep).toBeLessThan(1e-6);
    expect(r.final).toBeLessThan(1e-5);
  });
});

describe("DDPMScheduler: options diffusers has", () => {
  const s0 = () => new DDPMScheduler(CONFIG);
  it("the betas are PyTorch's float32 linspace (the 273 entries a float64 linspace gets wrong)", () => {
    const s = s0();
    // beta_500 of torch.linspace(1e-4, 0.02, 1000) counts down from the end in float32
    const step = Math.fround(Math.fround(Math.fround(0.02) - Math.fround(0.0001)) / 999);
    expect(s.betas[500]).toBe(Math.fround(Math.fround(0.02) - Math.fround(step * 499)));
    let differ = 0;
    let p = 1;
    for (let i = 0; i < 1000; i++) {
      p *= Math.fround(1 - Math.fround(0.0001 + ((0.02 - 0.0001) * i) / 999));
      if (Math.fround(p) !== s.alphasCumprod[i]) differ++;
    }
    expect(differ).toBe(273);
  });

  it("a stochastic step needs noise or an rng, and t must be in the run's table", () => {
    const s = s0();
    s.setTimesteps(10);
    const x = dummySampleDeter();
    expectArgumentError(() => s.step(x, 900, x), "noise", /stochastic/);
    expectArgumentError(() => s.step(x, 901, x, { noise: x }), "t", /901/);
    expectArgumentError(() => s.step(x.subarray(1), 900, x, { noise: x }), "modelOutput");
  });

  it("learned_range reads the variance channels (improved DDPM eq. 15); learned needs the doubled output", () => {
    const s = new DDPMScheduler({ ...CONFIG, variance_type: "learned_range" });
    s.setTimesteps(10);
    const x = dummySampleDeter();
    const n = x.length / 4;
    const out = new Float32Array(2 * x.length);
    for (let b = 0; b < 4; b++) out.set(x.subarray(b * n, (b + 1) * n), 2 * b * n); // eps channels; variance channels v = 0
    const z = dummyNoiseDeter();
    const r = s.step(out, 900, x, { shape: SHAPE, noise: z }).prevSample;
    const mean = s.step(out, 900, x, { shape: SHAPE, noise: new Float32Array(x.length) }).prevSample;
    // v = 0: the log variance is the mean of log betaTilde and log beta
    const abar = s.alphasCumprod[900];
    const abarPrev = s.alphasCumprod[800];
    const beta = 1 - abar / abarPrev;
    const betaTilde = ((1 - abarPrev) / (1 - abar)) * beta;
    const std = Math.sqrt(Math.sqrt(beta * betaTilde));
    for (const j of [0, 100, 700]) expect(r[j] - mean[j]).toBeCloseTo(std * z[j], 5);
    expectArgumentError(() => s.step(x, 900, x, { noise: z }), "modelOutput", /variance channels/);
    expectArgumentError(() => s.step(out, 900, x, { noise: z }), "shape");
  });

  it("fixed_large_log is refused with the reason (diffusers returns NaN there)", () => {
    expectArgumentError(() => new DDPMScheduler({ variance_type: "fixed_large_log" }), "variance_type", /NaN/);
    expectArgumentError(() => new DDPMScheduler({ variance_type: "other" }), "variance_type");
  });

  it("thresholding needs the batch (per-item quantile) and changes the result where clipping would not", () => {
    const th = new DDPMScheduler({ ...CONFIG, thresholding: true, prediction_type: "sample", sample_max_value: 2 });
    th.setTimesteps(10);
    const x = dummySampleDeter();
    const m = x.map((v, j) => (j < 192 ? v * 3 : v)); // item 0 exceeds 1
    expectArgumentError(() => th.step(m, 900, x, { noise: x }), "shape", /thresholding/);
    const a = th.step(m, 900, x, { shape: SHAPE, noise: x }).predOriginalSample as Float32Array;
    // item 0: s = quantile(|x0|, 0.995) in (1, 2]: x0 / s; other items untouched (s clamps to 1)
    const sorted = Float32Array.from(m.subarray(0, 192), Math.abs).sort();
    const rank = 0.995 * 191;
    const q = sorted[Math.floor(rank)] + (rank - Math.floor(rank)) * (sorted[Math.floor(rank) + 1] - sorted[Math.floor(rank)]);
    expect(q).toBeGreaterThan(2);
    // s = clamp(q, 1, sample_max_value) = 2
    expect(a[5]).toBe(Math.fround(m[5] / 2));
    expect(a[191]).toBe(Math.fround(Math.min(2, m[191]) / 2));
    expect(maxAbsDiff(a.subarray(192), m.subarray(192))).toBe(0);
  });

  it("unknown keys and unsupported values are errors naming the key", () => {
    expectArgumentError(() => new DDPMScheduler({ solver_order: 2 }), "solver_order", /not a DDPMScheduler setting/);
    expectArgumentError(() => new DDPMScheduler({ timestep_spacing: "karras" }), "timestep_spacing");
    expectArgumentError(() => new DDPMScheduler({ prediction_type: "flow" }), "prediction_type");
  });
});
