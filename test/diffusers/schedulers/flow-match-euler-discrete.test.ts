// FlowMatchEulerDiscreteScheduler: diffusers' tests/schedulers/test_scheduler_flow_match_euler_discrete.py
// (its contract tests, the sigmas/timesteps and shift_terminal tests) and test_scheduler_flow_match_euler.py,
// ported; then the table laws (shift, dynamic shifting, re-spacings, inversion) and the agreement with
// the library's Euler sampler.

import { describe, expect, it } from "vitest";
import { createScheduler, schedulerFromJson } from "../../../src/diffusers/schedulers/index.ts";
import { FlowMatchEulerDiscreteScheduler } from "../../../src/diffusers/schedulers/flow-euler.ts";
import { betaCdf, betaPpf, calculateShift } from "../../../src/diffusers/schedulers/flow-sigmas.ts";
import { sampleEuler } from "../../../src/samplers/ode.ts";
import { Rng } from "../../../src/rng.ts";
import { GaussianMixture } from "../../../src/testbed/mixture.ts";
import { expectArgumentError } from "../../support/errors.ts";
import { manualSeed } from "../../support/torch-rng.ts";

const make = (c: Record<string, unknown> = {}) => new FlowMatchEulerDiscreteScheduler({ num_train_timesteps: 1000, shift: 1.0, ...c });
const f32 = Math.fround;

