// DDIMScheduler, DDIMParallelScheduler and DDIMInverseScheduler: diffusers' test_scheduler_ddim.py,
// test_scheduler_ddim_parallel.py and test_scheduler_ddim_inverse.py, the recorded DDIM loops (eta 0 and
// eta 1 with explicit noise), and the old bridge's DDIM bugs (issue 13 item 4).
import { describe, expect, it } from "vitest";
import { DDIMInverseScheduler, DDIMParallelScheduler, DDIMScheduler } from "../../../src/diffusers/schedulers/ddim.ts";
import { createScheduler, schedulerFromJson } from "../../../src/diffusers/schedulers/index.ts";
import { dummyModel, dummyNoiseDeter, dummySampleDeter, DUMMY_SHAPE } from "../../support/diffusers-dummies.ts";
import { expectArgumentError } from "../../support/errors.ts";
import { dummyModelPerItem, expectSumMean, maxAbsDiff, readLoop, replay } from "./vp-support.ts";

const CONFIG = { num_train_timesteps: 1000, beta_start: 0.0001, beta_end: 0.02, beta_schedule: "linear", clip_sample: true };
const SHAPE = [...DUMMY_SHAPE];

function fullLoop(cls: string, extra: Record<string, unknown> = {}): Float32Array {
  const s = createScheduler(cls, { ...CONFIG, ...extra });
  s.setTimesteps(10);
  let sample = dummySampleDeter();
  for (const t of s.timesteps) sample = s.step(dummyModel(sample, t), t, sample, { eta: 0 }).prevSample;
  return sample;
}

const roundTrip = (cls: string, c: Record<string, unknown>) => {
  const s = createScheduler(cls, c);
  const back = schedulerFromJson(s.toJson());
  expect(back.className).toBe(cls);
  expect(back.toJson()).toBe(s.toJson());
};

for (const cls of ["DDIMScheduler", "DDIMParallelScheduler"] as const) {
  describe(`${cls}: diffusers' test_scheduler_${cls === "DDIMScheduler" ? "ddim" : "ddim_parallel"}.py`, () => {
    it("test_full_loop_no_noise", () => expectSumMean(fullLoop(cls), 172.0067, 0.223967));
    it("test_full_loop_with_v_prediction", () => expectSumMean(fullLoop(cls, { prediction_type: "v_prediction" }), 52.5302, 0.0684));
    it("test_full_loop_with_set_alpha_to_one", () => expectSumMean(fullLoop(cls, { set_alpha_to_one: true, beta_start: 0.01 }), 149.8295, 0.1951));
    it("test_full_loop_with_no_set_alpha_to_one", () => expectSumMean(fullLoop(cls, { set_alpha_to_one: false, beta_start: 0.01 }), 149.0784, 0.1941));
    it("test_full_loop_with_noise (add_noise at t_start = 8)", () => {
      const s = createScheduler(cls, CONFIG);
      s.setTimesteps(10);
      const timesteps = Array.from(s.timesteps.slice(8 * s.order));
      let sample = s.addNoise(dummySampleDeter(), dummyNoiseDeter(), timesteps[0]);
      for (const t of timesteps) sample = s.step(dummyModel(sample, t), t, sample, { eta: 0 }).prevSample;
      expectSumMean(sample, 354.5418, 0.4616);
    });
    it("test_steps_offset: 5 steps with offset 1 are 801, 601, 401, 201, 1", () => {
      const s = createScheduler(cls, { ...CONFIG, steps_offset: 1 });
      s.setTimesteps(5);
      expect(Array.from(s.timesteps)).toEqual([801, 601, 401, 201, 1]);
    });
    it("test_variance", () => {
      const s = createScheduler(cls, CONFIG) as DDIMScheduler;
      for (const [t, p, v] of [[0, 0, 0], [420, 400, 0.14771], [980, 960, 0.3246], [487, 486, 0.00979], [999, 998, 0.02]]) {
        expect(Math.abs(s.getVariance(t, p) - v)).toBeLessThan(1e-5);
      }
    });
    it("test_num_inference_steps_zero_raises", () => {
      expectArgumentError(() => createScheduler(cls, CONFIG).setTimesteps(0), "numInferenceSteps");
    });
    it("the configs of test_timesteps / _betas / _schedules / _prediction_type / _clip_sample / _timestep_spacing / _rescale_betas_zero_snr / _thresholding round-trip", () => {
      for (const T of [100, 500, 1000]) roundTrip(cls, { ...CONFIG, num_train_timesteps: T });
      for (const [b0, b1] of [[0.0001, 0.002], [0.001, 0.02], [0.01, 0.2], [0.1, 2]]) {
        // beta_end 2 is outside (0, 1]: diffusers accepts it and produces negative alphas; refused here
        if (b1 > 1) expectArgumentError(() => createScheduler(cls, { ...CONFIG, beta_start: b0, beta_end: b1 }), "beta_end");
        else roundTrip(cls, { ...CONFIG, beta_start: b0, beta_end: b1 });
      }
      for (const v of [
        { beta_schedule: "squaredcos_cap_v2" },
        { prediction_type: "v_prediction" },
        { clip_sample: false },
        { timestep_spacing: "trailing" },
        { rescale_betas_zero_snr: true },
        { steps_offset: 1 },
        ...[0.5, 1, 2].flatMap((m) => ["epsilon", "v_prediction"].map((p) => ({ thresholding: true, prediction_type: p, sample_max_value: m }))),
      ]) roundTrip(cls, { ...CONFIG, ...v });
    });
  });
}

