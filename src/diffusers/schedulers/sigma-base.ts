// What diffusers' sigma-space schedulers (Euler, Euler ancestral, LMS, Heun, KDPM2, EDM Euler, CM) share:
// the step index bookkeeping (index_for_timestep, set_begin_index), add_noise x + sigma n, the input
// scaling, the x0 of a model output, a step's noise, and the training sigma table of the discrete ones.
// The step arithmetic itself is the library's (src/samplers/); these classes only hold diffusers' state.

import { Rng } from "../../rng.ts";
import { ArgumentError, f32 } from "../../validate.ts";
import { configToJson } from "./config.ts";
import { logSigmaTable } from "./discrete-sigmas.ts";
import { alphasOf, betasOf, cumprodF32, rescaleZeroTerminalSnrF32, sigmaTableF32 } from "./tables.ts";
import type { Scheduler, SetTimestepsOptions, StepOptions, StepResult } from "./types.ts";

const fround = Math.fround;

export const PREDICTION_TYPES = ["epsilon", "sample", "v_prediction"] as const;
export type PredictionType = (typeof PREDICTION_TYPES)[number];

/**
 * The x0 estimate of a model output, in VE space (x = x0 + sigma eps; the model saw x / sqrt(sigma^2 + 1)),
 * in float32 as diffusers computes it: epsilon x - sigma eps; v_prediction (Salimans & Ho 2022)
 * -sigma / sqrt(sigma^2 + 1) v + x / (sigma^2 + 1); sample the output itself.
 */
export function denoisedOf(prediction: string, out: Float32Array, sample: Float32Array, sigma: number): Float32Array {
  const n = sample.length;
  const x0 = new Float32Array(n);
  const s = fround(sigma);
  if (prediction === "epsilon") {
    for (let j = 0; j < n; j++) x0[j] = sample[j] - fround(s * out[j]);
  } else if (prediction === "v_prediction") {
    const s2 = fround(fround(s * s) + 1);
    const cOut = fround(-s / fround(Math.sqrt(s2)));
    for (let j = 0; j < n; j++) x0[j] = fround(cOut * out[j]) + fround(sample[j] / s2);
  } else if (prediction === "sample") {
    x0.set(out);
  } else {
    throw new ArgumentError("prediction_type", `must be one of "epsilon", "sample", "v_prediction", got ${JSON.stringify(prediction)}`);
  }
  return x0;
}

/** x / sqrt(sigma^2 + c^2) in float32 (c = 1: the VP input of diffusers' scale_model_input; c = sigma_data: EDM's c_in). */
export function scaleBy(sample: Float32Array, sigma: number, c = 1): Float32Array {
  const s = fround(sigma);
  const d = fround(Math.sqrt(fround(fround(s * s) + fround(c * c))));
  return sample.map((v) => v / d);
}

/**
 * The discrete schedulers' training table: float32 betas (optionally rescaled to zero terminal SNR, Lin et
 * al. 2023 Alg. 1, with the last alphas_cumprod set to 2^-24 as diffusers does), alphas_cumprod, the sigma
 * table ((1 - abar) / abar)^0.5 indexed by timestep, and its float32 log.
 */
export function trainingTable(config: Readonly<Record<string, unknown>>, betas?: Float32Array): { alphasCumprod: Float32Array; table: Float32Array; logSigmas: Float64Array } {
  let b = betas ?? betasOf(config);
  if (config.rescale_betas_zero_snr === true) b = rescaleZeroTerminalSnrF32(b);
  const alphasCumprod = cumprodF32(alphasOf(b));
  if (config.rescale_betas_zero_snr === true) alphasCumprod[alphasCumprod.length - 1] = 2 ** -24;
  const table = sigmaTableF32(alphasCumprod);
  return { alphasCumprod, table, logSigmas: logSigmaTable(table) };
}

