// The bookkeeping diffusers' multistep VP schedulers share (DEIS, UniPC, SA-Solver; the DPM-Solver
// family has the same shape): the float32 training tables, the inference timesteps and sigmas of
// set_timesteps (spacing, Karras / exponential / beta / flow sigmas, the closing sigma), the step index
// found from the first timestep, add_noise on the sigma grid, and the model-output conversions. The
// solvers' arithmetic is not here: it is src/samplers/ (unipc.ts, deis.ts, sa-solver.ts).

import type { Node } from "../../samplers/exp-integrator.ts";
import { ArgumentError, f32, sameLength } from "../../validate.ts";
import { bool, choice, configToJson, integer, nullable, num, readConfig, type ConfigSpec } from "./config.ts";
import { npLinspace } from "./numpy.ts";
import { betaSpacing, exponentialSpacing, flowSpacing, karrasSpacing, sigmaToT } from "./sigma-spacing.ts";
import { alphasOf, betaKeys, betasOf, cumprodF32, rescaleZeroTerminalSnrF32, sigmaTableF32 } from "./tables.ts";
import { dynamicThreshold } from "./thresholding.ts";
import { spacedTimesteps, TIMESTEP_SPACINGS, type TimestepSpacing } from "./timestep-spacing.ts";
import type { Scheduler, SetTimestepsOptions, Shape, StepOptions, StepResult } from "./types.ts";

const fround = Math.fround;

/** The beta schedules these classes build (diffusers raises NotImplementedError for sigmoid here). */
export const VP_BETA_SCHEDULES = ["linear", "scaled_linear", "squaredcos_cap_v2"] as const;

const optionalBool = nullable(bool);

/** Keys every class of this family reads: betas, thresholding and the sigma spacings. */
export function vpMultistepKeys(): ConfigSpec {
  return {
    ...betaKeys({ schedules: VP_BETA_SCHEDULES }),
    prediction_type: { default: "epsilon", check: choice(["epsilon", "sample", "v_prediction", "flow_prediction"]) },
    thresholding: { default: false, check: bool },
    dynamic_thresholding_ratio: { default: 0.995, check: num(0, 1) },
    sample_max_value: { default: 1.0, check: num(0, Infinity, { openLo: true }) },
    lower_order_final: { default: true, check: bool },
    use_karras_sigmas: { default: false, check: optionalBool },
    use_exponential_sigmas: { default: false, check: optionalBool },
    use_beta_sigmas: { default: false, check: optionalBool },
    use_flow_sigmas: { default: false, check: optionalBool },
    flow_shift: { default: 1.0, check: nullable(num(0, Infinity, { openLo: true })) },
    timestep_spacing: { default: "linspace", check: choice(TIMESTEP_SPACINGS) },
    steps_offset: { default: 0, check: integer(0, 100_000) },
  };
}

/** A check that maps diffusers' accepted aliases to the value diffusers registers (e.g. solver_type "midpoint" -> "bh2"). */
export function aliased(allowed: readonly string[], aliases: Readonly<Record<string, string>>): (key: string, v: unknown) => unknown {
  const all = [...allowed, ...Object.keys(aliases)];
  const check = choice(all);
  return (key, v) => {
    check(key, v);
    return aliases[v as string] ?? v;
  };
}

/** How a class closes its sigma grid: "zero", or "sigma_min" (the last spaced sigma, or sigma(t = 0) when unspaced). */
export type FinalSigma = "zero" | "sigma_min";

/**
 * A multistep VP scheduler: tables, timesteps, step index, add_noise. Subclasses implement `stepAt`
 * (the method's update at this.stepIndex) and say how the grid closes.
 */
export abstract class VpMultistepScheduler implements Scheduler {
  readonly config: Readonly<Record<string, unknown>>;
  readonly order = 1;
  readonly initNoiseSigma = 1;
  timesteps: Float64Array;
  sigmas: Float64Array;
  stepIndex: number | null = null;
  protected beginIndex: number | null = null;
  protected numInferenceSteps: number | null = null;
  protected readonly alphasCumprod: Float32Array;
  /** sigma(t) = sqrt((1 - abar) / abar) per training timestep, float32. */
  protected readonly sigmaTable: Float32Array;

