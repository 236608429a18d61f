// diffusers' tests/schedulers/test_scheduler_edm_dpmsolver_multistep.py, ported: every full-loop
// assertion with its expected value and tolerance, the laws that carry meaning here, and the property that
// the scheduler on EDM sigmas is the library's dpmpp_2m / dpmpp_2m_sde.
import { describe, expect, it } from "vitest";
import { createScheduler, schedulerFromJson, type Scheduler } from "../../../src/diffusers/schedulers/index.ts";
import type { Denoiser } from "../../../src/denoiser/contract.ts";
import { Rng } from "../../../src/rng.ts";
import { sampleDpmpp2m, sampleDpmpp2mSde } from "../../../src/samplers/index.ts";
import { absSumMean, dummyModel, dummyNoiseDeter, dummySampleDeter } from "../../support/diffusers-dummies.ts";
import { expectArgumentError } from "../../support/errors.ts";
import { fullLoop, make, overConfigs } from "./support-dpm.ts";

const CLS = "EDMDPMSolverMultistepScheduler";
const BASE = {
  sigma_min: 0.002,
  sigma_max: 80.0,
  sigma_data: 0.5,
  num_train_timesteps: 1000,
  solver_order: 2,
  prediction_type: "epsilon",
  thresholding: false,
  sample_max_value: 1.0,
  algorithm_type: "dpmsolver++",
  solver_type: "midpoint",
  lower_order_final: false,
  euler_at_final: false,
  final_sigmas_type: "sigma_min",
};
const mean = (extra: Record<string, unknown> = {}) => absSumMean(fullLoop(make(CLS, BASE, extra))).mean;

describe("EDMDPMSolverMultistepScheduler: diffusers' full-loop values", () => {
  it("test_full_loop_no_noise", () => expect(Math.abs(mean() - 0.0001)).toBeLessThan(1e-3));
  it("test_full_loop_no_noise_thres", () => expect(Math.abs(mean({ thresholding: true, dynamic_thresholding_ratio: 0.87, sample_max_value: 0.5 }) - 0.008)).toBeLessThan(1e-3));
  it("test_full_loop_with_v_prediction", () => expect(Math.abs(mean({ prediction_type: "v_prediction" }) - 0.0092)).toBeLessThan(1e-3));
  it("test_full_loop_with_noise", () => {
    const s = make(CLS, BASE);
    s.setTimesteps(10);
    const timesteps = s.timesteps.slice(5 * s.order);
    let x = s.addNoise(dummySampleDeter(), dummyNoiseDeter(), timesteps.slice(0, 1));
    for (const t of timesteps) x = s.step(dummyModel(x, t), t, x).prevSample;
    const { sum, mean: m } = absSumMean(x);
    expect(Math.abs(sum - 8.1661)).toBeLessThan(1e-2);
    expect(Math.abs(m - 0.0106)).toBeLessThan(1e-3);
  });
});

describe("EDMDPMSolverMultistepScheduler: diffusers' laws", () => {
  it("check_over_configs: thresholding with both predictions, orders, solver types; final-step options", () => {
    const cases: Record<string, unknown>[] = [
      ...[25, 50, 100, 999, 1000].map((num_train_timesteps) => ({ num_train_timesteps })),
      { prediction_type: "v_prediction" },
      { lower_order_final: true },
      { euler_at_final: true },
    ];
    for (const solver_order of [1, 2, 3]) {
      for (const solver_type of ["midpoint", "heun"]) {
        for (const sample_max_value of [0.5, 1.0, 2.0]) {
          for (const prediction_type of ["epsilon", "v_prediction"]) cases.push({ thresholding: true, prediction_type, sample_max_value, solver_order, solver_type });
        }
      }
    }
    for (const c of cases) expect(overConfigs(CLS, BASE, c), JSON.stringify(c)).toBeLessThan(1e-5);
  });

  it("test_inference_steps", () => {
    for (const steps of [1, 2, 3, 5, 10, 50, 100, 999, 1000]) expect(overConfigs(CLS, BASE, {}, steps)).toBeLessThan(1e-5);
  });

  it("test_duplicated_timesteps and the tables: Karras sigmas from sigma_max to sigma_min, timesteps c_noise = log(sigma) / 4", () => {
    const s = make(CLS, BASE);
    s.setTimesteps(1000);
    expect(s.timesteps.length).toBe(1000);
    const sig = s.sigmas as Float64Array;
    // float32 arithmetic as torch's: (float32(80^(1/7)))^7 lands a few ulps from 80
    expect(sig[0]).toBeCloseTo(80, 3);
    expect(sig[999]).toBeCloseTo(0.002, 8);
    expect(sig[1000]).toBe(Math.fround(0.002));
    expect(s.timesteps[0]).toBe(Math.fround(0.25 * Math.fround(Math.log(sig[0]))));
    expect(s.initNoiseSigma).toBeCloseTo(Math.sqrt(6401), 12);
  });

  it("test_step_shape; scale_model_input is EDM's c_in", () => {
    const s = make(CLS, BASE);
    s.setTimesteps(25);
    const x = dummySampleDeter();
    const r = x.map((v) => 0.1 * v);
    expect(s.step(r, s.timesteps[5], x).prevSample.length).toBe(x.length);
    const u = make(CLS, BASE);
    u.setTimesteps(25);
    const scaled = u.scaleModelInput(x, u.timesteps[0]);
    expect(scaled[7] / x[7]).toBeCloseTo(1 / Math.sqrt(80 * 80 + 0.25), 6);
  });
});