/** The common part of diffusers' sigma-space schedulers (see the file comment). */
export abstract class SigmaScheduler implements Scheduler {
  abstract readonly order: number;
  timesteps: Float64Array = new Float64Array(0);
  sigmas: Float64Array = new Float64Array(0);
  protected stepIdx: number | null = null;
  protected beginIdx: number | null = null;

  constructor(
    readonly className: string,
    readonly config: Readonly<Record<string, unknown>>,
  ) {}

  get stepIndex(): number | null {
    return this.stepIdx;
  }

  /** max(sigmas), or sqrt(max^2 + 1) for leading spacing (diffusers' init_noise_sigma), float32. */
  get initNoiseSigma(): number {
    let m = 0;
    for (const s of this.sigmas) if (s > m) m = s;
    const spacing = this.config.timestep_spacing;
    return spacing === undefined || spacing === "linspace" || spacing === "trailing" ? m : fround(Math.sqrt(fround(fround(m * m) + 1)));
  }

  abstract setTimesteps(numInferenceSteps: number | null, opts?: SetTimestepsOptions): void;
  abstract step(modelOutput: Float32Array, t: number, sample: Float32Array, opts?: StepOptions): StepResult;

  /** The position of t in `schedule` (the second of several equal ones, so a restart does not skip a sigma). */
  indexForTimestep(t: number, schedule: ArrayLike<number> = this.timesteps): number {
    const hits: number[] = [];
    for (let i = 0; i < schedule.length; i++) if (schedule[i] === t) hits.push(i);
    if (hits.length === 0) {
      throw new ArgumentError("t", `${t} is not one of the scheduler's timesteps (${Array.from(schedule).slice(0, 6).join(", ")}${schedule.length > 6 ? ", …" : ""}); call setTimesteps and pass its timesteps`);
    }
    return hits[hits.length > 1 ? 1 : 0];
  }

  /** diffusers' _init_step_index: on the first call, from t (or the begin index); then the running index. */
  protected currentIndex(t: number): number {
    if (this.timesteps.length === 0) throw new ArgumentError("t", "has no timesteps to be found in: call setTimesteps first");
    if (typeof t !== "number" || Number.isNaN(t)) throw new ArgumentError("t", `must be a number, got ${String(t)}`);
    if (this.stepIdx === null) this.stepIdx = this.beginIdx ?? this.indexForTimestep(t);
    if (this.stepIdx >= this.timesteps.length) throw new ArgumentError("t", `the run has ended: all ${this.timesteps.length} timesteps were stepped; call setTimesteps again`);
    return this.stepIdx;
  }

  /** The sigma scale_model_input divides by (diffusers' sigmas[step_index]). */
  protected inputSigma(index: number): number {
    return this.sigmas[index];
  }

  scaleModelInput(sample: Float32Array, t: number): Float32Array {
    f32("sample", sample);
    return scaleBy(sample, this.inputSigma(this.currentIndex(t)));
  }

  /** Checks a step's tensors: Float32Arrays of one length. */
  protected checkStep(modelOutput: Float32Array, sample: Float32Array): void {
    f32("modelOutput", modelOutput);
    f32("sample", sample);
    if (modelOutput.length !== sample.length) throw new ArgumentError("modelOutput", `must have the sample's length ${sample.length}, got ${modelOutput.length}`);
  }

  /**
   * A step's noise: opts.noise (diffusers' generator draws, passed in), else standard normals from
   * opts.rng.stream(id) (id = the step's index, so one Rng gives fresh noise each step), rows by item.
   */
  protected drawNoise(opts: StepOptions, n: number, id: number): Float32Array {
    if (opts.noise !== undefined && opts.rng !== undefined) throw new ArgumentError("noise", "and rng cannot both be given");
    if (opts.noise !== undefined) {
      f32("noise", opts.noise);
      if (opts.noise.length !== n) throw new ArgumentError("noise", `must hold ${n} values (the sample's), got ${opts.noise.length}`);
      return opts.noise;
    }
    if (opts.rng !== undefined) {
      if (!(opts.rng instanceof Rng)) throw new ArgumentError("rng", "must be an Rng");
      const batch = opts.shape?.[0] ?? 1;
      if (!Number.isInteger(batch) || batch < 1 || n % batch !== 0) throw new ArgumentError("shape", `must start with a batch size that divides ${n}, got ${String(opts.shape)}`);
      return opts.rng.stream(id).randn(batch, n / batch);
    }
    throw new ArgumentError("noise", `${this.className}'s step is stochastic here: pass opts.noise or opts.rng`);
  }

