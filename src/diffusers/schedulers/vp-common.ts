// What the VP-space schedulers (DDPM, DDIM and their variants, PNDM, LCM, TCD) share: the config keys of
// the training table and of the x0 estimate, the float32 alphas_cumprod, add_noise and get_velocity, the
// x0 / eps of a model output with clipping or dynamic thresholding, and the per-step noise.

import { Rng } from "../../rng.ts";
import { clipX0, thresholdX0, vpX0Eps, type VpPrediction } from "../../samplers/vp-steps.ts";
import { ArgumentError, f32 } from "../../validate.ts";
import { bool, choice, configToJson, integer, num, readConfig, type ConfigSpec } from "./config.ts";
import { alphasOf, betaKeys, betasOf, cumprodF32, rescaleZeroTerminalSnrF32 } from "./tables.ts";
import type { Scheduler, SetTimestepsOptions, Shape, StepOptions, StepResult } from "./types.ts";

const fround = Math.fround;

export const PREDICTION_TYPES = ["epsilon", "sample", "v_prediction"] as const;

/** The keys of the x0 estimate: prediction type, clipping and Imagen's dynamic thresholding. */
export const X0_KEYS: ConfigSpec = {
  prediction_type: { default: "epsilon", check: choice(PREDICTION_TYPES) },
  clip_sample: { default: true, check: bool },
  clip_sample_range: { default: 1.0, check: num(0, Infinity, { openLo: true }) },
  thresholding: { default: false, check: bool },
  dynamic_thresholding_ratio: { default: 0.995, check: num(0, 1) },
  sample_max_value: { default: 1.0, check: num(0, Infinity, { openLo: true }) },
};

/** Keys of the timestep table. */
export function spacingKeys(spacings: readonly string[] = ["leading", "trailing", "linspace"]): ConfigSpec {
  return {
    timestep_spacing: { default: "leading", check: choice(spacings) },
    steps_offset: { default: 0, check: integer(0, 100_000) },
    rescale_betas_zero_snr: { default: false, check: bool },
  };
}

/** The shape of a step's sample: [B, ...] from opts.shape (checked against the length), else one item. */
export function batchOf(sample: Float32Array, shape: Shape | undefined): number {
  if (shape === undefined) return 1;
  if (!Array.isArray(shape) || shape.length < 1 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new ArgumentError("shape", `must be an array of positive integers [B, ...], got ${String(shape)}`);
  }
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== sample.length) throw new ArgumentError("shape", `[${shape.join(", ")}] holds ${size} values, but the sample has ${sample.length}`);
  return shape[0];
}

/** A diffusers discrete VP scheduler's state: config, float32 tables, timesteps, and the shared methods. */
export abstract class VpScheduler implements Scheduler {
  readonly config: Readonly<Record<string, unknown>>;
  readonly betas: Float32Array;
  readonly alphas: Float32Array;
  readonly alphasCumprod: Float32Array;
  readonly initNoiseSigma: number = 1;
  order = 1;
  timesteps: Float64Array;
  stepIndex: number | null = null;
  protected beginIndex: number | null = null;
  /** diffusers' num_inference_steps: null until setTimesteps. */
  numInferenceSteps: number | null = null;

  constructor(
    readonly className: string,
    raw: Record<string, unknown>,
    spec: ConfigSpec,
  ) {
    this.config = Object.freeze(readConfig(className, raw, spec));
    let betas = betasOf(this.config);
    if (this.config.rescale_betas_zero_snr === true) betas = rescaleZeroTerminalSnrF32(betas);
    this.betas = betas;
    this.alphas = alphasOf(betas);
    this.alphasCumprod = cumprodF32(this.alphas);
    this.timesteps = Float64Array.from({ length: this.T }, (_, i) => this.T - 1 - i);
  }

  get T(): number {
    return this.config.num_train_timesteps as number;
  }

  abstract setTimesteps(numInferenceSteps: number | null, opts?: SetTimestepsOptions): void;
  abstract step(modelOutput: Float32Array, t: number, sample: Float32Array, opts?: StepOptions): StepResult;

  /** VP schedulers feed the sample to the model unscaled. */
  scaleModelInput(sample: Float32Array, t: number): Float32Array {
    f32("sample", sample);
    this.checkT("t", t);
    return sample;
  }

  setBeginIndex(beginIndex: number): void {
    if (!Number.isInteger(beginIndex) || beginIndex < 0) throw new ArgumentError("beginIndex", `must be an integer >= 0, got ${beginIndex}`);
    this.beginIndex = beginIndex;
  }

  toJson(): string {
    const { _class_name: _c, ...rest } = this.config as Record<string, unknown>;
    return configToJson(this.className, rest);
  }

  /** An integer training timestep in [0, T). */
  protected checkT(arg: string, t: unknown): number {
    if (typeof t !== "number" || !Number.isInteger(t) || t < 0 || t >= this.T) {
      throw new ArgumentError(arg, `must be an integer timestep in [0, ${this.T - 1}], got ${String(t)}`);
    }
    return t;
  }

