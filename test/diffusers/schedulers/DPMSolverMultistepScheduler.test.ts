// diffusers' tests/schedulers/test_scheduler_dpm_multi.py, ported: every full-loop assertion with its
// expected value and tolerance, and the common laws that carry meaning here.
import { describe, expect, it } from "vitest";
import { createScheduler, schedulerFromJson } from "../../../src/diffusers/schedulers/index.ts";
import { absSumMean, DUMMY_SHAPE, dummyModel, dummyNoiseDeter, dummySampleDeter } from "../../support/diffusers-dummies.ts";
import { expectArgumentError } from "../../support/errors.ts";
import { fullLoop, make, N, overConfigs } from "./support-dpm.ts";

const CLS = "DPMSolverMultistepScheduler";
// get_scheduler_config of the diffusers test
const BASE = {
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: "linear",
  solver_order: 2,
  prediction_type: "epsilon",
  thresholding: false,
  sample_max_value: 1.0,
  algorithm_type: "dpmsolver++",
  solver_type: "midpoint",
  lower_order_final: false,
  euler_at_final: false,
  lambda_min_clipped: -Infinity,
  variance_type: null,
  final_sigmas_type: "sigma_min",
};

const loop = (extra: Record<string, unknown> = {}) => fullLoop(make(CLS, BASE, extra));
const meanAbs = (x: Float32Array) => absSumMean(x).mean;

describe("DPMSolverMultistepScheduler: diffusers' full-loop values", () => {
  it("test_full_loop_no_noise", () => {
    expect(Math.abs(meanAbs(loop()) - 0.3301)).toBeLessThan(1e-3);
  });

  it("test_full_loop_with_noise", () => {
    const s = make(CLS, BASE);
    s.setTimesteps(10);
    const tStart = 5;
    const timesteps = s.timesteps.slice(tStart * s.order);
    let x = s.addNoise(dummySampleDeter(), dummyNoiseDeter(), timesteps.slice(0, 1));
    for (const t of timesteps) x = s.step(dummyModel(x, t), t, x).prevSample;
    const { sum, mean } = absSumMean(x);
    expect(Math.abs(sum - 318.4111)).toBeLessThan(1e-2);
    expect(Math.abs(mean - 0.4146)).toBeLessThan(1e-3);
  });

  it("test_full_loop_no_noise_thres", () => {
    expect(Math.abs(meanAbs(loop({ thresholding: true, dynamic_thresholding_ratio: 0.87, sample_max_value: 0.5 })) - 1.1364)).toBeLessThan(1e-3);
  });

  it("test_full_loop_with_v_prediction", () => {
    expect(Math.abs(meanAbs(loop({ prediction_type: "v_prediction" })) - 0.2251)).toBeLessThan(1e-3);
  });

  it("test_full_loop_with_karras_and_v_prediction", () => {
    expect(Math.abs(meanAbs(loop({ prediction_type: "v_prediction", use_karras_sigmas: true })) - 0.2096)).toBeLessThan(1e-3);
  });

  it("test_full_loop_with_lu_and_v_prediction", () => {
    expect(Math.abs(meanAbs(loop({ prediction_type: "v_prediction", use_lu_lambdas: true })) - 0.1554)).toBeLessThan(1e-3);
  });

  it("test_switch (the config read back from its JSON gives the same loop)", () => {
    const s = make(CLS, BASE);
    expect(Math.abs(meanAbs(fullLoop(s)) - 0.3301)).toBeLessThan(1e-3);
    const back = schedulerFromJson(s.toJson());
    expect(Math.abs(meanAbs(fullLoop(back)) - 0.3301)).toBeLessThan(1e-3);
  });
});

