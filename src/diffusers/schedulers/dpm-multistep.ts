// diffusers' DPMSolverMultistepScheduler: the bookkeeping (timestep and sigma tables, the history of
// model outputs, the order of each step) around one step function shared with the library's samplers
// (src/samplers/dpmsolver.ts). Its sample is VP (x_vp = alpha x); each step converts to VE, steps, and
// converts back.

import { dpmSolverStep, dpmStepSize, type DpmAlgorithm, type DpmSolverType } from "../../samplers/dpmsolver.ts";
import { ArgumentError, f32 } from "../../validate.ts";
import { configToJson, readConfig, type ConfigSpec } from "./config.ts";
import { alphaSigmaF32, batchOf, checkDpmCombination, convertModelOutput, dpmMultistepKeys, indexForTimestep, vpTables, type VpTables } from "./dpm-common.ts";
import { npArange, npInterp, npLinspace, npRound } from "./numpy.ts";
import { betaSigmas, exponentialSigmas, karrasSigmas, logSigmaTable, luSigmas, sigmaToT } from "./sigma-schedules.ts";
import type { Scheduler, SetTimestepsOptions, StepOptions, StepResult } from "./types.ts";

const fround = Math.fround;

/**
 * The descending integer timesteps of a DPM-Solver run for a timestep_spacing (Lin et al. 2023, Table 2),
 * as diffusers builds them: n + 1 points of which the last (t = 0) is dropped, below `last`, the first
 * timestep not clipped by lambda_min_clipped.
 */
export function dpmSpacing(spacing: string, n: number, last: number, T: number, offset: number): number[] {
  if (spacing === "linspace") return Array.from(npLinspace(0, last - 1, n + 1), npRound).reverse().slice(0, n);
  if (spacing === "leading") {
    const ratio = Math.floor(last / (n + 1));
    return Array.from(npArange(0, n + 1), (i) => npRound(i * ratio)).reverse().slice(0, n).map((t) => t + offset);
  }
  return Array.from(npArange(last, 0, -T / n), (t) => npRound(t) - 1);
}

export class DpmSolverMultistep implements Scheduler {
  readonly className: string = "DPMSolverMultistepScheduler";
  config: Readonly<Record<string, unknown>>;
  readonly order = 1;
  readonly initNoiseSigma = 1;
  timesteps = new Float64Array(0);
  sigmas = new Float64Array(0);
  protected readonly tables: VpTables;
  protected numInferenceSteps: number | null = null;
  /** Model outputs converted for the solver, newest last (diffusers' model_outputs). */
  protected outputs: (Float32Array | null)[] = [];
  protected lowerOrderNums = 0;
  protected index: number | null = null;
  protected beginIndex: number | null = null;

  constructor(raw: Record<string, unknown>, className?: string, spec: ConfigSpec = dpmMultistepKeys()) {
    if (className) this.className = className;
    this.config = readConfig(this.className, raw, spec);
    checkDpmCombination(this.config);
    this.tables = vpTables(this.config);
    // before setTimesteps diffusers holds every training timestep, descending
    this.timesteps = Float64Array.from({ length: this.tables.T }, (_, i) => this.tables.T - 1 - i);
  }

  get stepIndex(): number | null {
    return this.index;
  }

  setBeginIndex(beginIndex: number): void {
    if (!Number.isInteger(beginIndex) || beginIndex < 0) throw new ArgumentError("beginIndex", `must be an integer >= 0, got ${beginIndex}`);
    this.beginIndex = beginIndex;
  }

  /** The first timestep lambda_min_clipped keeps (diffusers: T - searchsorted(flip(lambda_t), clip)). */
  protected lastTimestep(): number {
    const clip = fround(this.config.lambda_min_clipped as number);
    const lam = this.tables.lambdas;
    let below = 0; // entries of the ascending flip(lambda_t) that are < clip
    for (let i = 0; i < lam.length; i++) if (lam[i] < clip) below++;
    return this.tables.T - below;
  }

  /** The run's timesteps for n steps (before a sigma schedule replaces them). */
  protected spacedTimesteps(n: number): number[] {
    const c = this.config;
    return dpmSpacing(c.timestep_spacing as string, n, this.lastTimestep(), this.tables.T, c.steps_offset as number);
  }