  constructor(
    readonly className: string,
    raw: Record<string, unknown>,
    spec: ConfigSpec,
  ) {
    const c = readConfig(className, raw, spec);
    this.config = c;
    const spaced = ["use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas"].filter((k) => c[k] === true);
    if (spaced.length > 1) throw new ArgumentError(spaced[1], `cannot be combined with ${spaced[0]}: only one of use_karras_sigmas, use_exponential_sigmas, use_beta_sigmas can be used`);
    let betas = betasOf(c);
    if (c.rescale_betas_zero_snr === true) betas = rescaleZeroTerminalSnrF32(betas);
    this.alphasCumprod = cumprodF32(alphasOf(betas));
    // zero terminal SNR: close to 0 without being 0, so the first sigma is finite (diffusers: 2^-24)
    if (c.rescale_betas_zero_snr === true) this.alphasCumprod[this.alphasCumprod.length - 1] = 2 ** -24;
    this.sigmaTable = sigmaTableF32(this.alphasCumprod);
    const T = c.num_train_timesteps as number;
    // before set_timesteps diffusers holds every training timestep, descending, and the training sigmas
    this.timesteps = npLinspace(0, T - 1, T).map((v) => fround(v)).reverse();
    this.sigmas = Float64Array.from(this.sigmaTable);
  }

  /** The closing sigma rule of this class (and config). */
  protected abstract finalSigma(): FinalSigma;

  /** The first timestep a linspace / leading / trailing table may use (SA-Solver clips it). */
  protected lastTimestep(): number {
    return this.config.num_train_timesteps as number;
  }

  /** Called after the grid changes: subclasses reset their history here. */
  protected abstract resetHistory(): void;

  /** The method's update of the current step (this.stepIndex is set). */
  protected abstract stepAt(modelOutput: Float32Array, sample: Float32Array, opts: StepOptions): StepResult;