describe("DPMSolverMultistepScheduler: diffusers' laws", () => {
  it("test_custom_timesteps: the run's own timesteps passed back give the same samples", () => {
    for (const algorithm_type of ["dpmsolver++", "sde-dpmsolver++"]) {
      for (const prediction_type of ["epsilon", "sample", "v_prediction"]) {
        for (const final_sigmas_type of ["sigma_min", "zero"]) {
          const cfg = { algorithm_type, prediction_type, final_sigmas_type };
          const a = loop(cfg);
          const probe = make(CLS, BASE, cfg);
          probe.setTimesteps(10);
          const b = fullLoop(make(CLS, BASE, cfg), 10, probe.timesteps);
          let d = 0;
          for (let j = 0; j < N; j++) d += Math.abs(a[j] - b[j]);
          expect(d, JSON.stringify(cfg)).toBeLessThan(1e-5);
        }
      }
    }
  });

  it("test_solver_order_and_type: every algorithm, solver type, order and prediction runs without NaN", () => {
    for (const algorithm_type of ["dpmsolver", "dpmsolver++", "sde-dpmsolver", "sde-dpmsolver++"]) {
      for (const solver_type of ["midpoint", "heun"]) {
        for (const solver_order of [1, 2, 3]) {
          if (algorithm_type.startsWith("sde-") && solver_order === 3) continue;
          for (const prediction_type of ["epsilon", "sample"]) {
            const cfg = { solver_order, solver_type, prediction_type, algorithm_type };
            if (!algorithm_type.startsWith("sde-")) expect(overConfigs(CLS, BASE, cfg)).toBeLessThan(1e-5);
            const x = loop(cfg);
            expect(x.every(Number.isFinite), JSON.stringify(cfg)).toBe(true);
          }
        }
      }
    }
  });

  it("check_over_configs: num_train_timesteps, thresholding, prediction types, final-step options, clipping, variance type, zero SNR, exponential sigmas", () => {
    const cases: Record<string, unknown>[] = [
      ...[25, 50, 100, 999, 1000].map((num_train_timesteps) => ({ num_train_timesteps })),
      { thresholding: false },
      { prediction_type: "epsilon" },
      { prediction_type: "v_prediction" },
      { lower_order_final: true },
      { lower_order_final: false },
      { euler_at_final: true },
      { euler_at_final: false },
      { lambda_min_clipped: -Infinity },
      { lambda_min_clipped: -5.1 },
      { variance_type: null },
      { variance_type: "learned_range" },
      { rescale_betas_zero_snr: true },
      { rescale_betas_zero_snr: false },
      { use_exponential_sigmas: true },
    ];
    for (const solver_order of [1, 2, 3]) {
      for (const solver_type of ["midpoint", "heun"]) {
        for (const sample_max_value of [0.5, 1.0, 2.0]) {
          for (const prediction_type of ["epsilon", "sample"]) {
            cases.push({ thresholding: true, prediction_type, sample_max_value, algorithm_type: "dpmsolver++", solver_order, solver_type });
          }
        }
      }
    }
    for (const c of cases) expect(overConfigs(CLS, BASE, c), JSON.stringify(c)).toBeLessThan(1e-5);
  });

  it("test_beta_sigmas, and the Beta(0.6, 0.6) schedule spans the table with more steps at both ends", () => {
    expect(overConfigs(CLS, BASE, { use_beta_sigmas: true })).toBeLessThan(1e-5);
    const s = make(CLS, BASE, { use_beta_sigmas: true });
    s.setTimesteps(10);
    const plain = make(CLS, BASE);
    plain.setTimesteps(1000);
    const sig = s.sigmas as Float64Array;
    const table = plain.sigmas as Float64Array; // starts at sigma(t = 999), ends at sigma(t = 0) (final_sigmas_type sigma_min)
    expect(sig[0]).toBe(table[0]);
    expect(sig[9]).toBe(table[1000]);
    // the quantile steps are symmetric in sigma: sigma_i - sigma_min = sigma_max - sigma_{9-i}
    for (let i = 0; i < 10; i++) expect(sig[i] - sig[9]).toBeCloseTo(sig[0] - sig[9 - i], 3);
    expect(sig[0] - sig[1]).toBeLessThan(sig[4] - sig[5]);
    // the fractional timesteps are truncated (diffusers casts them to int64 without rounding): the first
    // lands on 998 or 999 depending on the float32 log table; they never increase
    expect(s.timesteps[0]).toBeGreaterThanOrEqual(998);
    for (let i = 1; i < 10; i++) expect(s.timesteps[i]).toBeLessThanOrEqual(s.timesteps[i - 1]);
  });

  it("test_inference_steps: 1 to 1000 steps, first step", () => {
    for (const steps of [1, 2, 3, 5, 10, 50, 100, 999, 1000]) expect(overConfigs(CLS, BASE, {}, steps, 0)).toBeLessThan(1e-5);
  });

  it("test_step_shape: steps at timesteps[5] and [6] keep the sample's shape", () => {
    const s = make(CLS, BASE);
    s.setTimesteps(25);
    const x = dummySampleDeter();
    const r = x.map((v) => 0.1 * v);
    const a = s.step(r, s.timesteps[5], x).prevSample;
    const b = s.step(r, s.timesteps[6], x).prevSample;
    expect(a.length).toBe(x.length);
    expect(b.length).toBe(a.length);
  });

  it("test_duplicated_timesteps: as many timesteps as inference steps for num_train_timesteps steps", () => {
    const s = make(CLS, BASE);
    s.setTimesteps(1000);
    expect(s.timesteps.length).toBe(1000);
    expect(s.sigmas?.length).toBe(1001);
  });

  it("thresholding is per item: a batch stepped with its shape equals each item stepped alone", () => {
    const cfg = { thresholding: true, dynamic_thresholding_ratio: 0.5, sample_max_value: 10 };
    const size = N / DUMMY_SHAPE[0];
    // items of different scales, so their quantiles of |x0| differ
    const x = dummySampleDeter().map((v, j) => v * 4 * (1 + Math.floor(j / size)));
    const batch = make(CLS, BASE, cfg);
    batch.setTimesteps(10);
    const t = batch.timesteps[0];
    const m = dummyModel(x, t);
    const got = batch.step(m, t, x, { shape: DUMMY_SHAPE }).prevSample;
    for (let b = 0; b < DUMMY_SHAPE[0]; b++) {
      const one = make(CLS, BASE, cfg);
      one.setTimesteps(10);
      const xi = x.slice(b * size, (b + 1) * size);
      const want = one.step(m.slice(b * size, (b + 1) * size), t, xi).prevSample;
      expect(Array.from(got.subarray(b * size, (b + 1) * size))).toEqual(Array.from(want));
    }
    const whole = make(CLS, BASE, cfg);
    whole.setTimesteps(10);
    expect(Array.from(whole.step(m, t, x).prevSample)).not.toEqual(Array.from(got));
  });
});

