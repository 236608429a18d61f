// diffusers' IPNDMScheduler: iPNDM (Zhang & Chen 2023) on the trigonometric schedule of v-diffusion
// models: at step s in [1, 0], sigma = sin^2(pi s / 2), alpha = sqrt(1 - sigma^2) and the timestep is
// the angle atan2(sigma, alpha) * 2 / pi. The model's output m gives eps = sigma x + alpha m (exact for
// a v-prediction model), combined by Adams-Bashforth (plmsCombine, as the library's sampleIpndm) and
// moved by the DDIM transfer.

import { plmsCombine } from "../../samplers/plms.ts";
import { ArgumentError, f32 } from "../../validate.ts";
import { configToJson, integer, nullable, numbers, readConfig, type ConfigSpec } from "./config.ts";
import { checkStepCount } from "./spacing.ts";
import { torchLinspaceF32 } from "./tables.ts";
import type { Scheduler, SetTimestepsOptions, StepOptions, StepResult } from "./types.ts";

const fround = Math.fround;
const PI = fround(Math.PI);

export const IPNDM_SPEC: ConfigSpec = {
  num_train_timesteps: { default: 1000, check: integer(1, 100_000) },
  // replaces the sin^2 sigmas: num_inference_steps + 1 values, the last the end point
  trained_betas: { default: null, check: nullable(numbers(100_001)) },
};

export class IPNDMScheduler implements Scheduler {
  readonly className = "IPNDMScheduler";
  readonly config: Readonly<Record<string, unknown>>;
  readonly order = 1;
  readonly initNoiseSigma = 1;
  readonly pndmOrder = 4;
  timesteps = new Float64Array(0);
  /** sigma_i (diffusers' betas) and alpha_i of the run, one more than the timesteps. */
  betas = new Float32Array(0);
  alphas = new Float32Array(0);
  stepIndex: number | null = null;
  private ets: Float32Array[] = [];

  constructor(config: Record<string, unknown> = {}) {
    this.config = Object.freeze(readConfig("IPNDMScheduler", config, IPNDM_SPEC));
    this.setTimesteps(this.config.num_train_timesteps as number);
  }

  setTimesteps(numInferenceSteps: number | null, opts: SetTimestepsOptions = {}): void {
    if (opts.timesteps !== undefined || opts.sigmas !== undefined) throw new ArgumentError(opts.timesteps !== undefined ? "timesteps" : "sigmas", "IPNDMScheduler takes a step count only");
    const n = checkStepCount(numInferenceSteps, Infinity);
    const trained = this.config.trained_betas as number[] | null;
    if (trained !== null) {
      if (trained.length !== n + 1) throw new ArgumentError("trained_betas", `must hold numInferenceSteps + 1 = ${n + 1} values for this run, got ${trained.length}`);
      this.betas = Float32Array.from(trained);
    } else {
      const steps = torchLinspaceF32(1, 0, n + 1);
      steps[n] = 0;
      this.betas = steps.map((s) => {
        const v = fround(Math.sin(fround(fround(s * PI) / 2)));
        return fround(v * v);
      });
    }
    this.alphas = this.betas.map((b) => fround(Math.sqrt(fround(1 - fround(b * b)))));
    this.timesteps = Float64Array.from(this.betas.subarray(0, n), (b, i) => fround(fround(fround(Math.atan2(b, this.alphas[i])) / PI) * 2));
    this.ets = [];
    this.stepIndex = null;
  }

  scaleModelInput(sample: Float32Array, _t: number): Float32Array {
    return f32("sample", sample);
  }

  setBeginIndex(beginIndex: number): void {
    if (!Number.isInteger(beginIndex) || beginIndex < 0 || beginIndex >= this.timesteps.length) throw new ArgumentError("beginIndex", `must be an index of the timesteps, got ${beginIndex}`);
    this.stepIndex = beginIndex;
  }

  step(modelOutput: Float32Array, t: number, sample: Float32Array, _opts: StepOptions = {}): StepResult {
    f32("modelOutput", modelOutput);
    f32("sample", sample);
    if (modelOutput.length !== sample.length) throw new ArgumentError("modelOutput", `must hold ${sample.length} values, got ${modelOutput.length}`);
    let i = this.stepIndex;
    if (i === null || i >= this.timesteps.length || this.timesteps[i] !== t) {
      // diffusers' _init_step_index: find t when no step is under way (or the run is over)
      if (i !== null && i < this.timesteps.length) throw new ArgumentError("t", `must be ${this.timesteps[i]} (step ${i} of this run), got ${t}`);
      i = this.timesteps.indexOf(t);
      if (i < 0) throw new ArgumentError("t", `${t} is not one of this run's timesteps`);
    }
    const [a, s, an, sn] = [this.alphas[i], this.betas[i], this.alphas[i + 1], this.betas[i + 1]];
    this.ets.push(sample.map((x, j) => fround(fround(x * s) + fround(modelOutput[j] * a))));
    if (this.ets.length > 4) this.ets.shift();
    const eps = plmsCombine(this.ets);
    const denom = Math.max(a, 1e-8);
    // x0 = (x - sigma eps) / alpha, then the DDIM transfer to (alpha', sigma')
    const prevSample = sample.map((x, j) => {
      const pred = fround(fround(x - fround(s * eps[j])) / denom);
      return fround(fround(an * pred) + fround(eps[j] * sn));
    });
    this.stepIndex = i + 1;
    return { prevSample };
  }

  addNoise(): Float32Array {
    throw new ArgumentError("addNoise", "IPNDMScheduler has no add_noise in diffusers (its schedule exists only per run)");
  }

  toJson(): string {
    const { _class_name: _c, ...rest } = this.config as Record<string, unknown>;
    return configToJson(this.className, rest);
  }
}