  /** The index of t in the current timesteps; an ArgumentError naming t when it is not there. */
  protected indexOf(t: number): number {
    const i = this.timesteps.indexOf(t);
    if (i < 0) throw new ArgumentError("t", `${t} is not one of this run's timesteps (${this.timesteps.length} from ${this.timesteps[0]} to ${this.timesteps[this.timesteps.length - 1]}); call setTimesteps first`);
    return i;
  }

  /** Per-item timesteps of addNoise / getVelocity: one for all, or one per item. */
  private perItem(arg: string, n: number, timesteps: ArrayLike<number> | number): { ts: number[]; size: number } {
    const ts = typeof timesteps === "number" ? [timesteps] : Array.from(timesteps);
    if (ts.length < 1 || n % ts.length !== 0) throw new ArgumentError("timesteps", `must hold one timestep, or one per item of the ${n} values, got ${ts.length}`);
    ts.forEach((t, i) => this.checkT(`timesteps[${i}]`, t));
    return { ts, size: n / ts.length };
  }

  /** q(x_t | x_0) (Ho et al. 2020, eq. 4): sqrt(abar_t) x0 + sqrt(1 - abar_t) noise, float32 as diffusers. */
  addNoise(original: Float32Array, noise: Float32Array, timesteps: ArrayLike<number> | number): Float32Array {
    return this.mix(original, noise, timesteps, 1);
  }

  /** v = sqrt(abar_t) noise - sqrt(1 - abar_t) sample (Salimans & Ho 2022, sec. 4). */
  getVelocity(sample: Float32Array, noise: Float32Array, timesteps: ArrayLike<number> | number): Float32Array {
    return this.mix(noise, sample, timesteps, -1);
  }

  private mix(a: Float32Array, b: Float32Array, timesteps: ArrayLike<number> | number, sign: 1 | -1): Float32Array {
    f32("original", a);
    f32("noise", b);
    if (a.length !== b.length) throw new ArgumentError("noise", `must have the sample's length ${a.length}, got ${b.length}`);
    const { ts, size } = this.perItem("timesteps", a.length, timesteps);
    const out = new Float32Array(a.length);
    ts.forEach((t, k) => {
      const ab = this.alphasCumprod[t];
      const sa = fround(Math.sqrt(ab));
      const sb = fround(Math.sqrt(fround(1 - ab)));
      for (let j = k * size; j < (k + 1) * size; j++) out[j] = fround(fround(sa * a[j]) + sign * fround(sb * b[j]));
    });
    return out;
  }

  /**
   * x0 and eps of a model output at abar (one per item), x0 clipped (clip_sample) or dynamically
   * thresholded (thresholding, per item: needs opts.shape for a batch).
   */
  protected predict(m: Float32Array, x: Float32Array, abar: number[], batch: number, shapeGiven: boolean): { x0: Float32Array; eps: Float32Array } {
    if (this.config.thresholding && !shapeGiven) throw new ArgumentError("shape", "is needed with thresholding: the quantile is taken per item, so the batch size must be known (opts.shape = [B, ...])");
    const r = vpX0Eps(this.config.prediction_type as VpPrediction, m, x, abar);
    if (this.config.thresholding) thresholdX0(r.x0, batch, this.config.dynamic_thresholding_ratio as number, this.config.sample_max_value as number);
    else if (this.config.clip_sample) clipX0(r.x0, this.config.clip_sample_range as number);
    return r;
  }

  /**
   * A step's noise: opts.noise, else standard normals from opts.rng.stream(index) (index = the step's
   * position in the timesteps, as the library's samplers draw step i from rng.stream(i), so one Rng
   * passed to every step gives fresh noise each step); naming what is missing otherwise.
   */
  protected stepNoise(n: number, batch: number, opts: StepOptions, index: number): Float32Array {
    if (opts.noise !== undefined && opts.rng !== undefined) throw new ArgumentError("noise", "and rng cannot both be given (diffusers: variance_noise and generator)");
    if (opts.noise !== undefined) {
      f32("noise", opts.noise);
      if (opts.noise.length !== n) throw new ArgumentError("noise", `must hold ${n} values (the sample's), got ${opts.noise.length}`);
      return opts.noise;
    }
    if (opts.rng !== undefined) {
      if (!(opts.rng instanceof Rng)) throw new ArgumentError("rng", "must be an Rng");
      return opts.rng.stream(index).randn(batch, n / batch);
    }
    throw new ArgumentError("noise", `${this.className}'s step is stochastic here: pass opts.noise (diffusers' variance_noise) or opts.rng`);
  }

  /** Common checks of step(): arrays, lengths, t. */
  protected checkStep(modelOutput: Float32Array, t: number, sample: Float32Array, modelLength = sample.length): void {
    f32("modelOutput", modelOutput);
    f32("sample", sample);
    if (modelOutput.length !== modelLength) throw new ArgumentError("modelOutput", `must hold ${modelLength} values, got ${modelOutput.length}`);
    this.checkT("t", t);
  }
}
