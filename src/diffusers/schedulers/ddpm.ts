// diffusers' DDPMScheduler and DDPMParallelScheduler: ancestral sampling from the DDPM posterior (Ho et
// al. 2020, Alg. 2 / eqs. 6-7) between the timesteps of a (strided) run, with diffusers' variance
// choices. The step arithmetic is src/samplers/vp-steps.ts.

import { ddpmAddNoise, ddpmPosteriorMean, ddpmVariances } from "../../samplers/vp-steps.ts";
import { ArgumentError, f32 } from "../../validate.ts";
import { choice, type ConfigSpec } from "./config.ts";
import { checkCustomTimesteps, checkStepCount, integerTimesteps, type Spacing } from "./spacing.ts";
import { betaKeys, BETA_SCHEDULES } from "./tables.ts";
import type { SetTimestepsOptions, StepOptions, StepResult } from "./types.ts";
import { batchOf, spacingKeys, VpScheduler, X0_KEYS } from "./vp-common.ts";

/**
 * variance_type values. fixed_large_log is refused: diffusers' step takes the square root of
 * log(beta) < 0 there and returns NaN samples, so there is nothing faithful to implement.
 */
const VARIANCE_TYPES = ["fixed_small", "fixed_small_log", "fixed_large", "learned", "learned_range"] as const;
type VarianceType = (typeof VARIANCE_TYPES)[number];

const varianceCheck = (key: string, v: unknown): unknown => {
  if (v === "fixed_large_log") {
    throw new ArgumentError(key, `"fixed_large_log" is not implemented: diffusers' DDPMScheduler.step takes sqrt(log(beta)) there, which is NaN; use one of ${VARIANCE_TYPES.map((s) => JSON.stringify(s)).join(", ")}`);
  }
  return choice(VARIANCE_TYPES)(key, v);
};

export const DDPM_SPEC: ConfigSpec = {
  ...betaKeys({ schedules: BETA_SCHEDULES }),
  variance_type: { default: "fixed_small", check: varianceCheck },
  ...X0_KEYS,
  ...spacingKeys(),
};

export class DDPMScheduler extends VpScheduler {
  private customTimesteps = false;

  constructor(config: Record<string, unknown> = {}, className = "DDPMScheduler") {
    super(className, config, DDPM_SPEC);
  }

  setTimesteps(numInferenceSteps: number | null, opts: SetTimestepsOptions = {}): void {
    if (opts.sigmas !== undefined) throw new ArgumentError("sigmas", `${this.className} takes custom timesteps, not sigmas`);
    if (opts.timesteps !== undefined) {
      if (numInferenceSteps !== null && numInferenceSteps !== undefined) throw new ArgumentError("timesteps", "give either numInferenceSteps or timesteps, not both");
      this.timesteps = checkCustomTimesteps(opts.timesteps, this.T);
      this.customTimesteps = true;
      this.numInferenceSteps = this.timesteps.length;
    } else {
      const n = checkStepCount(numInferenceSteps, this.T);
      this.timesteps = integerTimesteps(this.config.timestep_spacing as Spacing, this.T, n, this.config.steps_offset as number);
      this.customTimesteps = false;
      this.numInferenceSteps = n;
    }
    this.stepIndex = null;
  }

  /** diffusers' previous_timestep: the next entry of the run's timesteps (-1 after the last), or t - 1 before setTimesteps. */
  previousTimestep(t: number): number {
    this.checkT("t", t);
    if (this.customTimesteps || this.numInferenceSteps !== null) {
      const i = this.indexOf(t);
      return i === this.timesteps.length - 1 ? -1 : this.timesteps[i + 1];
    }
    return t - 1;
  }

  /** diffusers' _get_variance(t) for the configured fixed variance type (test hook; the learned types need the model). */
  getVariance(t: number): number {
    const prev = this.previousTimestep(t);
    const v = ddpmVariances(this.alphasCumprod[t], prev >= 0 ? this.alphasCumprod[prev] : 1);
    const type = this.config.variance_type as VarianceType;
    if (type === "fixed_large") return v.beta;
    if (type === "fixed_small") return v.betaTilde;
    if (type === "fixed_small_log") return Math.fround(Math.exp(0.5 * Math.log(v.betaTilde)));
    throw new ArgumentError("variance_type", `"${type}" reads the variance from the model output; getVariance has none`);
  }