  setTimesteps(numInferenceSteps: number | null, opts: SetTimestepsOptions = {}): void {
    if (opts.timesteps !== undefined || opts.sigmas !== undefined) {
      throw new ArgumentError(opts.timesteps !== undefined ? "timesteps" : "sigmas", `${this.className}.set_timesteps takes a number of steps only`);
    }
    const c = this.config;
    const n = numInferenceSteps;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 1) throw new ArgumentError("numInferenceSteps", `must be an integer >= 1, got ${String(n)}`);
    let shift = (c.flow_shift as number | null) ?? 1;
    if (opts.mu !== undefined) {
      if (c.use_dynamic_shifting !== true) throw new ArgumentError("mu", `needs use_dynamic_shifting in the ${this.className} config`);
      shift = Math.exp(opts.mu);
    }
    const T = c.num_train_timesteps as number;
    let timesteps = spacedTimesteps(c.timestep_spacing as TimestepSpacing, n, this.lastTimestep(), c.steps_offset as number, T);
    const table = this.sigmaTable;
    const logSigmas = table.map((s) => fround(Math.log(s)));
    const sMin = table[0];
    const sMax = table[T - 1];
    let spaced: Float64Array | null = null;
    if (c.use_karras_sigmas === true) {
      spaced = karrasSpacing(sMin, sMax, n);
      timesteps = spaced.map((s) => Math.round(sigmaToT(s, logSigmas)));
    } else if (c.use_exponential_sigmas === true || c.use_beta_sigmas === true) {
      spaced = c.use_beta_sigmas === true ? betaSpacing(sMin, sMax, n) : exponentialSpacing(sMin, sMax, n);
      timesteps = spaced.map((s) => Math.trunc(sigmaToT(s, logSigmas)));
    } else if (c.use_flow_sigmas === true) {
      spaced = flowSpacing(T, n, shift);
      timesteps = spaced.map((s) => Math.trunc(s * T));
    }
    const body = spaced ?? timesteps.map((t) => table[t]);
    const last = this.finalSigma() === "zero" ? 0 : spaced ? spaced[spaced.length - 1] : table[0];
    const sigmas = new Float64Array(body.length + 1);
    for (let i = 0; i < body.length; i++) sigmas[i] = fround(body[i]);
    sigmas[body.length] = fround(last);
    this.sigmas = sigmas;
    this.timesteps = timesteps;
    this.numInferenceSteps = timesteps.length;
    this.stepIndex = null;
    this.beginIndex = null;
    this.resetHistory();
  }

  /** diffusers' _sigma_to_alpha_sigma_t: the VP pair at grid index i (the flow pair with use_flow_sigmas). */
  node(i: number): Node {
    return this.pairOf(this.sigmas[i]);
  }

  protected pairOf(s: number): Node {
    if (this.config.use_flow_sigmas === true) return { alpha: 1 - s, sigma: s };
    const alpha = 1 / Math.sqrt(s * s + 1);
    return { alpha, sigma: s * alpha };
  }

  /** diffusers' index_for_timestep: the second match when t repeats (img2img), an error when absent. */
  indexForTimestep(t: number): number {
    const hits: number[] = [];
    this.timesteps.forEach((v, i) => v === t && hits.push(i));
    if (hits.length === 0) throw new ArgumentError("t", `${t} is not one of this run's timesteps (${Array.from(this.timesteps).join(", ")})`);
    return hits.length > 1 ? hits[1] : hits[0];
  }

  setBeginIndex(beginIndex: number): void {
    if (!Number.isInteger(beginIndex) || beginIndex < 0) throw new ArgumentError("beginIndex", `must be an integer >= 0, got ${beginIndex}`);
    this.beginIndex = beginIndex;
  }

  scaleModelInput(sample: Float32Array, _t: number): Float32Array {
    return f32("sample", sample);
  }

  step(modelOutput: Float32Array, t: number, sample: Float32Array, opts: StepOptions = {}): StepResult {
    if (this.numInferenceSteps === null) throw new ArgumentError("setTimesteps", `must be called before ${this.className}.step`);
    f32("modelOutput", modelOutput);
    f32("sample", sample);
    sameLength("modelOutput", modelOutput, "sample", sample);
    if (this.stepIndex === null) this.stepIndex = this.beginIndex ?? this.indexForTimestep(t);
    if (this.stepIndex >= this.numInferenceSteps) throw new ArgumentError("t", `the run of ${this.numInferenceSteps} steps is finished; call setTimesteps again`);
    const r = this.stepAt(modelOutput, sample, opts);
    this.stepIndex++;
    return r;
  }

  /** The data prediction x0 of a model output at grid index i (diffusers' convert_model_output, data form), thresholded if configured. */
  protected toX0(modelOutput: Float32Array, sample: Float32Array, i: number, shape?: Shape): Float32Array {
    const { alpha, sigma } = this.node(i);
    const s = this.sigmas[i];
    const x0 = new Float32Array(sample.length);
    switch (this.config.prediction_type) {
      case "epsilon":
        for (let j = 0; j < x0.length; j++) x0[j] = (sample[j] - sigma * modelOutput[j]) / alpha;
        break;
      case "sample":
        x0.set(modelOutput);
        break;
      case "v_prediction":
        for (let j = 0; j < x0.length; j++) x0[j] = alpha * sample[j] - sigma * modelOutput[j];
        break;
      case "flow_prediction":
        for (let j = 0; j < x0.length; j++) x0[j] = sample[j] - s * modelOutput[j];
        break;
    }
    if (this.config.thresholding === true) dynamicThreshold(x0, this.config.dynamic_thresholding_ratio as number, this.config.sample_max_value as number, shape);
    return x0;
  }

  /** The noise prediction eps of a model output at grid index i (diffusers' convert_model_output, noise form). */
  protected toEps(modelOutput: Float32Array, sample: Float32Array, i: number): Float32Array {
    const { alpha, sigma } = this.node(i);
    const eps = new Float32Array(sample.length);
    switch (this.config.prediction_type) {
      case "epsilon":
        eps.set(modelOutput);
        break;
      case "sample":
        for (let j = 0; j < eps.length; j++) eps[j] = (sample[j] - alpha * modelOutput[j]) / sigma;
        break;
      case "v_prediction":
        for (let j = 0; j < eps.length; j++) eps[j] = alpha * modelOutput[j] + sigma * sample[j];
        break;
      default:
        throw new ArgumentError("prediction_type", `${String(this.config.prediction_type)} has no noise form in ${this.className}; use epsilon, sample or v_prediction`);
    }
    return eps;
  }

  addNoise(original: Float32Array, noise: Float32Array, timesteps: ArrayLike<number> | number): Float32Array {
    f32("original", original);
    f32("noise", noise);
    sameLength("original", original, "noise", noise);
    const ts = typeof timesteps === "number" ? [timesteps] : Array.from(timesteps);
    if (ts.length === 0 || original.length % ts.length !== 0) throw new ArgumentError("timesteps", `must hold one timestep per item (or one for all), got ${ts.length} for ${original.length} values`);
    const size = original.length / ts.length;
    const out = new Float32Array(original.length);
    ts.forEach((t, b) => {
      const i = this.beginIndex === null ? this.indexForTimestep(t) : (this.stepIndex ?? this.beginIndex);
      const { alpha, sigma } = this.pairOf(this.sigmas[i]);
      const a = fround(alpha);
      const s = fround(sigma);
      for (let j = b * size; j < (b + 1) * size; j++) out[j] = fround(a * original[j]) + fround(s * noise[j]);
    });
    return out;
  }

  toJson(): string {
    return configToJson(this.className, this.config);
  }
}
