// diffusers' CMStochasticIterativeScheduler: multistep consistency sampling (Song et al. 2023, Alg. 1) on
// Karras sigmas (EDM eq. 5), with the consistency parameterisation's boundary-condition scalings (App. C):
// f = c_skip x + c_out F, c_skip = sd^2 / ((s - eps)^2 + sd^2), c_out = (s - eps) sd / sqrt(s^2 + sd^2),
// eps = sigma_min. The re-noising step is the library's consistencyStep.

import { dlog, dpow } from "../../math/detmath.ts";
import { consistencyStep } from "../../samplers/consistency.ts";
import { ArgumentError } from "../../validate.ts";
import { bool, integer, num, readConfig, type ConfigSpec } from "./config.ts";
import { npArange, npLinspace, npRound } from "./numpy.ts";
import { scaleBy, SigmaScheduler } from "./sigma-base.ts";
import type { SchedulerFactory, SetTimestepsOptions, StepOptions, StepResult } from "./types.ts";

const fround = Math.fround;

const CM_SPEC: ConfigSpec = {
  num_train_timesteps: { default: 40, check: integer(2, 100_000) },
  sigma_min: { default: 0.002, check: num(0, Infinity, { openLo: true }) },
  sigma_max: { default: 80.0, check: num(0, Infinity, { openLo: true }) },
  sigma_data: { default: 0.5, check: num(0, Infinity, { openLo: true }) },
  s_noise: { default: 1.0, check: num(0, Infinity) },
  rho: { default: 7.0, check: num(0, Infinity, { openLo: true }) },
  clip_denoised: { default: true, check: bool },
};

export class CMStochasticIterativeScheduler extends SigmaScheduler {
  readonly order = 1;

  constructor(raw: Record<string, unknown> = {}) {
    super("CMStochasticIterativeScheduler", readConfig("CMStochasticIterativeScheduler", raw, CM_SPEC));
    const sigmas = this.karras(npLinspace(0, 1, this.config.num_train_timesteps as number));
    this.sigmas = sigmas;
    this.timesteps = sigmas.map((s) => this.sigmaToT(s));
  }

  override get initNoiseSigma(): number {
    return this.config.sigma_max as number;
  }

  /** EDM eq. 5 over a ramp in [0, 1], numpy float64. */
  private karras(ramp: Float64Array): Float64Array {
    const rho = this.config.rho as number;
    const a = dpow(this.config.sigma_max as number, 1 / rho);
    const b = dpow(this.config.sigma_min as number, 1 / rho);
    return ramp.map((r) => dpow(a + r * (b - a), rho));
  }

  /** The consistency model's time input: 1000 * 0.25 log(sigma + 1e-44). */
  sigmaToT(sigma: number): number {
    return 1000 * 0.25 * dlog(sigma + 1e-44);
  }

  /**
   * n steps (training timesteps spaced by num_train_timesteps // n) or custom integer timesteps
   * (descending, below num_train_timesteps), mapped to Karras sigmas; the final sigma is sigma_min.
   */
  setTimesteps(numInferenceSteps: number | null, opts: SetTimestepsOptions = {}): void {
    if (opts.sigmas !== undefined) throw new ArgumentError("sigmas", "are not accepted by CMStochasticIterativeScheduler's setTimesteps");
    const T = this.config.num_train_timesteps as number;
    let ts: number[];
    if (opts.timesteps !== undefined) {
      if (numInferenceSteps !== null && numInferenceSteps !== undefined) throw new ArgumentError("numInferenceSteps", "must be null when timesteps are given");
      ts = Array.from(opts.timesteps, (t, i) => {
        if (!Number.isInteger(t)) throw new ArgumentError(`timesteps[${i}]`, `must be an integer, got ${t}`);
        return t;
      });
      for (let i = 1; i < ts.length; i++) if (ts[i] >= ts[i - 1]) throw new ArgumentError("timesteps", "must be in descending order");
      if (ts.length === 0 || ts[0] >= T) throw new ArgumentError("timesteps", `must start below num_train_timesteps (${T}), got ${ts[0]}`);
    } else {
      const n = numInferenceSteps;
      if (n === null || n === undefined || !Number.isInteger(n) || n < 1) throw new ArgumentError("numInferenceSteps", `must be an integer >= 1 (or timesteps given), got ${n}`);
      if (n > T) throw new ArgumentError("numInferenceSteps", `cannot exceed num_train_timesteps (${T}), got ${n}`);
      const ratio = Math.floor(T / n);
      ts = Array.from(npArange(0, n), (i) => npRound(i * ratio)).reverse();
    }
    // the ramp runs up the reversed timesteps, so sigma_max comes first (openai/consistency_models' karras_sample)
    const ramp = Float64Array.from(ts.slice().reverse(), (t) => t / (T - 1));
    const sigmas = this.karras(ramp);
    this.timesteps = sigmas.map((s) => this.sigmaToT(s));
    const all = new Float64Array(sigmas.length + 1);
    all.set(sigmas);
    all[sigmas.length] = this.config.sigma_min as number;
    this.sigmas = all.map(fround);
    this.resetRun();
  }

  override scaleModelInput(sample: Float32Array, t: number): Float32Array {
    return scaleBy(sample, this.sigmas[this.currentIndex(t)], this.config.sigma_data as number);
  }

  /**
   * Alg. 1: x0 = f(x, sigma) with the boundary-condition scalings (clamped to [-1, 1] with clip_denoised),
   * then x0 + s_noise sqrt(sigmaNext^2 - sigma_min^2) z, sigmaNext clamped to [sigma_min, sigma_max]. A run
   * of one timestep draws no noise.
   */
  step(modelOutput: Float32Array, t: number, sample: Float32Array, opts: StepOptions = {}): StepResult {
    this.checkStep(modelOutput, sample);
    const i = this.currentIndex(t);
    const c = this.config;
    const eps = c.sigma_min as number;
    const sd = c.sigma_data as number;
    const sigma = fround(this.sigmas[i]);
    const next = i + 1 < (c.num_train_timesteps as number) ? this.sigmas[i + 1] : this.sigmas[this.sigmas.length - 1];
    const se = fround(sigma - eps);
    const cSkip = fround(fround(sd * sd) / fround(fround(se * se) + fround(sd * sd)));
    const cOut = fround(fround(se * sd) / fround(Math.sqrt(fround(fround(sigma * sigma) + fround(sd * sd)))));
    const x0 = sample.map((v, j) => fround(cOut * modelOutput[j]) + fround(cSkip * v));
    if (c.clip_denoised === true) for (let j = 0; j < x0.length; j++) x0[j] = Math.min(1, Math.max(-1, x0[j]));
    const sigmaHat = Math.min(c.sigma_max as number, Math.max(eps, next));
    const z = this.timesteps.length > 1 ? this.drawNoise(opts, sample.length, i) : null;
    const prevSample = new Float32Array(sample.length);
    consistencyStep(prevSample, x0, z, sigmaHat, eps, c.s_noise as number);
    this.stepIdx = i + 1;
    return { prevSample };
  }
}

export const CM_SCHEDULERS: Record<string, SchedulerFactory> = {
  CMStochasticIterativeScheduler: (c) => new CMStochasticIterativeScheduler(c),
};