describe("FlowMatchEulerDiscreteScheduler: diffusers' tests", () => {
  it("test_instantiation_with_defaults", () => {
    const s = make();
    expect(s.config.num_train_timesteps).toBe(1000);
    expect(s.config.shift).toBe(1.0);
    expect(s.initNoiseSigma).toBe(1);
    expect(s.order).toBe(1);
  });

  it("test_mutually_exclusive_sigma_schedules_raises", () => {
    expectArgumentError(() => make({ use_karras_sigmas: true, use_exponential_sigmas: true }), "use_exponential_sigmas", "only one of");
  });

  it("test_invalid_time_shift_type_raises", () => {
    expectArgumentError(() => make({ time_shift_type: "quadratic" }), "time_shift_type", '"exponential", "linear"');
  });

  it("test_set_timesteps_endpoints", () => {
    const s = make();
    for (const nfe of [1, 2, 4, 8, 16]) {
      s.setTimesteps(nfe);
      expect(s.timesteps.length).toBe(nfe);
      expect(s.sigmas.length).toBe(nfe + 1);
      expect(s.timesteps[0]).toBeCloseTo(1000, 4);
      expect(s.sigmas[nfe]).toBe(0);
    }
  });

  it("test_set_timesteps_dynamic_shifting_requires_mu / _with_mu", () => {
    const s = make({ use_dynamic_shifting: true });
    expectArgumentError(() => s.setTimesteps(4), "mu", "use_dynamic_shifting");
    s.setTimesteps(4, { mu: 0.5 });
    expect(s.timesteps.length).toBe(4);
  });

  it("test_set_timesteps_sigmas_timesteps_length_mismatch_raises", () => {
    expectArgumentError(() => make().setTimesteps(null, { sigmas: [0.9, 0.5, 0.1], timesteps: [900, 500] }), "sigmas", "must match");
    expectArgumentError(() => make().setTimesteps(3, { sigmas: [0.9, 0.5] }), "sigmas", "numInferenceSteps is 3");
  });

  it("test_set_timesteps_custom_sigmas", () => {
    const s = make();
    s.setTimesteps(null, { sigmas: [0.9, 0.7, 0.4, 0.1] });
    expect(s.timesteps.length).toBe(4);
    expect(s.sigmas.length).toBe(5);
    expect(s.sigmas[4]).toBe(0);
    // shift 1: the sigmas are the caller's, as float32, and the timesteps sigma * 1000
    expect(Array.from(s.sigmas.subarray(0, 4))).toEqual([0.9, 0.7, 0.4, 0.1].map(f32));
    expect(Array.from(s.timesteps)).toEqual([0.9, 0.7, 0.4, 0.1].map((v) => f32(f32(v) * 1000)));
  });

  it("test_step_shape_preserved and test_full_denoising_loop", () => {
    const s = make();
    s.setTimesteps(4);
    const g = manualSeed(0);
    let x = g.randn(2 * 16 * 8 * 8);
    for (const t of s.timesteps) {
      const out = s.step(g.randn(x.length), t, x).prevSample;
      expect(out.length).toBe(x.length);
      x = out;
    }
    expect(s.stepIndex).toBe(4);
  });

  it("test_step_rejects_integer_timestep_index: a timestep not in the table names t", () => {
    const s = make();
    s.setTimesteps(4);
    expectArgumentError(() => s.step(new Float32Array(4), 0, new Float32Array(4)), "t", "not one of this run's timesteps");
  });

  it("test_step_stochastic_sampling: x0 re-noised to the next sigma, noise from opts", () => {
    const s = make({ stochastic_sampling: true });
    s.setTimesteps(4);
    const g = manualSeed(0);
    const x = g.randn(64);
    const v = g.randn(64);
    const z = g.randn(64);
    const t0 = s.timesteps[0];
    expectArgumentError(() => s.step(v, t0, x), "noise", "stochastic");
    const prev = s.step(v, t0, x, { noise: z }).prevSample;
    const [sg, sn] = [s.sigmas[0], s.sigmas[1]];
    for (let j = 0; j < 64; j++) expect(prev[j]).toBeCloseTo((1 - sn) * (x[j] - sg * v[j]) + sn * z[j], 5);
  });

  it("test_scale_noise_interpolates_sample_and_noise", () => {
    const s = make();
    s.setTimesteps(null, { timesteps: [500, 250] });
    const mixed = s.scaleNoise(new Float32Array(64), s.timesteps[0], new Float32Array(64).fill(1));
    for (const v of mixed) expect(v).toBeCloseTo(0.5, 4);
  });

  it("test_scale_noise_batch_matches_legacy: per-item sigmas, each looked up", () => {
    const s = make({ shift: 3.0 });
    s.setTimesteps(16);
    const g = manualSeed(0);
    const B = 8;
    const m = 4 * 8 * 8;
    const x = g.randn(B * m);
    const n = g.randn(B * m);
    const ts = s.timesteps.subarray(0, B);
    const out = s.scaleNoise(x, ts, n);
    for (let b = 0; b < B; b++) {
      const sg = s.sigmas[s.indexForTimestep(ts[b])];
      expect(sg).toBe(s.sigmas[b]);
      for (let j = b * m; j < (b + 1) * m; j += 37) expect(out[j]).toBeCloseTo(sg * n[j] + (1 - sg) * x[j], 6);
    }
  });

  it("test_index_for_timestep_duplicate_handling", () => {
    const s = make();
    s.setTimesteps(null, { timesteps: [900, 500, 500, 100] });
    expect(s.indexForTimestep(s.timesteps[1])).toBe(2);
  });

  it("test_index_for_timestep_even_shift / non_uniform_shift: every timestep finds its own index", () => {
    for (const [shift, n] of [[1, 10], [3, 20]]) {
      const s = make({ shift });
      s.setTimesteps(n);
      s.timesteps.forEach((t, i) => expect(s.indexForTimestep(t)).toBe(i));
    }
  });

  it("test_index_for_timestep_handles_float_precision / matches_exact_value / rejects_unknown_timestep", () => {
    const s = make();
    const ts = s.timesteps; // the training table: sigma * 1000 in float32
    const i = ts.findIndex((t) => t !== Math.round(t));
    expect(i).toBeGreaterThanOrEqual(0);
    expect(s.indexForTimestep(Math.round(ts[i]))).toBe(i);
    for (const k of [0, 500, 999]) expect(s.indexForTimestep(ts[k])).toBe(k);
    expectArgumentError(() => s.indexForTimestep((ts[0] + ts[1]) / 2), "t", "not one of");
  });

  it("test_scale_noise_with_integer_timesteps: the training path looks integer timesteps up", () => {
    const s = make();
    const out = s.scaleNoise(new Float32Array(8).fill(1), [254, 500], new Float32Array(8));
    expect(out[0]).toBeCloseTo(1 - 0.254, 5);
    expect(out[4]).toBeCloseTo(1 - 0.5, 5);
  });

  it("test_set_begin_index_anchors_step_index", () => {
    const s = make();
    s.setTimesteps(4);
    s.setBeginIndex(2);
    s.step(new Float32Array(4), s.timesteps[0], new Float32Array(4));
    expect(s.stepIndex).toBe(3);
  });

  it("test_explicit_timesteps_are_kept_when_sigmas_are_passed (CogView4)", () => {
    const s = make({ shift: 1.0, use_dynamic_shifting: true, base_shift: 0.25, max_shift: 0.75, time_shift_type: "linear" });
    // np.linspace(1000, 1, 10).astype(int64).astype(float32)
    const ts = Array.from({ length: 10 }, (_, i) => Math.trunc(1000 + (i * (1 - 1000)) / 9));
    const sig = ts.map((t) => f32(t / 1000));
    s.setTimesteps(10, { sigmas: sig, timesteps: ts, mu: 3.25 });
    expect(Array.from(s.timesteps)).toEqual(ts);
    expect(s.sigmas.subarray(0, 10).some((v, i) => Math.abs(v - sig[i]) > 1e-5)).toBe(true);
    expect(s.sigmas[10]).toBe(0);
  });

  it("test_sigmas_only_derive_the_timesteps_from_the_shifted_sigmas", () => {
    const s = make({ shift: 3.0 });
    const sig = [1.0, 0.75, 0.5, 0.25, 0.001];
    s.setTimesteps(null, { sigmas: sig });
    s.timesteps.forEach((t, i) => expect(t).toBe(f32(s.sigmas[i] * 1000)));
    expect(s.sigmas[1]).toBeCloseTo((3 * 0.75) / (1 + 2 * 0.75), 6);
  });

  it("test_timesteps_only_are_kept", () => {
    const s = make({ shift: 3.0 });
    const ts = [1000, 750, 500, 250, 1];
    s.setTimesteps(null, { timesteps: ts });
    expect(Array.from(s.timesteps)).toEqual(ts);
    expect(s.sigmas[1]).toBeCloseTo((3 * 0.75) / (1 + 2 * 0.75), 6);
  });

  it("test_set_timesteps_multi_step_reaches_shift_terminal / single_step_with_shift_terminal_is_finite", () => {
    const s = make({ shift: 3.0, shift_terminal: 0.1 });
    s.setTimesteps(10);
    expect(s.sigmas[9]).toBeCloseTo(0.1, 5);
    s.setTimesteps(1);
    expect(s.sigmas.every(Number.isFinite) && s.timesteps.every(Number.isFinite)).toBe(true);
    const prev = s.step(new Float32Array(64).fill(0.5), s.timesteps[0], new Float32Array(64).fill(1)).prevSample;
    expect(prev.every(Number.isFinite)).toBe(true);
  });
});

