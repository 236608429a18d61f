// diffusers' EDMDPMSolverMultistepScheduler: DPM-Solver++ (multistep, optionally the SDE variant) on
// EDM's VE sigmas (Karras et al. 2022): the sample is x itself (alpha = 1), the network is
// preconditioned by EDM's c_in, c_noise, c_skip, c_out (Karras et al. 2022, Table 1), and the update is
// samplers/dpmsolver.ts' dpmSolverStep on the same sigmas, the step of the library's dpmpp_2m.

import { dpmSolverStep, dpmStepSize, type DpmAlgorithm, type DpmSolverType } from "../../samplers/dpmsolver.ts";
import { ArgumentError, f32 } from "../../validate.ts";
import { bool, choice, configToJson, integer, num, readConfig, type Check, type ConfigSpec } from "./config.ts";
import { batchOf, indexForTimestep } from "./dpm-common.ts";
import { stepNoise } from "./dpm-multistep.ts";
import { torchLinspaceF32 } from "./tables.ts";
import { dynamicThreshold } from "./threshold.ts";
import type { Scheduler, SetTimestepsOptions, StepOptions, StepResult } from "./types.ts";

const fround = Math.fround;

const algorithmType: Check = (key, v) => (v === "deis" ? "dpmsolver++" : choice(["dpmsolver++", "sde-dpmsolver++"])(key, v));
const solverType: Check = (key, v) => (v === "logrho" || v === "bh1" || v === "bh2" ? "midpoint" : choice(["midpoint", "heun"])(key, v));

const EDM_DPM_KEYS: ConfigSpec = {
  sigma_min: { default: 0.002, check: num(0, Infinity, { openLo: true }) },
  sigma_max: { default: 80.0, check: num(0, Infinity, { openLo: true }) },
  sigma_data: { default: 0.5, check: num(0, Infinity, { openLo: true }) },
  sigma_schedule: { default: "karras", check: choice(["karras", "exponential"]) },
  num_train_timesteps: { default: 1000, check: integer(2, 100_000) },
  // diffusers' EDM preconditioning has c_out for these two only (it raises on "sample" at the first step)
  prediction_type: { default: "epsilon", check: choice(["epsilon", "v_prediction"]) },
  rho: { default: 7.0, check: num(0, Infinity, { openLo: true }) },
  solver_order: { default: 2, check: integer(1, 3) },
  thresholding: { default: false, check: bool },
  dynamic_thresholding_ratio: { default: 0.995, check: num(0, 1) },
  sample_max_value: { default: 1.0, check: num(0, Infinity, { openLo: true }) },
  algorithm_type: { default: "dpmsolver++", check: algorithmType },
  solver_type: { default: "midpoint", check: solverType },
  lower_order_final: { default: true, check: bool },
  euler_at_final: { default: false, check: bool },
  final_sigmas_type: { default: "zero", check: choice(["zero", "sigma_min"]) },
};

/** EDM's sigmas in float32 as diffusers computes them from torch.linspace(0, 1, n) (Karras eq. 5, or log-uniform). */
export function edmSigmasF32(c: Readonly<Record<string, unknown>>, n: number): Float32Array {
  const ramp = torchLinspaceF32(0, 1, n);
  const sMin = c.sigma_min as number;
  const sMax = c.sigma_max as number;
  if (c.sigma_schedule === "karras") {
    const rho = c.rho as number;
    const lo = sMin ** (1 / rho);
    const hi = sMax ** (1 / rho);
    const span = fround(lo - hi);
    return ramp.map((r) => fround(fround(fround(hi) + fround(r * span)) ** rho));
  }
  // torch.linspace(log sigma_min, log sigma_max, n).exp().flip(0)
  const logs = torchLinspaceF32(Math.log(sMin), Math.log(sMax), n);
  return logs.map((v) => fround(Math.exp(v))).reverse();
}