describe("EDMDPMSolverMultistepScheduler = the library's DPM-Solver++ samplers on EDM sigmas", () => {
  const MU = 0.7;
  const V = 0.05;
  const den: Denoiser = (x, sigma) => x.map((v) => {
    const s2 = sigma[0] ** 2;
    return (V * v + s2 * MU * Math.tanh((v * MU) / (V + s2))) / (V + s2);
  });
  // the network output whose EDM preconditioning gives the denoiser back: F = (D - c_skip x) / c_out
  function run(s: Scheduler, x0: Float32Array, rng?: Rng): Float32Array {
    let x = x0;
    s.timesteps.forEach((t, i) => {
      const sg = (s.sigmas as Float64Array)[i];
      const d = den(x, Float64Array.of(sg), 1);
      const d2 = sg * sg + 0.25;
      const F = x.map((v, j) => (d[j] - (0.25 / d2) * v) / ((sg * 0.5) / Math.sqrt(d2)));
      x = s.step(F, t, x, { rng }).prevSample;
    });
    return x;
  }
  const close = (a: Float32Array, b: Float32Array) => {
    let m = 0;
    let e = 0;
    for (let j = 0; j < a.length; j++) {
      m = Math.max(m, Math.abs(b[j]));
      e = Math.max(e, Math.abs(a[j] - b[j]));
    }
    expect(e).toBeLessThanOrEqual(1e-5 * m);
  };
  it("dpmsolver++ order 2 = dpmpp_2m (12 steps)", () => {
    const s = createScheduler(CLS, {});
    s.setTimesteps(12);
    const x = new Rng(3).randn(1, 48).map((v) => v * 80);
    close(run(s, x), sampleDpmpp2m(den, x, s.sigmas as Float64Array).x);
  });
  it("sde-dpmsolver++ heun = dpmpp_2m_sde heun with the same noise (12 steps)", () => {
    const s = createScheduler(CLS, { algorithm_type: "sde-dpmsolver++", solver_type: "heun" });
    s.setTimesteps(12);
    const x = new Rng(3).randn(1, 48).map((v) => v * 80);
    close(run(s, x, new Rng(5)), sampleDpmpp2mSde(den, x, s.sigmas as Float64Array, { rng: new Rng(5), solverType: "heun" }).x);
  });
});

describe("EDMDPMSolverMultistepScheduler: arguments", () => {
  it("unknown keys, unsupported values and combinations are errors naming the key", () => {
    expectArgumentError(() => createScheduler(CLS, { beta_schedule: "linear" }), "beta_schedule", "not a EDMDPMSolverMultistepScheduler setting");
    expectArgumentError(() => createScheduler(CLS, { prediction_type: "sample" }), "prediction_type");
    expectArgumentError(() => createScheduler(CLS, { algorithm_type: "dpmsolver" }), "algorithm_type");
    expectArgumentError(() => createScheduler(CLS, { sigma_schedule: "linear" }), "sigma_schedule");
    expectArgumentError(() => createScheduler(CLS, { algorithm_type: "sde-dpmsolver++", solver_order: 3 }), "solver_order");
  });

  it("round-trips every config the tests use", () => {
    for (const c of [{}, { prediction_type: "v_prediction" }, { thresholding: true, dynamic_thresholding_ratio: 0.87, sample_max_value: 0.5 }, { sigma_schedule: "exponential" }]) {
      const s = make(CLS, BASE, c);
      expect(schedulerFromJson(s.toJson()).toJson()).toBe(s.toJson());
    }
  });
});