describe("FlowMatchEulerDiscreteScheduler: the tables", () => {
  it("the training table is shift(i / T) in float32, and sigma_max / sigma_min are its ends", () => {
    const s = make({ shift: 3.0 });
    expect(s.sigmaMax).toBe(1);
    expect(s.sigmaMin).toBe(f32(f32(3 * f32(0.001)) / f32(1 + f32(2 * f32(0.001)))));
  });

  it("SD3 shift moves every inner sigma up, monotone in the shift", () => {
    const a = make({ shift: 1 });
    const b = make({ shift: 3 });
    a.setTimesteps(8);
    b.setTimesteps(8);
    for (let i = 1; i < 8; i++) expect(b.sigmas[i]).toBeGreaterThan(a.sigmas[i]);
    expect(b.sigmas[0]).toBe(1);
  });

  it("dynamic shifting at mu = ln(shift) (exponential) or mu = shift (linear) is the fixed shift, on the same sigmas", () => {
    // (the default tables differ: with dynamic shifting the training table, and so its sigma_min, is unshifted)
    const sig = [1, 0.8, 0.55, 0.3, 0.1, 0.02];
    const fixed = make({ shift: 3 });
    fixed.setTimesteps(null, { sigmas: sig });
    for (const [type, mu] of [["exponential", Math.log(3)], ["linear", 3]] as const) {
      const dyn = make({ use_dynamic_shifting: true, time_shift_type: type });
      dyn.setTimesteps(null, { sigmas: sig, mu });
      for (let i = 0; i < sig.length; i++) expect(Math.abs(dyn.sigmas[i] - fixed.sigmas[i])).toBeLessThanOrEqual(2.5e-7);
    }
    const def = make({ use_dynamic_shifting: true });
    def.setTimesteps(4, { mu: 0 });
    expect(def.sigmas[3]).toBe(f32(0.001)); // mu = 0 (e^0 = 1) shifts nothing
  });

  it("imageSeqLen computes mu as diffusers' pipelines do (calculate_shift with the config's anchors)", () => {
    const c = { use_dynamic_shifting: true, base_shift: 0.25, max_shift: 0.75 };
    const a = make(c);
    const b = make(c);
    a.setTimesteps(6, { imageSeqLen: 1024 });
    b.setTimesteps(6, { mu: calculateShift(1024, 256, 4096, 0.25, 0.75) });
    expect(Array.from(a.sigmas)).toEqual(Array.from(b.sigmas));
    expectArgumentError(() => a.setTimesteps(6, { imageSeqLen: 1024, mu: 1 }), "imageSeqLen", "give one");
    expectArgumentError(() => make({ ...c, base_shift: null }).setTimesteps(6, { imageSeqLen: 1024 }), "base_shift", "null");
  });

  it("calculateShift is linear from base_shift at base_image_seq_len to max_shift at max_image_seq_len", () => {
    expect(calculateShift(256)).toBeCloseTo(0.5, 12);
    expect(calculateShift(4096)).toBeCloseTo(1.15, 12);
    expect(calculateShift(2176)).toBeCloseTo(0.825, 12);
  });

  it("Karras and exponential re-spacings keep the shifted ends; beta sigmas follow Beta(0.6, 0.6)", () => {
    const base = make({ shift: 3 });
    base.setTimesteps(10);
    for (const key of ["use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas"]) {
      const s = make({ shift: 3, [key]: true });
      s.setTimesteps(10);
      expect(s.sigmas[0]).toBeCloseTo(base.sigmas[0], 6);
      expect(s.sigmas[9]).toBeCloseTo(base.sigmas[9], 6);
      for (let i = 1; i < 10; i++) expect(s.sigmas[i]).toBeLessThan(s.sigmas[i - 1]);
    }
    const ex = make({ shift: 3, use_exponential_sigmas: true });
    ex.setTimesteps(10);
    const r = Math.log(ex.sigmas[1] / ex.sigmas[0]);
    for (let i = 2; i < 10; i++) expect(Math.log(ex.sigmas[i] / ex.sigmas[i - 1])).toBeCloseTo(r, 5);
    // the beta quantile inverts the beta CDF; Beta(a, a) is symmetric about 1/2
    for (const q of [0.01, 0.3, 0.5, 0.9]) expect(betaCdf(betaPpf(q, 0.6, 0.6), 0.6, 0.6)).toBeCloseTo(q, 12);
    expect(betaPpf(0.5, 0.6, 0.6)).toBeCloseTo(0.5, 12);
    // Beta(1, 1) is uniform, Beta(2, 1) has CDF x^2
    expect(betaCdf(0.37, 1, 1)).toBeCloseTo(0.37, 12);
    expect(betaCdf(0.37, 2, 1)).toBeCloseTo(0.37 * 0.37, 12);
  });

  it("invert_sigmas (Mochi): sigmas 1 - sigma, closing 1, timesteps from the inverted sigmas", () => {
    const s = make({ invert_sigmas: true });
    s.setTimesteps(4);
    const plain = make();
    plain.setTimesteps(4);
    for (let i = 0; i < 4; i++) {
      expect(s.sigmas[i]).toBe(f32(1 - plain.sigmas[i]));
      expect(s.timesteps[i]).toBe(f32(s.sigmas[i] * 1000));
    }
    expect(s.sigmas[4]).toBe(1);
  });
});