  setTimesteps(numInferenceSteps: number | null, opts: SetTimestepsOptions = {}): void {
    const c = this.config;
    const T = this.tables.T;
    if (opts.sigmas !== undefined) throw new ArgumentError("sigmas", `${this.className} takes custom timesteps, not sigmas`);
    if (opts.mu !== undefined) throw new ArgumentError("mu", "is for dynamic shifting, which this class does not implement");
    const custom = opts.timesteps;
    if ((numInferenceSteps === null || numInferenceSteps === undefined) === (custom === undefined)) {
      throw new ArgumentError("numInferenceSteps", "pass exactly one of numInferenceSteps and opts.timesteps");
    }
    let ts: number[];
    if (custom !== undefined) {
      for (const k of ["use_karras_sigmas", "use_lu_lambdas", "use_exponential_sigmas", "use_beta_sigmas"]) {
        if (c[k]) throw new ArgumentError("timesteps", `custom timesteps cannot be used with ${k} = true`);
      }
      ts = Array.from(custom, (t, i) => {
        if (!Number.isInteger(t) || t < 0 || t >= T) throw new ArgumentError(`timesteps[${i}]`, `must be an integer timestep in [0, ${T - 1}], got ${t}`);
        return t;
      });
      if (ts.length === 0) throw new ArgumentError("timesteps", "must hold at least one timestep");
    } else {
      const n = numInferenceSteps as number;
      if (!Number.isInteger(n) || n < 1 || n > T) throw new ArgumentError("numInferenceSteps", `must be an integer in [1, ${T}], got ${n}`);
      ts = this.spacedTimesteps(n);
      for (const t of ts) if (t < 0 || t >= T) throw new ArgumentError("steps_offset", `puts timestep ${t} outside [0, ${T - 1}]`);
    }
    const table = this.tables.sigmas;
    const logTable = logSigmaTable(table);
    const n = ts.length;
    let sig: Float64Array;
    if (custom === undefined && (c.use_karras_sigmas || c.use_lu_lambdas || c.use_exponential_sigmas || c.use_beta_sigmas)) {
      // the schedule spans the whole training table (sigma(0) .. sigma(T - 1)), not the spaced timesteps
      const sMin = table[0];
      const sMax = table[T - 1];
      if (c.use_karras_sigmas) sig = karrasSigmas(sMin, sMax, n);
      else if (c.use_lu_lambdas) sig = luSigmas(logTable[0], logTable[T - 1], n);
      else if (c.use_exponential_sigmas) sig = exponentialSigmas(sMin, sMax, n);
      else sig = betaSigmas(sMin, sMax, n);
      // Karras and Lu round the fractional timesteps; exponential and beta sigmas' are cast to int64 (truncated)
      const round = c.use_karras_sigmas || c.use_lu_lambdas;
      ts = Array.from(sig, (s) => (round ? npRound(sigmaToT(s, logTable)) : Math.trunc(sigmaToT(s, logTable))));
    } else {
      const grid = Float64Array.from({ length: T }, (_, k) => k);
      sig = Float64Array.from(ts, (t) => npInterp(t, grid, table));
    }
    const last = c.final_sigmas_type === "sigma_min" ? table[0] : 0;
    this.sigmas = Float64Array.from([...sig, last], fround);
    this.timesteps = Float64Array.from(ts);
    this.numInferenceSteps = n;
    this.resetRun();
  }

  protected resetRun(): void {
    this.outputs = new Array(this.config.solver_order as number).fill(null);
    this.lowerOrderNums = 0;
    this.index = null;
    this.beginIndex = null;
  }

  scaleModelInput(sample: Float32Array, _t: number): Float32Array {
    f32("sample", sample);
    return sample;
  }

  /** The step this call takes (diffusers' _init_step_index on the first call). */
  protected currentIndex(t: number): number {
    if (this.index === null) this.index = this.beginIndex ?? indexForTimestep(this.timesteps, t);
    return this.index;
  }

  /** diffusers takes the step to sigma = 0 at first order. */
  protected finalIsFirstOrder(): boolean {
    return this.config.final_sigmas_type === "zero";
  }

  /** The order diffusers uses for step i (lower at the start and, with lower_order_final, at the end). */
  protected orderAt(i: number): number {
    const c = this.config;
    const n = this.timesteps.length;
    const few = (c.lower_order_final as boolean) && n < 15;
    const lowerFinal = i === n - 1 && ((c.euler_at_final as boolean) || few || this.finalIsFirstOrder());
    const lowerSecond = i === n - 2 && few;
    const order = c.solver_order as number;
    if (order === 1 || this.lowerOrderNums < 1 || lowerFinal) return 1;
    if (order === 2 || this.lowerOrderNums < 2 || lowerSecond) return 2;
    return 3;
  }

