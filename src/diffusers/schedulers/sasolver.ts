// diffusers' SASolverScheduler: its step() bookkeeping (SA-Corrector with the previous step's noise,
// then the SA-Predictor with fresh noise; tau from tau_func of the timestep; order warm-up and
// lower_order_final) over the one SA-Solver update in src/samplers/sa-solver.ts.

import { saOrders, saUpdate, type SaForm } from "../../samplers/sa-solver.ts";
import { ArgumentError } from "../../validate.ts";
import { dynamicThreshold } from "./thresholding.ts";
import { choice, integer, nullable, num, type ConfigSpec } from "./config.ts";
import type { SchedulerFactory, StepOptions, StepResult } from "./types.ts";
import { type FinalSigma, VpMultistepScheduler, vpMultistepKeys } from "./vp-multistep.ts";

const fround = Math.fround;

/** diffusers' default tau_func: the SDE (tau = 1) for 200 <= t <= 800, the ODE elsewhere. */
export const defaultTau = (t: number): number => (t >= 200 && t <= 800 ? 1 : 0);

const SPEC: ConfigSpec = {
  ...vpMultistepKeys(),
  predictor_order: { default: 2, check: integer(1, 4) },
  corrector_order: { default: 2, check: integer(1, 4) },
  // a Python callable in diffusers; here null (the default tau) or a JS function of the timestep, which
  // scheduler_config.json cannot hold (toJson writes null, as the default)
  tau_func: {
    default: null,
    check: (key, v) => {
      if (v !== null && typeof v !== "function") throw new ArgumentError(key, `must be null (the default tau) or a function of the timestep, got ${typeof v}`);
      return v;
    },
  },
  algorithm_type: { default: "data_prediction", check: choice(["data_prediction", "noise_prediction"]) },
  lambda_min_clipped: { default: -Infinity, check: num(-Infinity, Infinity, { allowInfinite: true }) },
  variance_type: {
    default: null,
    check: (key, v) => {
      if (v === null) return v;
      nullable(choice(["learned", "learned_range"]))(key, v);
      throw new ArgumentError(key, `${JSON.stringify(v)} (a model output with a variance half) is not implemented; it must be null`);
    },
  },
};

export class SASolverScheduler extends VpMultistepScheduler {
  private outputs: Float32Array[] = [];
  private lastSample: Float32Array | null = null;
  private lastNoise: Float32Array | null = null;
  private prevT: number | null = null;
  private thisCorrectorOrder = 1;
  private lowerOrderNums = 0;
  private readonly tau: (t: number) => number;

  constructor(config: Record<string, unknown> = {}) {
    super("SASolverScheduler", config, SPEC);
    this.tau = (this.config.tau_func as ((t: number) => number) | null) ?? defaultTau;
  }

  protected finalSigma(): FinalSigma {
    return "sigma_min";
  }

  /** lambda_min_clipped: the linspace / leading tables end where lambda(t) falls below the clip. */
  protected override lastTimestep(): number {
    const T = this.config.num_train_timesteps as number;
    const clip = this.config.lambda_min_clipped as number;
    let below = 0;
    for (const ac of this.alphasCumprod) {
      const lambda = fround(Math.log(fround(Math.sqrt(ac)))) - fround(Math.log(fround(Math.sqrt(fround(1 - ac)))));
      if (fround(lambda) < clip) below++;
    }
    return T - below;
  }

  protected resetHistory(): void {
    this.outputs = [];
    this.lastSample = null;
    this.lastNoise = null;
    this.prevT = null;
    this.lowerOrderNums = 0;
    this.thisCorrectorOrder = 1;
  }

  private get form(): SaForm {
    return { predictX0: this.config.algorithm_type === "data_prediction" };
  }

  /** convert_model_output: x0 (data form) or eps (noise form; thresholded through x0 when configured). */
  private convert(modelOutput: Float32Array, sample: Float32Array, i: number, opts: StepOptions): Float32Array {
    if (this.form.predictX0) return this.toX0(modelOutput, sample, i, opts.shape);
    const eps = this.toEps(modelOutput, sample, i);
    if (this.config.thresholding !== true) return eps;
    // threshold the x0 this eps implies, and return the eps of the thresholded x0
    const { alpha, sigma } = this.node(i);
    const x0 = dynamicThreshold(
      eps.map((e, j) => (sample[j] - sigma * e) / alpha),
      this.config.dynamic_thresholding_ratio as number,
      this.config.sample_max_value as number,
      opts.shape,
    );
    return eps.map((_, j) => (sample[j] - alpha * x0[j]) / sigma);
  }