describe("FlowMatchEulerDiscreteScheduler: config", () => {
  it("unknown keys and bad values are errors naming the key", () => {
    expectArgumentError(() => make({ timestep_spacing: "linspace" }), "timestep_spacing", "not a FlowMatchEulerDiscreteScheduler setting");
    expectArgumentError(() => make({ shift: -1 }), "shift", "must be in");
    expectArgumentError(() => make({ shift_terminal: 1 }), "shift_terminal", "below 1");
  });

  it("schedulerFromJson(toJson()) round-trips every config used here", () => {
    for (const c of [{}, { shift: 3.0 }, { use_dynamic_shifting: true, base_shift: 0.25, max_shift: 0.75, time_shift_type: "linear" }, { shift_terminal: 0.1 }, { invert_sigmas: true }, { use_beta_sigmas: true }, { stochastic_sampling: true }]) {
      const s = createScheduler("FlowMatchEulerDiscreteScheduler", c);
      const back = schedulerFromJson(s.toJson());
      const { _class_name: name, ...rest } = back.config;
      expect(name).toBe("FlowMatchEulerDiscreteScheduler");
      expect(rest).toEqual(s.config);
      expect(back.className).toBe("FlowMatchEulerDiscreteScheduler");
    }
  });
});

describe("FlowMatchEulerDiscreteScheduler agrees with the library's Euler sampler", () => {
  it("on a Gaussian mixture's exact velocity, on the scheduler's sigmas in VE space, to float32 rounding (2e-5)", () => {
    const mix = GaussianMixture.example2d();
    const mean = [0, 1].map((i) => Array.from(mix.weights).reduce((a, w, k) => a + w * mix.means[k * 2 + i], 0));
    const s = make({ shift: 3 });
    s.setTimesteps(12);
    const B = 64;
    const z = new Rng(3).randn(B, 2);
    // the exact velocity v = (x_t - D) / t with D = E[x0 | x_t] = E[x0 | x_ve], x_ve = x_t / (1 - t);
    // at t = 1 the sample is pure noise and D is the data mean
    const velocity = (xt: Float32Array, t: number): Float32Array => {
      const d = t === 1 ? Float32Array.from(xt, (_, j) => mean[j % 2]) : mix.denoiser(Float32Array.from(xt, (v) => v / (1 - t)), new Float64Array(B).fill(t / (1 - t)), B);
      return Float32Array.from(xt, (x, j) => (x - d[j]) / t);
    };
    let xt: Float32Array = Float32Array.from(z);
    for (const t of s.timesteps) xt = s.step(velocity(xt, s.sigmas[s.stepIndex ?? 0]), t, xt).prevSample;
    // the library in VE space (sigma_ve = t / (1 - t)); its run starts after the scheduler's first step
    // (t = 1 is sigma_ve = Infinity), from that step's result, which is exact there: x_t1 = (1 - t1) mean + t1 z
    const t1 = s.sigmas[1];
    const x1 = Float32Array.from(z, (v, j) => ((1 - t1) * mean[j % 2] + t1 * v) / (1 - t1));
    const ve = Array.from(s.sigmas.subarray(1), (t) => t / (1 - t));
    const lib = sampleEuler(mix.denoiser, x1, ve, { batch: B }).x;
    let worst = 0;
    for (let j = 0; j < lib.length; j++) worst = Math.max(worst, Math.abs(lib[j] - xt[j]));
    expect(worst).toBeLessThan(2e-5);
    expect(worst).toBeGreaterThanOrEqual(0);
  });
});