  step(modelOutput: Float32Array, t: number, sample: Float32Array, opts: StepOptions = {}): StepResult {
    if (this.numInferenceSteps === null) throw new ArgumentError("setTimesteps", "must be called before step");
    f32("sample", sample);
    f32("modelOutput", modelOutput);
    const n = sample.length;
    const batch = batchOf(opts.shape, n);
    const i = this.currentIndex(t);
    if (i >= this.timesteps.length) throw new ArgumentError("t", `the run has ${this.timesteps.length} steps and all have been taken`);
    const c = this.config;
    const order = this.orderAt(i);
    const m = convertModelOutput(c, modelOutput, sample, this.sigmas[i], batch);
    this.outputs.shift();
    this.outputs.push(m);
    const algorithm = c.algorithm_type as DpmAlgorithm;
    const noise = algorithm.startsWith("sde-") ? stepNoise(opts, n, batch, i) : null;
    const prev = this.solve(sample, i, order, algorithm, noise);
    if (this.lowerOrderNums < (c.solver_order as number)) this.lowerOrderNums++;
    this.index = i + 1;
    return { prevSample: prev };
  }

  /** One step of the given order from sigmas[i] to sigmas[i + 1], in VE through the shared step function. */
  protected solve(sample: Float32Array, i: number, order: number, algorithm: DpmAlgorithm, noise: Float32Array | null): Float32Array {
    const s = this.sigmas;
    const k = this.outputs.length;
    const outputs: Float32Array[] = [];
    const hPrev: number[] = [];
    for (let o = 0; o < order; o++) outputs.push(this.outputs[k - 1 - o] as Float32Array);
    for (let o = 1; o < order; o++) hPrev.push(dpmStepSize(s[i - o], s[i - o + 1]));
    const [aS] = alphaSigmaF32(s[i]);
    const [aT] = alphaSigmaF32(s[i + 1]);
    const x = Float64Array.from(sample, (v) => v / aS);
    const out = new Float64Array(sample.length);
    dpmSolverStep(out, x, { algorithm, solverType: this.config.solver_type as DpmSolverType, order, sigma: s[i], sigmaNext: s[i + 1], hPrev, outputs, noise });
    return Float32Array.from(out, (v) => v * aT);
  }

  addNoise(original: Float32Array, noise: Float32Array, timesteps: ArrayLike<number> | number): Float32Array {
    f32("original", original);
    f32("noise", noise);
    if (noise.length !== original.length) throw new ArgumentError("noise", `must hold ${original.length} values, got ${noise.length}`);
    const ts = typeof timesteps === "number" ? [timesteps] : Array.from(timesteps);
    if (ts.length === 0 || original.length % ts.length !== 0) throw new ArgumentError("timesteps", `must have one entry, or one per item, got ${ts.length}`);
    const size = original.length / ts.length;
    const out = new Float32Array(original.length);
    ts.forEach((t, b) => {
      // diffusers: the step index of each t when no begin index is set, else the current (or begin) index
      const idx = this.beginIndex === null ? indexForTimestep(this.timesteps, t, "timesteps") : (this.index ?? this.beginIndex);
      const [a, s] = alphaSigmaF32(this.sigmas[idx]);
      for (let j = b * size; j < (b + 1) * size; j++) out[j] = fround(fround(a * original[j]) + fround(s * noise[j]));
    });
    return out;
  }

  toJson(): string {
    return configToJson(this.className, this.config);
  }
}

/** The noise of a stochastic step: opts.noise, else draws from opts.rng.stream(step) (per item). */
export function stepNoise(opts: StepOptions, n: number, batch: number, i: number): Float32Array {
  if (opts.noise !== undefined) {
    f32("noise", opts.noise);
    if (opts.noise.length !== n) throw new ArgumentError("noise", `must hold ${n} values (the sample's), got ${opts.noise.length}`);
    return opts.noise;
  }
  if (opts.rng === undefined) throw new ArgumentError("rng", "a stochastic step needs opts.noise or opts.rng");
  return opts.rng.stream(i).randn(batch, n / batch);
}
