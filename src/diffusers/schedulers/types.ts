// The diffusers scheduler API, in camelCase: a stateful object that mirrors diffusers' SchedulerMixin
// (set_timesteps, scale_model_input, step, add_noise). It is a facade: the math of each method lives
// once, in src/samplers/ (or in a step function both the library's sampler and the facade call); a
// scheduler object only holds diffusers' bookkeeping (the timestep table, the step index, the history
// a multistep method needs).
//
// Tensors are flat Float32Arrays in diffusers' layout [B, C, H, W] (or any [B, ...]). Where a method
// needs the batch (per-item thresholding, per-item timesteps), the shape is explicit.

import type { Rng } from "../../rng.ts";

/** A tensor's shape, batch first. Only needed where a method works per item. */
export type Shape = readonly number[];

export interface SetTimestepsOptions {
  /** Custom timesteps, descending (diffusers' `timesteps=`), instead of a count. */
  timesteps?: ArrayLike<number>;
  /** Custom sigmas, descending (diffusers' `sigmas=`), for the schedulers that accept them. */
  sigmas?: ArrayLike<number>;
  /** Dynamic shifting's mu (flow matching with `use_dynamic_shifting`). */
  mu?: number;
  /** LCM / TCD: the distillation's step count (overrides the config's original_inference_steps). */
  originalInferenceSteps?: number;
  /** LCM / TCD img2img strength in (0, 1]: only the last strength share of the schedule is used. */
  strength?: number;
  /**
   * Flow matching with `use_dynamic_shifting`: the image's latent token count, from which mu is computed as
   * diffusers' pipelines do (calculate_shift with the config's base/max shift and sequence lengths).
   */
  imageSeqLen?: number;
  /** ScoreSdeVe's final time (diffusers' `sampling_eps=` of set_timesteps), overriding the config's. */
  samplingEps?: number;
}

export interface StepOptions {
  /** The noise a stochastic step adds, as diffusers' `variance_noise` (same length as the sample). */
  noise?: Float32Array;
  /** Where a stochastic step draws its noise when `noise` is not given. */
  rng?: Rng;
  /** The sample's shape, [B, ...]; needed for per-item work (thresholding). Default: one item. */
  shape?: Shape;
  /** DDIM's eta, and other per-call arguments diffusers' `step` takes. */
  eta?: number;
  useClippedModelOutput?: boolean;
  /** LMS: the linear multistep order of this step (diffusers' step(order=4)). */
  order?: number;
  /** Consistency models / EDM: churn arguments of diffusers' Euler step. */
  sChurn?: number;
  sTmin?: number;
  sTmax?: number;
  sNoise?: number;
}

export interface StepResult {
  prevSample: Float32Array;
  /** The x0 estimate of this step, where the scheduler reports one (diffusers' pred_original_sample). */
  predOriginalSample?: Float32Array;
}

/**
 * A diffusers scheduler. `timesteps` and `sigmas` are what diffusers exposes after setTimesteps
 * (timesteps as numbers: integer-valued for the integer schedulers, float32 values for the others).
 */
export interface Scheduler {
  /** diffusers' class name, e.g. "DDIMScheduler". */
  readonly className: string;
  /** The full config, diffusers' key names, defaults filled in (what save_config would write). */
  readonly config: Readonly<Record<string, unknown>>;
  /** Model evaluations per step of the method (diffusers' `order`). */
  readonly order: number;
  /** The scale of the initial noise (diffusers' init_noise_sigma). */
  readonly initNoiseSigma: number;
  /** The timesteps of the current run, after setTimesteps. */
  readonly timesteps: Float64Array;
  /** The sigmas of the current run (the schedulers that have them), as diffusers holds them. */
  readonly sigmas?: Float64Array;
  /** The index of the next step (diffusers' step_index), or null before the first step. */
  readonly stepIndex: number | null;
  setTimesteps(numInferenceSteps: number | null, opts?: SetTimestepsOptions): void;
  scaleModelInput(sample: Float32Array, t: number): Float32Array;
  step(modelOutput: Float32Array, t: number, sample: Float32Array, opts?: StepOptions): StepResult;
  /** Noise clean samples to per-item timesteps: `timesteps` has one entry per item, or one for all. */
  addNoise(original: Float32Array, noise: Float32Array, timesteps: ArrayLike<number> | number): Float32Array;
  /** v = alpha_t noise - sigma_t sample (Salimans & Ho 2022), for the VP schedulers. */
  getVelocity?(sample: Float32Array, noise: Float32Array, timesteps: ArrayLike<number> | number): Float32Array;
  setBeginIndex(beginIndex: number): void;
  /** The config as diffusers' scheduler_config.json (with `_class_name`). */
  toJson(): string;
}

/** Builds a scheduler from a checked config (diffusers' key names). */
export type SchedulerFactory = (config: Record<string, unknown>) => Scheduler;
