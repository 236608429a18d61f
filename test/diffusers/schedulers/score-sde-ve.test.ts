// ScoreSdeVeScheduler: diffusers' tests/schedulers/test_scheduler_score_sde_ve.py ported (its full loop
// with torch.manual_seed(0) noise, step shapes, config round trips), and the agreement of its predictor and
// corrector with the library's pc sampler steps.

import { describe, expect, it } from "vitest";
import { createScheduler, schedulerFromJson } from "../../../src/diffusers/schedulers/index.ts";
import { ScoreSdeVeScheduler } from "../../../src/diffusers/schedulers/score-sde-ve.ts";
import { samplePc } from "../../../src/samplers/langevin.ts";
import { Rng } from "../../../src/rng.ts";
import { GaussianMixture } from "../../../src/testbed/mixture.ts";
import { absSumMean, DUMMY_SHAPE, dummyModel, dummySampleDeter } from "../../support/diffusers-dummies.ts";
import { expectArgumentError } from "../../support/errors.ts";
import { manualSeed } from "../../support/torch-rng.ts";

const CONFIG = { num_train_timesteps: 2000, snr: 0.15, sigma_min: 0.01, sigma_max: 1348, sampling_eps: 1e-5 };
const isClose = (a: number, b: number) => Math.abs(a - b) <= 1e-8 + 1e-5 * Math.abs(b); // np.isclose

describe("ScoreSdeVeScheduler: diffusers' tests", () => {
  it("test_full_loop_no_noise", () => {
    const s = new ScoreSdeVeScheduler(CONFIG);
    const N = 3;
    let sample = dummySampleDeter();
    s.setSigmas(N);
    s.setTimesteps(N);
    const g = manualSeed(0);
    const shape = [...DUMMY_SHAPE];
    s.timesteps.forEach((t, i) => {
      const sigmaT = s.sigmas[i];
      for (let c = 0; c < (s.config.correct_steps as number); c++) {
        sample = s.stepCorrect(dummyModel(sample, sigmaT), sample, { noise: g.randn(sample.length), shape }).prevSample;
      }
      sample = s.stepPred(dummyModel(sample, sigmaT), t, sample, { noise: g.randn(sample.length), shape }).prevSample;
    });
    const { sum, mean } = absSumMean(sample);
    expect(isClose(sum, 14372758528.0), `sum ${sum}`).toBe(true);
    expect(isClose(mean, 18714530.0), `mean ${mean}`).toBe(true);
  });

  it("test_step_shape", () => {
    const s = new ScoreSdeVeScheduler(CONFIG);
    const g = manualSeed(0);
    const sample = g.rand(4 * 3 * 8 * 8);
    const residual = sample.map((v) => 0.1 * v);
    const o0 = s.stepPred(residual, 0, sample, { noise: manualSeed(0).randn(sample.length) }).prevSample;
    const o1 = s.stepPred(residual, 1, sample, { noise: manualSeed(0).randn(sample.length) }).prevSample;
    expect(o0.length).toBe(sample.length);
    expect(o1.length).toBe(o0.length);
  });

  it("test_timesteps / test_sigmas / test_time_indices: a config saved and reloaded steps identically", () => {
    const g = manualSeed(0);
    const sample = g.rand(4 * 3 * 8 * 8);
    const residual = sample.map((v) => 0.1 * v);
    const configs = [
      ...[10, 100, 1000].map((T) => ({ ...CONFIG, num_train_timesteps: T })),
      ...[[0.0001, 1], [0.001, 100], [0.01, 1000]].map(([lo, hi]) => ({ ...CONFIG, sigma_min: lo, sigma_max: hi })),
    ];
    for (const c of configs) {
      for (const t of [0, 0.1, 0.5, 0.75]) {
        const a = new ScoreSdeVeScheduler(c);
        const b = schedulerFromJson(a.toJson()) as ScoreSdeVeScheduler;
        const pa = a.stepPred(residual, t, sample, { noise: manualSeed(0).randn(sample.length) }).prevSample;
        const pb = b.stepPred(residual, t, sample, { noise: manualSeed(0).randn(sample.length) }).prevSample;
        expect(pb).toEqual(pa);
        const ca = a.stepCorrect(residual, sample, { noise: manualSeed(0).randn(sample.length), shape: [4, 3, 8, 8] }).prevSample;
        const cb = b.stepCorrect(residual, sample, { noise: manualSeed(0).randn(sample.length), shape: [4, 3, 8, 8] }).prevSample;
        expect(cb).toEqual(ca);
      }
    }
  });
});

