// diffusers' EulerDiscreteScheduler (EDM, Karras et al. 2022, Alg. 2 without the correction, with churn)
// and EulerAncestralDiscreteScheduler (k-diffusion sample_euler_ancestral). The steps are the library's
// eulerStep and ancestral split / update; this file holds diffusers' tables and bookkeeping.

import { dlog } from "../../math/detmath.ts";
import { eulerStep } from "../../samplers/ode.ts";
import { ancestralStep, ancestralUpdate, churnGamma } from "../../samplers/steps.ts";
import { ArgumentError } from "../../validate.ts";
import { bool, choice, readConfig, type ConfigSpec } from "./config.ts";
import { interpSigmas, sigmaSpacingOf, sigmaToTimestep, spacedTimesteps, type TimestepSpacing } from "./discrete-sigmas.ts";
import {
  discreteSchedule,
  FINAL_SIGMAS_KEY,
  respaced,
  predictionKey,
  refuseCustomWithSpacing,
  SIGMA_RANGE_KEYS,
  SPACING_FLAG_KEYS,
  TIMESTEP_KEYS,
} from "./discrete-schedule.ts";
import { checkCount, denoisedOf, SigmaScheduler, trainingTable } from "./sigma-base.ts";
import { betaKeys, torchLinspaceF32 } from "./tables.ts";
import type { SchedulerFactory, SetTimestepsOptions, StepOptions, StepResult } from "./types.ts";

const fround = Math.fround;
const SCHEDULES = ["linear", "scaled_linear", "squaredcos_cap_v2"] as const;

const EULER_SPEC: ConfigSpec = {
  ...betaKeys({ schedules: SCHEDULES }),
  prediction_type: predictionKey(),
  interpolation_type: { default: "linear", check: choice(["linear", "log_linear"]) },
  ...SPACING_FLAG_KEYS,
  ...SIGMA_RANGE_KEYS,
  timestep_spacing: TIMESTEP_KEYS.timestep_spacing,
  timestep_type: { default: "discrete", check: choice(["discrete", "continuous"]) },
  steps_offset: TIMESTEP_KEYS.steps_offset,
  rescale_betas_zero_snr: { default: false, check: bool },
  ...FINAL_SIGMAS_KEY,
};

/** Continuous timesteps (EDM's c_noise = log(sigma) / 4) are what diffusers uses for v-prediction with timestep_type "continuous". */
function continuousTimesteps(sigmas: ArrayLike<number>, n: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => fround(0.25 * fround(dlog(sigmas[i]))));
}

export class EulerDiscreteScheduler extends SigmaScheduler {
  readonly order = 1;
  private readonly table: Float32Array;
  private readonly logSigmas: Float64Array;

  constructor(raw: Record<string, unknown> = {}) {
    super("EulerDiscreteScheduler", readConfig("EulerDiscreteScheduler", raw, EULER_SPEC));
    sigmaSpacingOf(this.config);
    const { table, logSigmas } = trainingTable(this.config);
    this.table = table;
    this.logSigmas = logSigmas;
    // before set_timesteps: the whole training table, descending, then 0
    const T = table.length;
    this.sigmas = Float64Array.from({ length: T + 1 }, (_, i) => (i < T ? table[T - 1 - i] : 0));
    this.timesteps = this.continuous ? continuousTimesteps(this.sigmas, T) : Float64Array.from({ length: T }, (_, i) => T - 1 - i);
  }

  private get continuous(): boolean {
    return this.config.timestep_type === "continuous" && this.config.prediction_type === "v_prediction";
  }

  setTimesteps(numInferenceSteps: number | null, opts: SetTimestepsOptions = {}): void {
    checkCount(numInferenceSteps, opts, { timesteps: true, sigmas: true });
    refuseCustomWithSpacing(this.config, opts.timesteps);
    if (opts.timesteps !== undefined && this.continuous) throw new ArgumentError("timesteps", "cannot be set with timestep_type \"continuous\" and prediction_type \"v_prediction\"");
    const n = numInferenceSteps ?? (opts.timesteps ? opts.timesteps.length : (opts.sigmas as ArrayLike<number>).length - 1);
    let timesteps: Float64Array;
    let sigmas: Float64Array;
    if (opts.sigmas !== undefined) {
      // custom sigmas (their last is the final one): timesteps by log-sigma interpolation
      sigmas = Float64Array.from(opts.sigmas, fround);
      timesteps = sigmas.subarray(0, sigmas.length - 1).map((s) => sigmaToTimestep(s, this.logSigmas));
    } else {
      timesteps = opts.timesteps
        ? Float64Array.from(opts.timesteps, fround)
        : spacedTimesteps(this.config.timestep_spacing as TimestepSpacing, this.table.length, n, this.config.steps_offset as number);
      let base: Float64Array;
      if (this.config.interpolation_type === "log_linear") {
        // diffusers: torch.linspace(log sigma_min, log sigma_max, n + 1).exp() in float32 (ascending, as it is)
        const T = this.table.length;
        const lin = torchLinspaceF32(fround(dlog(this.table[T - 1])), fround(dlog(this.table[0])), n + 1);
        base = Float64Array.from(lin, (v) => fround(Math.exp(v)));
      } else {
        base = interpSigmas(timesteps, this.table);
      }
      ({ timesteps, sigmas } = respaced(this.config, timesteps, base, this.logSigmas, n));
      const last = this.config.final_sigmas_type === "sigma_min" ? this.table[0] : 0;
      const all = new Float64Array(sigmas.length + 1);
      all.set(sigmas);
      all[sigmas.length] = last;
      sigmas = all.map(fround);
    }
    this.sigmas = sigmas;
    this.timesteps = this.continuous ? continuousTimesteps(sigmas, sigmas.length - 1) : timesteps.map(fround);
    this.resetRun();
  }