describe("DDIMParallelScheduler.batchStepNoNoise", () => {
  it("test_batch_step_no_noise: three copies at timesteps 0, 1, 2 of a 10-step run", () => {
    const s = new DDIMParallelScheduler(CONFIG);
    s.setTimesteps(10);
    const base = dummySampleDeter();
    const samples = new Float32Array(base.length * 3);
    [0, 0.1, -0.1].forEach((d, k) => samples.set(base.map((v) => Math.fround(v + d)), k * base.length));
    const ts = [0, 1, 2].flatMap((t) => [t, t, t, t]);
    expectSumMean(s.batchStepNoNoise(dummyModelPerItem(samples, ts), ts, samples, { eta: 0 }), 1147.7904, 0.4982);
  });
  it("equals step() item by item at the run's timesteps (eta 0)", () => {
    const s = new DDIMParallelScheduler({ ...CONFIG, clip_sample: false });
    s.setTimesteps(10);
    const x = dummySampleDeter();
    const n = x.length / 4;
    const ts = [900, 500, 100, 0];
    const m = dummyModelPerItem(x, ts);
    const batch = s.batchStepNoNoise(m, ts, x);
    ts.forEach((t, b) => {
      const one = s.step(m.subarray(b * n, (b + 1) * n), t, x.subarray(b * n, (b + 1) * n)).prevSample;
      expect(maxAbsDiff(batch.subarray(b * n, (b + 1) * n), one)).toBe(0);
    });
  });
});

describe("DDIMInverseScheduler: diffusers' test_scheduler_ddim_inverse.py", () => {
  it("test_full_loop_no_noise", () => expectSumMean(fullLoop("DDIMInverseScheduler"), 671.6816, 0.8746));
  it("test_full_loop_with_v_prediction", () => expectSumMean(fullLoop("DDIMInverseScheduler", { prediction_type: "v_prediction" }), 1394.2185, 1.8154));
  it("test_full_loop_with_set_alpha_to_one", () => expectSumMean(fullLoop("DDIMInverseScheduler", { set_alpha_to_one: true, beta_start: 0.01 }), 539.9622, 0.7031));
  it("test_full_loop_with_no_set_alpha_to_one", () => expectSumMean(fullLoop("DDIMInverseScheduler", { set_alpha_to_one: false, beta_start: 0.01 }), 542.6722, 0.7066));
  it("test_steps_offset: ascending 1, 201, 401, 601, 801", () => {
    const s = new DDIMInverseScheduler({ ...CONFIG, steps_offset: 1 });
    s.setTimesteps(5);
    expect(Array.from(s.timesteps)).toEqual([1, 201, 401, 601, 801]);
  });
  it("configs round-trip; thresholding is not a DDIMInverseScheduler key (diffusers silently ignores it)", () => {
    for (const v of [{}, { prediction_type: "v_prediction" }, { timestep_spacing: "trailing" }, { rescale_betas_zero_snr: true }, { set_alpha_to_one: false }]) roundTrip("DDIMInverseScheduler", { ...CONFIG, ...v });
    expectArgumentError(() => new DDIMInverseScheduler({ ...CONFIG, thresholding: true }), "thresholding", /not a DDIMInverseScheduler setting/);
    expectArgumentError(() => new DDIMInverseScheduler({ timestep_spacing: "linspace" }), "timestep_spacing");
  });
  it("inverts DDIM: an exact eps model taken up and back down returns the start", () => {
    const fwd = new DDIMScheduler({ ...CONFIG, clip_sample: false, timestep_spacing: "trailing" });
    const inv = new DDIMInverseScheduler({ ...CONFIG, clip_sample: false, timestep_spacing: "trailing" });
    fwd.setTimesteps(50);
    inv.setTimesteps(50);
    const x0 = dummySampleDeter().map((v) => v - 0.5);
    // a model that knows x0 exactly: DDIM's ODE is then solved exactly, up and down
    const model = (x: Float32Array, t: number) => {
      const a = fwd.alphasCumprod[t];
      return x.map((v, j) => (v - Math.sqrt(a) * x0[j]) / Math.sqrt(1 - a));
    };
    let x: Float32Array = Float32Array.from(x0);
    for (const t of inv.timesteps) x = inv.step(model(x, t), t, x).prevSample;
    for (const t of fwd.timesteps) x = fwd.step(model(x, t), t, x).prevSample;
    expect(maxAbsDiff(x, x0)).toBeLessThan(1e-4);
  });
});