export class EdmDpmSolverMultistep implements Scheduler {
  readonly className = "EDMDPMSolverMultistepScheduler";
  readonly config: Readonly<Record<string, unknown>>;
  readonly order = 1;
  timesteps: Float64Array;
  sigmas: Float64Array;
  private numInferenceSteps: number | null = null;
  private outputs: (Float32Array | null)[] = [];
  private lowerOrderNums = 0;
  private index: number | null = null;
  private beginIndex: number | null = null;

  constructor(raw: Record<string, unknown>) {
    this.config = readConfig(this.className, raw, EDM_DPM_KEYS);
    if (this.config.algorithm_type === "sde-dpmsolver++" && this.config.solver_order === 3) {
      throw new ArgumentError("solver_order", "3 has no SDE update in this class (diffusers has none for sde-dpmsolver++); allowed with it: 1, 2");
    }
    const s = edmSigmasF32(this.config, this.config.num_train_timesteps as number);
    this.timesteps = Float64Array.from(s, (v) => this.cNoise(v));
    this.sigmas = Float64Array.from([...s, 0]);
  }

  /** (sigma_max^2 + 1)^0.5, as diffusers defines it for this class. */
  get initNoiseSigma(): number {
    const m = this.config.sigma_max as number;
    return Math.sqrt(m * m + 1);
  }

  get stepIndex(): number | null {
    return this.index;
  }

  setBeginIndex(beginIndex: number): void {
    if (!Number.isInteger(beginIndex) || beginIndex < 0) throw new ArgumentError("beginIndex", `must be an integer >= 0, got ${beginIndex}`);
    this.beginIndex = beginIndex;
  }

  /** EDM's c_noise = log(sigma) / 4 (float32): the "timestep" the network gets. */
  private cNoise(sigma: number): number {
    return fround(0.25 * fround(Math.log(sigma)));
  }

  setTimesteps(numInferenceSteps: number | null, opts: SetTimestepsOptions = {}): void {
    if (opts.timesteps !== undefined || opts.sigmas !== undefined || opts.mu !== undefined) {
      throw new ArgumentError(opts.timesteps !== undefined ? "timesteps" : opts.sigmas !== undefined ? "sigmas" : "mu", `${this.className} takes only a number of steps`);
    }
    const n = numInferenceSteps as number;
    if (!Number.isInteger(n) || n < 1) throw new ArgumentError("numInferenceSteps", `must be an integer >= 1, got ${n}`);
    const s = edmSigmasF32(this.config, n);
    this.timesteps = Float64Array.from(s, (v) => this.cNoise(v));
    const last = this.config.final_sigmas_type === "sigma_min" ? fround(this.config.sigma_min as number) : 0;
    this.sigmas = Float64Array.from([...s, last]);
    this.numInferenceSteps = n;
    this.outputs = new Array(this.config.solver_order as number).fill(null);
    this.lowerOrderNums = 0;
    this.index = null;
    this.beginIndex = null;
  }

  private currentIndex(t: number): number {
    if (this.index === null) this.index = this.beginIndex ?? indexForTimestep(this.timesteps, t);
    return this.index;
  }

  /** c_in x = x / sqrt(sigma^2 + sigma_data^2) (Karras et al. 2022, Table 1). */
  scaleModelInput(sample: Float32Array, t: number): Float32Array {
    f32("sample", sample);
    const s = this.sigmas[this.currentIndex(t)];
    const sd = this.config.sigma_data as number;
    const cIn = fround(1 / fround(Math.sqrt(fround(fround(s * s) + fround(sd * sd)))));
    return sample.map((v) => v * cIn);
  }