  /**
   * EDM Alg. 2 lines 4-8: churn raises sigma to sigmaHat = sigma (1 + gamma) with fresh noise (opts.sNoise
   * scale), then one Euler step to the next sigma.
   */
  step(modelOutput: Float32Array, t: number, sample: Float32Array, opts: StepOptions = {}): StepResult {
    this.checkStep(modelOutput, sample);
    const i = this.currentIndex(t);
    const sigma = this.sigmas[i];
    const gamma = churnGamma(sigma, this.sigmas.length - 1, opts.sChurn ?? 0, opts.sTmin ?? 0, opts.sTmax ?? Infinity);
    const sigmaHat = fround(sigma * (gamma + 1));
    let x = sample;
    if (gamma > 0) {
      const z = this.drawNoise(opts, sample.length, i);
      const c = fround(Math.sqrt(fround(fround(sigmaHat * sigmaHat) - fround(sigma * sigma))));
      const sn = opts.sNoise ?? 1;
      x = sample.map((v, j) => v + fround(fround(z[j] * sn) * c));
    }
    // diffusers converts epsilon with sigmaHat and v-prediction with sigma
    const x0 = denoisedOf(this.config.prediction_type as string, modelOutput, x, this.config.prediction_type === "v_prediction" ? sigma : sigmaHat);
    const prevSample = new Float32Array(x.length);
    eulerStep(prevSample, x, x0, sigmaHat, this.sigmas[i + 1]);
    this.stepIdx = i + 1;
    return { prevSample, predOriginalSample: x0 };
  }

  /**
   * diffusers' get_velocity: sqrt(abar) noise - sqrt(1 - abar) sample, with abar read at the position of
   * t in the inference timesteps (as diffusers indexes alphas_cumprod, whatever that position means).
   */
  getVelocity(sample: Float32Array, noise: Float32Array, timesteps: ArrayLike<number> | number): Float32Array {
    const ts = typeof timesteps === "number" ? [timesteps] : Array.from(timesteps);
    if (ts.length === 0 || sample.length % ts.length !== 0 || noise.length !== sample.length) {
      throw new ArgumentError("timesteps", `must hold one timestep or one per item, with noise as long as the sample (${sample.length})`);
    }
    const ac = trainingTable(this.config).alphasCumprod;
    const size = sample.length / ts.length;
    const idx = ts.map((t) => this.indexForTimestep(t));
    return sample.map((v, j) => {
      const a = ac[idx[ts.length === 1 ? 0 : Math.floor(j / size)]];
      return fround(fround(Math.sqrt(a)) * noise[j]) - fround(fround(Math.sqrt(fround(1 - a))) * v);
    });
  }
}

const ANCESTRAL_SPEC: ConfigSpec = {
  ...betaKeys({ schedules: SCHEDULES }),
  prediction_type: predictionKey(["epsilon", "v_prediction"]),
  ...TIMESTEP_KEYS,
  rescale_betas_zero_snr: { default: false, check: bool },
};

export class EulerAncestralDiscreteScheduler extends SigmaScheduler {
  readonly order = 1;
  private readonly table: Float32Array;
  private readonly logSigmas: Float64Array;

  constructor(raw: Record<string, unknown> = {}) {
    super("EulerAncestralDiscreteScheduler", readConfig("EulerAncestralDiscreteScheduler", raw, ANCESTRAL_SPEC));
    const { table, logSigmas } = trainingTable(this.config);
    this.table = table;
    this.logSigmas = logSigmas;
    const T = table.length;
    this.sigmas = Float64Array.from({ length: T + 1 }, (_, i) => (i < T ? table[T - 1 - i] : 0));
    this.timesteps = Float64Array.from({ length: T }, (_, i) => T - 1 - i);
  }

  setTimesteps(numInferenceSteps: number | null, opts: SetTimestepsOptions = {}): void {
    checkCount(numInferenceSteps, opts, {});
    const { timesteps, sigmas } = discreteSchedule(this.config, this.table, this.logSigmas, numInferenceSteps as number);
    this.sigmas = Float64Array.from({ length: sigmas.length + 1 }, (_, i) => (i < sigmas.length ? fround(sigmas[i]) : 0));
    this.timesteps = timesteps;
    this.resetRun();
  }

  /** k-diffusion's ancestral step: to sigmaDown along the ODE, then noise of scale sigmaUp (eta = 1). */
  step(modelOutput: Float32Array, t: number, sample: Float32Array, opts: StepOptions = {}): StepResult {
    this.checkStep(modelOutput, sample);
    const i = this.currentIndex(t);
    const sigma = this.sigmas[i];
    const x0 = denoisedOf(this.config.prediction_type as string, modelOutput, sample, sigma);
    const split = ancestralStep(sigma, this.sigmas[i + 1], 1);
    const prevSample = new Float32Array(sample.length);
    ancestralUpdate(prevSample, sample, x0, sigma, split, split.sigmaUp > 0 ? this.drawNoise(opts, sample.length, i) : null);
    this.stepIdx = i + 1;
    return { prevSample, predOriginalSample: x0 };
  }
}

export const EULER_SCHEDULERS: Record<string, SchedulerFactory> = {
  EulerDiscreteScheduler: (c) => new EulerDiscreteScheduler(c),
  EulerAncestralDiscreteScheduler: (c) => new EulerAncestralDiscreteScheduler(c),
};