describe("DPMSolverMultistepScheduler: arguments", () => {
  it("an unknown key is an error naming it", () => {
    expectArgumentError(() => createScheduler(CLS, { karras: true }), "karras", "not a DPMSolverMultistepScheduler setting");
  });

  it("values diffusers has but this library does not implement are refused by name", () => {
    expectArgumentError(() => createScheduler(CLS, { use_flow_sigmas: true }), "use_flow_sigmas", "not implemented");
    expectArgumentError(() => createScheduler(CLS, { use_dynamic_shifting: true }), "use_dynamic_shifting", "not implemented");
    expectArgumentError(() => createScheduler(CLS, { algorithm_type: "dpm" }), "algorithm_type");
    expectArgumentError(() => createScheduler(CLS, { solver_order: 4 }), "solver_order");
    expectArgumentError(() => createScheduler(CLS, { algorithm_type: "sde-dpmsolver++", solver_order: 3 }), "solver_order", "no SDE update");
  });

  it("diffusers' own constraints: noise-prediction DPM-Solver cannot end at sigma 0; one sigma schedule at a time", () => {
    expectArgumentError(() => createScheduler(CLS, { algorithm_type: "dpmsolver" }), "final_sigmas_type", "sigma_min");
    expectArgumentError(() => createScheduler(CLS, { use_karras_sigmas: true, use_exponential_sigmas: true }), "use_exponential_sigmas", "only one");
  });

  it("custom timesteps with a computed sigma schedule, sigmas, a t outside the run, and a stochastic step without noise are errors", () => {
    const s = make(CLS, BASE, { use_karras_sigmas: true });
    expectArgumentError(() => s.setTimesteps(null, { timesteps: [900, 500, 100] }), "timesteps", "use_karras_sigmas");
    expectArgumentError(() => s.setTimesteps(10, { sigmas: [1, 0.5] }), "sigmas");
    const p = make(CLS, BASE);
    p.setTimesteps(10);
    expectArgumentError(() => p.step(dummySampleDeter(), 998, dummySampleDeter()), "t", "998");
    const sde = make(CLS, BASE, { algorithm_type: "sde-dpmsolver++" });
    sde.setTimesteps(10);
    expectArgumentError(() => sde.step(dummySampleDeter(), sde.timesteps[0], dummySampleDeter()), "rng");
  });

  it("every config of the ported tests round-trips through schedulerFromJson", () => {
    const cfgs = [{}, { thresholding: true, dynamic_thresholding_ratio: 0.87, sample_max_value: 0.5 }, { prediction_type: "v_prediction", use_karras_sigmas: true }, { use_lu_lambdas: true }, { lambda_min_clipped: -5.1 }, { algorithm_type: "sde-dpmsolver++", final_sigmas_type: "zero" }, { variance_type: "learned_range" }];
    for (const c of cfgs) {
      const s = make(CLS, BASE, c);
      const back = schedulerFromJson(s.toJson());
      expect(back.toJson()).toBe(s.toJson());
      expect({ ...back.config, _class_name: undefined }).toEqual({ ...s.config, _class_name: undefined });
    }
    // Python's -Infinity survives the text
    expect(make(CLS, BASE).toJson()).toContain('"lambda_min_clipped": -Infinity');
  });
});