  protected stepAt(modelOutput: Float32Array, sample: Float32Array, opts: StepOptions): StepResult {
    const i = this.stepIndex as number;
    const t = this.timesteps[i];
    const form = this.form;
    const m = this.convert(modelOutput, sample, i, opts);
    let x = sample;
    if (i > 0 && this.lastSample !== null) {
      const q = this.thisCorrectorOrder;
      const nodes = Array.from({ length: q }, (_, k) => this.node(i - k));
      const ms = [m, ...this.outputs.slice(0, q - 1)];
      const tau = this.tau(this.prevT as number);
      x = saUpdate(new Float32Array(sample.length), this.lastSample, ms, nodes, this.node(i - 1), this.node(i), tau, this.lastNoise, form);
    }
    const keep = Math.max(this.config.predictor_order as number, (this.config.corrector_order as number) - 1);
    this.outputs.unshift(m);
    if (this.outputs.length > keep) this.outputs.length = keep;
    const n = this.numInferenceSteps as number;
    let [p, q] = saOrders(this.config.predictor_order as number, this.config.corrector_order as number, i, n, this.lowerOrderNums, this.config.lower_order_final === true);
    if (this.sigmas[i + 1] === 0) p = 1;
    const tau = this.tau(t);
    const noise = this.noiseFor(opts, sample.length, tau > 0);
    this.thisCorrectorOrder = q;
    this.lastSample = x;
    this.lastNoise = noise;
    this.prevT = t;
    const nodes = Array.from({ length: p }, (_, k) => this.node(i - k));
    const prev = saUpdate(new Float32Array(sample.length), x, this.outputs.slice(0, p), nodes, this.node(i), this.node(i + 1), tau, noise, form);
    if (this.lowerOrderNums < keep) this.lowerOrderNums++;
    return { prevSample: prev };
  }

  /** The step's standard normal noise: opts.noise, else opts.rng's stream for this step; needed when tau > 0. */
  private noiseFor(opts: StepOptions, n: number, needed: boolean): Float32Array | null {
    if (opts.noise !== undefined) {
      if (!(opts.noise instanceof Float32Array) || opts.noise.length !== n) throw new ArgumentError("noise", `must be a Float32Array of ${n} values`);
      return opts.noise;
    }
    if (opts.rng !== undefined) {
      // the library samplers' noise: step i draws rng.stream(i), one row per item of opts.shape
      const batch = opts.shape?.[0] ?? 1;
      return opts.rng.stream(this.stepIndex as number).randn(batch, n / batch);
    }
    if (needed) throw new ArgumentError("noise", "SASolverScheduler.step is stochastic here (tau > 0): pass opts.noise or opts.rng");
    return null;
  }

  /** diffusers' SA-Solver adds noise as DDPM does: sqrt(abar_t) x0 + sqrt(1 - abar_t) eps at the training timestep t. */
  override addNoise(original: Float32Array, noise: Float32Array, timesteps: ArrayLike<number> | number): Float32Array {
    const ts = typeof timesteps === "number" ? [timesteps] : Array.from(timesteps);
    if (original.length !== noise.length) throw new ArgumentError("noise", `must have the ${original.length} values of original, got ${noise.length}`);
    if (ts.length === 0 || original.length % ts.length !== 0) throw new ArgumentError("timesteps", `must hold one timestep per item (or one for all), got ${ts.length}`);
    const size = original.length / ts.length;
    const out = new Float32Array(original.length);
    ts.forEach((t, b) => {
      if (!Number.isInteger(t) || t < 0 || t >= this.alphasCumprod.length) throw new ArgumentError("timesteps", `must be training timesteps in [0, ${this.alphasCumprod.length - 1}], got ${t}`);
      const ac = this.alphasCumprod[t];
      const a = fround(Math.sqrt(ac));
      const s = fround(Math.sqrt(fround(1 - ac)));
      for (let j = b * size; j < (b + 1) * size; j++) out[j] = fround(a * original[j]) + fround(s * noise[j]);
    });
    return out;
  }
}

export const SASOLVER_SCHEDULERS: Record<string, SchedulerFactory> = {
  SASolverScheduler: (c) => new SASolverScheduler(c),
};