  /** D = c_skip x + c_out F (Karras et al. 2022, eq. 7 and Table 1); c_out changes sign for v-prediction. */
  private denoised(sample: Float32Array, out: Float32Array, sigma: number): Float32Array {
    const sd = this.config.sigma_data as number;
    const d2 = sigma * sigma + sd * sd;
    const cSkip = (sd * sd) / d2;
    const cOut = ((this.config.prediction_type === "epsilon" ? 1 : -1) * sigma * sd) / Math.sqrt(d2);
    if (out.length !== sample.length) throw new ArgumentError("modelOutput", `must hold ${sample.length} values (the sample's), got ${out.length}`);
    return sample.map((x, j) => cSkip * x + cOut * out[j]);
  }

  step(modelOutput: Float32Array, t: number, sample: Float32Array, opts: StepOptions = {}): StepResult {
    if (this.numInferenceSteps === null) throw new ArgumentError("setTimesteps", "must be called before step");
    f32("sample", sample);
    f32("modelOutput", modelOutput);
    const c = this.config;
    const n = sample.length;
    const batch = batchOf(opts.shape, n);
    const i = this.currentIndex(t);
    const steps = this.timesteps.length;
    if (i >= steps) throw new ArgumentError("t", `the run has ${steps} steps and all have been taken`);
    const few = (c.lower_order_final as boolean) && steps < 15;
    const lowerFinal = i === steps - 1 && ((c.euler_at_final as boolean) || few || c.final_sigmas_type === "zero");
    const lowerSecond = i === steps - 2 && few;
    let x0 = this.denoised(sample, modelOutput, this.sigmas[i]);
    if (c.thresholding) x0 = dynamicThreshold(x0, batch, c.dynamic_thresholding_ratio as number, c.sample_max_value as number);
    this.outputs.shift();
    this.outputs.push(x0);
    const solverOrder = c.solver_order as number;
    const order = solverOrder === 1 || this.lowerOrderNums < 1 || lowerFinal ? 1 : solverOrder === 2 || this.lowerOrderNums < 2 || lowerSecond ? 2 : 3;
    const algorithm = c.algorithm_type as DpmAlgorithm;
    const noise = algorithm === "sde-dpmsolver++" ? stepNoise(opts, n, batch, i) : null;
    const k = this.outputs.length;
    const outputs = Array.from({ length: order }, (_, o) => this.outputs[k - 1 - o] as Float32Array);
    const hPrev = Array.from({ length: order - 1 }, (_, o) => dpmStepSize(this.sigmas[i - o - 1], this.sigmas[i - o]));
    const out = new Float32Array(n);
    dpmSolverStep(out, sample, { algorithm, solverType: c.solver_type as DpmSolverType, order, sigma: this.sigmas[i], sigmaNext: this.sigmas[i + 1], hPrev, outputs, noise });
    if (this.lowerOrderNums < solverOrder) this.lowerOrderNums++;
    this.index = i + 1;
    return { prevSample: out, predOriginalSample: x0 };
  }

  /** x + sigma(t) noise at each item's timestep (diffusers' Euler-style add_noise). */
  addNoise(original: Float32Array, noise: Float32Array, timesteps: ArrayLike<number> | number): Float32Array {
    f32("original", original);
    f32("noise", noise);
    if (noise.length !== original.length) throw new ArgumentError("noise", `must hold ${original.length} values, got ${noise.length}`);
    const ts = typeof timesteps === "number" ? [timesteps] : Array.from(timesteps);
    if (ts.length === 0 || original.length % ts.length !== 0) throw new ArgumentError("timesteps", `must have one entry, or one per item, got ${ts.length}`);
    const size = original.length / ts.length;
    const out = new Float32Array(original.length);
    ts.forEach((t, b) => {
      const idx = this.beginIndex === null ? indexForTimestep(this.timesteps, t, "timesteps") : (this.index ?? this.beginIndex);
      const s = fround(this.sigmas[idx]);
      for (let j = b * size; j < (b + 1) * size; j++) out[j] = fround(original[j] + fround(noise[j] * s));
    });
    return out;
  }

  toJson(): string {
    return configToJson(this.className, this.config);
  }
}