describe("ScoreSdeVeScheduler: tables and arguments", () => {
  it("timesteps run from 1 to sampling_eps; discrete sigmas are log-uniform from sigma_min to sigma_max", () => {
    const s = new ScoreSdeVeScheduler(CONFIG);
    s.setTimesteps(5);
    s.setSigmas(5);
    expect(s.timesteps[0]).toBe(1);
    expect(s.timesteps[4]).toBe(Math.fround(1e-5));
    expect(s.discreteSigmas[0]).toBeCloseTo(0.01, 7);
    expect(s.discreteSigmas[4]).toBeCloseTo(1348, 2);
    const r = Math.log(s.discreteSigmas[1] / s.discreteSigmas[0]);
    for (let i = 2; i < 5; i++) expect(Math.log(s.discreteSigmas[i] / s.discreteSigmas[i - 1])).toBeCloseTo(r, 5);
    expect(s.initNoiseSigma).toBe(1348);
  });

  it("a stochastic step without noise or rng, a bad key, a bad value are ArgumentErrors", () => {
    const s = new ScoreSdeVeScheduler(CONFIG);
    expectArgumentError(() => s.stepPred(new Float32Array(4), 1, new Float32Array(4)), "noise", "opts.noise or opts.rng");
    expectArgumentError(() => createScheduler("ScoreSdeVeScheduler", { tensor_format: "pt" }), "tensor_format", "not a ScoreSdeVeScheduler setting");
    expectArgumentError(() => createScheduler("ScoreSdeVeScheduler", { correct_steps: 1.5 }), "correct_steps", "integer");
    expectArgumentError(() => createScheduler("ScoreSdeVeScheduler", { sigma_min: 2, sigma_max: 1 }), "sigma_max", "> sigma_min");
  });

  it("addNoise adds the predictor level's sigma times the noise", () => {
    const s = new ScoreSdeVeScheduler(CONFIG);
    s.setSigmas(10);
    const x = new Float32Array(8).fill(1);
    const n = new Float32Array(8).fill(1);
    const out = s.addNoise(x, n, [0, 9]);
    expect(out[0]).toBeCloseTo(1 + s.discreteSigmas[0], 5);
    expect(out[7]).toBeCloseTo(1 + s.discreteSigmas[9], 2);
    expectArgumentError(() => s.addNoise(x, n, [0, 10]), "timesteps[1]", "index");
  });
});

describe("ScoreSdeVeScheduler steps are the library's pc steps", () => {
  it("predictor and one corrector step on a single item reproduce samplePc (reverse diffusion, per-item norms) to float32 rounding", () => {
    // one item: the batch mean of the norms is the item's norm, so diffusers' corrector is Alg. 4 as samplePc takes it
    const mix = GaussianMixture.example2d();
    const s = new ScoreSdeVeScheduler({ ...CONFIG, sigma_min: 0.05, sigma_max: 20, snr: 0.16 });
    const N = 6;
    s.setTimesteps(N);
    s.setSigmas(N);
    const ds = s.discreteSigmas;
    // diffusers' loop: at step i the predictor goes from discrete level k = (t (N-1)).long() to level k-1
    const levels = Array.from(s.timesteps, (t) => Math.trunc(Math.fround(Math.fround(t) * (N - 1))));
    expect(levels).toEqual([5, 4, 3, 2, 1, 0]);
    const sig = [...levels.map((k) => ds[k])];
    const rng = new Rng(11);
    const x0 = new Rng(5).randn(1, 2).map((v) => v * ds[N - 1]);
    // the library: pc on the levels sigma_5 .. sigma_0, then 0 (its last step returns D); keep the step before it
    const lib = samplePc(mix.denoiser, x0, [...sig, 0], { rng, correctorSteps: 1, snr: 0.16, snrNorm: "item", maxSteps: N - 1 }).x;
    // the scheduler on the same noise (samplePc draws step i's predictor noise from rng.stream(i), the corrector's from .stream(i).stream(1))
    let x: Float32Array = Float32Array.from(x0);
    for (let i = 0; i < N - 1; i++) {
      const score = (y: Float32Array) => {
        const d = mix.denoiser(y, new Float64Array([sig[i]]), 1);
        return Float32Array.from(y, (v, j) => (d[j] - v) / (sig[i] * sig[i]));
      };
      x = s.stepCorrect(score(x), x, { noise: rng.stream(i).stream(1).randn(1, 2) }).prevSample;
      x = s.stepPred(score(x), s.timesteps[i], x, { noise: rng.stream(i).randn(1, 2) }).prevSample;
    }
    for (let j = 0; j < 2; j++) expect(Math.abs(x[j] - lib[j])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(lib[j])));
  });
});