  /** Split [B, 2C, ...] model outputs into the prediction and the predicted variance (improved DDPM's learned variances). */
  protected splitLearned(modelOutput: Float32Array, sample: Float32Array, opts: StepOptions): { m: Float32Array; pv: Float32Array | null } {
    const learned = this.config.variance_type === "learned" || this.config.variance_type === "learned_range";
    if (!learned || modelOutput.length !== 2 * sample.length) return { m: modelOutput, pv: null };
    if (opts.shape === undefined) throw new ArgumentError("shape", `is needed to split the ${this.config.variance_type} variance channels from the model output`);
    const batch = batchOf(sample, opts.shape);
    const n = sample.length / batch;
    const m = new Float32Array(sample.length);
    const pv = new Float32Array(sample.length);
    for (let b = 0; b < batch; b++) {
      m.set(modelOutput.subarray(2 * b * n, (2 * b + 1) * n), b * n);
      pv.set(modelOutput.subarray((2 * b + 1) * n, (2 * b + 2) * n), b * n);
    }
    return { m, pv };
  }

  step(modelOutput: Float32Array, t: number, sample: Float32Array, opts: StepOptions = {}): StepResult {
    const learned = this.config.variance_type === "learned" || this.config.variance_type === "learned_range";
    f32("modelOutput", modelOutput);
    this.checkStep(modelOutput, t, sample, learned && modelOutput.length === 2 * sample.length ? 2 * sample.length : sample.length);
    const { m, pv } = this.splitLearned(modelOutput, sample, opts);
    if (learned && pv === null) throw new ArgumentError("modelOutput", `must hold twice the sample's values (the ${this.config.variance_type} variance channels) for variance_type "${this.config.variance_type}"`);
    const batch = batchOf(sample, opts.shape);
    const prev = this.previousTimestep(t);
    const abar = this.alphasCumprod[t];
    const abarPrev = prev >= 0 ? this.alphasCumprod[prev] : 1;
    const { x0 } = this.predict(m, sample, [abar], batch, opts.shape !== undefined);
    const prevSample = ddpmPosteriorMean(x0, sample, [abar], [abarPrev]);
    const index = this.numInferenceSteps !== null ? this.indexOf(t) : this.T - 1 - t;
    // diffusers adds noise whenever t > 0, also on a last step that ends at -1 (betaTilde clamps to 1e-20 there)
    if (t > 0) {
      const z = this.stepNoise(sample.length, batch, opts, index);
      ddpmAddNoise(prevSample, z, this.config.variance_type as VarianceType, ddpmVariances(abar, abarPrev), pv);
    }
    this.stepIndex = index + 1;
    return { prevSample, predOriginalSample: x0 };
  }
}

/**
 * ParaDiGMS (Shih et al. 2023) DDPM: DDPMScheduler plus batchStepNoNoise, the noiseless posterior mean
 * of many items at once, each at its own timestep.
 */
export class DDPMParallelScheduler extends DDPMScheduler {
  constructor(config: Record<string, unknown> = {}) {
    super(config, "DDPMParallelScheduler");
  }

  /**
   * diffusers' batch_step_no_noise: item b steps from timesteps[b] to timesteps[b] - T // n (n the
   * inference steps, or T before setTimesteps; abar_prev = 1 below 0), without noise.
   */
  batchStepNoNoise(modelOutput: Float32Array, timesteps: ArrayLike<number>, sample: Float32Array, opts: { shape?: readonly number[] } = {}): Float32Array {
    f32("sample", sample);
    const batch = timesteps.length;
    if (batch < 1 || sample.length % batch !== 0) throw new ArgumentError("timesteps", `must hold one timestep per item of the sample, got ${batch} for ${sample.length} values`);
    const shape = opts.shape ?? [batch, sample.length / batch];
    if (batchOf(sample, shape) !== batch) throw new ArgumentError("timesteps", `must hold one timestep per item (${shape[0]}), got ${batch}`);
    const learned = (this.config.variance_type === "learned" || this.config.variance_type === "learned_range") && modelOutput.length === 2 * sample.length;
    f32("modelOutput", modelOutput);
    if (modelOutput.length !== (learned ? 2 : 1) * sample.length) throw new ArgumentError("modelOutput", `must hold ${sample.length} values, got ${modelOutput.length}`);
    const { m } = this.splitLearned(modelOutput, sample, { shape });
    const stride = Math.floor(this.T / (this.numInferenceSteps ?? this.T));
    const abar: number[] = [];
    const abarPrev: number[] = [];
    for (let b = 0; b < batch; b++) {
      const t = this.checkT(`timesteps[${b}]`, timesteps[b]);
      abar.push(this.alphasCumprod[t]);
      abarPrev.push(t - stride >= 0 ? this.alphasCumprod[t - stride] : 1);
    }
    const { x0 } = this.predict(m, sample, abar, batch, true);
    return ddpmPosteriorMean(x0, sample, abar, abarPrev);
  }
}