  /**
   * x + sigma_t n per item (diffusers' add_noise in sigma space): `timesteps` has one entry per item, or
   * one for all. Before a run the sigmas come from the timesteps; with a begin index, from it (img2img)
   * or from the running step index (inpainting), as diffusers does.
   */
  addNoise(original: Float32Array, noise: Float32Array, timesteps: ArrayLike<number> | number): Float32Array {
    f32("original", original);
    f32("noise", noise);
    if (noise.length !== original.length) throw new ArgumentError("noise", `must have the original's length ${original.length}, got ${noise.length}`);
    const ts = typeof timesteps === "number" ? [timesteps] : Array.from(timesteps);
    if (ts.length === 0 || original.length % ts.length !== 0) throw new ArgumentError("timesteps", `must hold one timestep, or one per item of the ${original.length} values, got ${ts.length}`);
    const idx = ts.map((t) => (this.beginIdx === null ? this.indexForTimestep(t) : (this.stepIdx ?? this.beginIdx)));
    const size = ts.length === 1 ? original.length : original.length / ts.length;
    const out = new Float32Array(original.length);
    for (let j = 0; j < out.length; j++) {
      const s = fround(this.sigmas[idx[Math.floor(j / size)]]);
      out[j] = original[j] + fround(noise[j] * s);
    }
    return out;
  }

  setBeginIndex(beginIndex: number): void {
    if (!Number.isInteger(beginIndex) || beginIndex < 0) throw new ArgumentError("beginIndex", `must be an integer >= 0, got ${beginIndex}`);
    this.beginIdx = beginIndex;
  }

  /** Starts a new run after setTimesteps: no step taken, no begin index. */
  protected resetRun(): void {
    this.stepIdx = null;
    this.beginIdx = null;
  }

  toJson(): string {
    return configToJson(this.className, this.config);
  }
}

/** Checks setTimesteps' count (a positive integer) or that exactly one of count / timesteps / sigmas is given. */
export function checkCount(n: number | null, opts: SetTimestepsOptions, allowed: { timesteps?: boolean; sigmas?: boolean }): void {
  if (opts.timesteps !== undefined && !allowed.timesteps) throw new ArgumentError("timesteps", "are not accepted by this scheduler's setTimesteps");
  if (opts.sigmas !== undefined && !allowed.sigmas) throw new ArgumentError("sigmas", "are not accepted by this scheduler's setTimesteps");
  if (opts.timesteps !== undefined && opts.sigmas !== undefined) throw new ArgumentError("timesteps", "and sigmas cannot both be given");
  const custom = opts.timesteps !== undefined || opts.sigmas !== undefined;
  if (n !== null && n !== undefined && custom) throw new ArgumentError("numInferenceSteps", "must be null when timesteps or sigmas are given");
  if ((n === null || n === undefined) && !custom) throw new ArgumentError("numInferenceSteps", "must be given (or timesteps / sigmas)");
  if (n !== null && n !== undefined && (!Number.isInteger(n) || n < 1)) throw new ArgumentError("numInferenceSteps", `must be an integer >= 1, got ${n}`);
  for (const key of ["timesteps", "sigmas"] as const) {
    const v = opts[key];
    if (v === undefined) continue;
    if (v === null || typeof v !== "object" || typeof v.length !== "number" || v.length < 1) throw new ArgumentError(key, "must be a non-empty array of numbers");
    for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) throw new ArgumentError(`${key}[${i}]`, `must be a finite number, got ${v[i]}`);
  }
}