describe("DDIMScheduler: the recorded diffusers loops", () => {
  it("ddim-eta0: each step from diffusers' state within 1e-6, the whole loop within 5e-5", () => {
    const loop = readLoop("ddim-eta0");
    const r = replay(schedulerFromJson(loop.config), loop, () => ({ eta: 0 }));
    expect(r.perStep).toBeLessThan(1e-6);
    expect(r.final).toBeLessThan(5e-5);
  });
  it("ddim-eta1 with diffusers' explicit variance noise", () => {
    const loop = readLoop("ddim-eta1");
    const r = replay(schedulerFromJson(loop.config), loop, (i) => ({ eta: 1, noise: loop.noise.get(i) }));
    expect(r.perStep).toBeLessThan(1e-6);
    expect(r.final).toBeLessThan(5e-5);
  });
});

describe("DDIMScheduler: the old bridge's bugs (issue 13 item 4)", () => {
  it("set_alpha_to_one false: the loop runs and its last step goes to abar_0 (no duplicate closing sigma)", () => {
    const s = new DDIMScheduler({ ...CONFIG, set_alpha_to_one: false, clip_sample: false });
    s.setTimesteps(10);
    let x = dummySampleDeter();
    let last: Float32Array | undefined;
    for (const t of s.timesteps) {
      const r = s.step(dummyModel(x, t), t, x);
      x = r.prevSample;
      last = r.predOriginalSample;
    }
    // the last step (t = 0 -> prev -100) lands at abar_0: x = sqrt(abar_0) x0 + sqrt(1 - abar_0) eps
    expect(s.finalAlphaCumprod).toBe(s.alphasCumprod[0]);
    expect(Number.isFinite(x[0]) && last !== undefined).toBe(true);
  });
  it("eps is the model's, not re-derived from the clipped x0, unless useClippedModelOutput", () => {
    const s = new DDIMScheduler(CONFIG);
    s.setTimesteps(10);
    const x = dummySampleDeter().map((v) => 4 * v);
    const m = dummyNoiseDeter().map((v) => v - 0.5);
    const t = 100;
    const a = s.alphasCumprod[t];
    const ap = s.alphasCumprod[0];
    const x0 = x.map((v, j) => Math.min(1, Math.max(-1, (v - Math.sqrt(1 - a) * m[j]) / Math.sqrt(a))));
    const plain = s.step(m, t, x).prevSample;
    const clipped = s.step(m, t, x, { useClippedModelOutput: true }).prevSample;
    let worstPlain = 0;
    let worstClipped = 0;
    x.forEach((v, j) => {
      worstPlain = Math.max(worstPlain, Math.abs(plain[j] - (Math.sqrt(ap) * x0[j] + Math.sqrt(1 - ap) * m[j])));
      const e = (v - Math.sqrt(a) * x0[j]) / Math.sqrt(1 - a);
      worstClipped = Math.max(worstClipped, Math.abs(clipped[j] - (Math.sqrt(ap) * x0[j] + Math.sqrt(1 - ap) * e)));
    });
    expect(worstPlain).toBeLessThan(1e-5);
    expect(worstClipped).toBeLessThan(1e-5);
    expect(maxAbsDiff(plain, clipped)).toBeGreaterThan(1e-2); // clipping happened, so the two differ
  });
  it("keys the old bridge dropped silently are implemented or refused by name", () => {
    const th = new DDIMScheduler({ ...CONFIG, thresholding: true });
    th.setTimesteps(10);
    const x = dummySampleDeter().map((v) => 3 * v);
    expectArgumentError(() => th.step(x, 900, x), "shape", /thresholding/);
    expect(th.step(x, 900, x, { shape: SHAPE }).prevSample.length).toBe(x.length);
    expectArgumentError(() => new DDIMScheduler({ use_karras_sigmas: true }), "use_karras_sigmas", /not a DDIMScheduler setting/);
    expectArgumentError(() => new DDIMScheduler({ variance_type: "fixed_small" }), "variance_type");
  });
  it("eta > 0 without noise or rng is an error; t outside the run is an error naming t", () => {
    const s = new DDIMScheduler(CONFIG);
    expectArgumentError(() => s.step(dummySampleDeter(), 900, dummySampleDeter()), "t", /setTimesteps/);
    s.setTimesteps(10);
    expectArgumentError(() => s.step(dummySampleDeter(), 900, dummySampleDeter(), { eta: 1 }), "noise");
    expectArgumentError(() => s.step(dummySampleDeter(), 901, dummySampleDeter()), "t", /901/);
  });
});
