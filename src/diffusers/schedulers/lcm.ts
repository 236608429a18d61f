// diffusers' LCMScheduler: latent consistency models (Luo et al. 2023). The timesteps are a skipping
// subset of the distillation's original_inference_steps (k - 1, 2k - 1, ..., k = T // original steps);
// a step takes the consistency function's output, c_skip x + c_out x0 (boundary scalings of Song et al.
// 2023, sigma_data 0.5, t scaled by timestep_scaling), then re-noises it to the next timestep by the
// forward process: ddimUpdateVp with the fresh noise as eps (the library's sampleLcm in VE space).

import { ddimUpdateVp } from "../../samplers/vp-steps.ts";
import { ArgumentError } from "../../validate.ts";
import { bool, integer, num, type ConfigSpec } from "./config.ts";
import { checkCustomTimesteps, checkStepCount } from "./spacing.ts";
import { betaKeys } from "./tables.ts";
import type { SetTimestepsOptions, StepOptions, StepResult } from "./types.ts";
import { batchOf, spacingKeys, VpScheduler, X0_KEYS } from "./vp-common.ts";

const fround = Math.fround;

export const LCM_SPEC: ConfigSpec = {
  ...betaKeys({ betaStart: 0.00085, betaEnd: 0.012, schedule: "scaled_linear" }),
  original_inference_steps: { default: 50, check: integer(1, 100_000) },
  ...X0_KEYS,
  clip_sample: { default: false, check: bool },
  set_alpha_to_one: { default: true, check: bool },
  ...spacingKeys(["leading"]),
  timestep_scaling: { default: 10.0, check: num(0, Infinity) },
};

export class LCMScheduler extends VpScheduler {
  readonly finalAlphaCumprod: number;
  private customTimesteps = false;

  constructor(config: Record<string, unknown> = {}, className = "LCMScheduler", spec: ConfigSpec = LCM_SPEC) {
    super(className, config, spec);
    this.finalAlphaCumprod = this.config.set_alpha_to_one ? 1 : this.alphasCumprod[0];
  }

  setTimesteps(numInferenceSteps: number | null, opts: SetTimestepsOptions = {}): void {
    if (opts.sigmas !== undefined) throw new ArgumentError("sigmas", `${this.className} takes a step count or custom timesteps`);
    const given = numInferenceSteps !== null && numInferenceSteps !== undefined;
    if (given === (opts.timesteps !== undefined)) throw new ArgumentError("timesteps", "give exactly one of numInferenceSteps or timesteps");
    const original = opts.originalInferenceSteps ?? (this.config.original_inference_steps as number);
    if (!Number.isInteger(original) || original < 1 || original > this.T) throw new ArgumentError("originalInferenceSteps", `must be an integer in [1, ${this.T}], got ${original}`);
    const strength = opts.strength ?? 1;
    if (typeof strength !== "number" || !(strength > 0 && strength <= 1)) throw new ArgumentError("strength", `must be in (0, 1], got ${strength}`);
    const k = Math.floor(this.T / original);
    // LCM's training schedule: k - 1, 2k - 1, ..., int(original * strength) k - 1
    const origin = Array.from({ length: Math.floor(original * strength) }, (_, i) => (i + 1) * k - 1);
    if (opts.timesteps !== undefined) {
      let ts = Array.from(checkCustomTimesteps(opts.timesteps, this.T));
      this.numInferenceSteps = ts.length;
      const init = Math.min(Math.floor(ts.length * strength), ts.length);
      ts = ts.slice(Math.max(ts.length - init, 0));
      this.timesteps = Float64Array.from(ts);
      this.customTimesteps = true;
    } else {
      const n = checkStepCount(numInferenceSteps, this.T);
      if (n > original) throw new ArgumentError("numInferenceSteps", `must be at most original_inference_steps (${original}), got ${n}`);
      if (Math.floor(origin.length / n) < 1) throw new ArgumentError("numInferenceSteps", `leaves no skipping step: ${origin.length} training steps (original_inference_steps x strength) for ${n} steps`);
      origin.reverse();
      // np.floor(np.linspace(0, len, n, endpoint=False))
      const step = origin.length / n;
      this.timesteps = Float64Array.from({ length: n }, (_, i) => origin[Math.floor(i * step)]);
      this.numInferenceSteps = n;
      this.customTimesteps = false;
    }
    this.stepIndex = null;
  }

  /** Consistency boundary scalings at t: c_skip = sd^2 / (s^2 + sd^2), c_out = s / sqrt(s^2 + sd^2), s = t timestep_scaling. */
  boundaryScalings(t: number): { cSkip: number; cOut: number } {
    const st = fround(t * (this.config.timestep_scaling as number));
    const d = fround(fround(st * st) + 0.25);
    return { cSkip: fround(0.25 / d), cOut: fround(st / fround(Math.sqrt(d))) };
  }

  /** The step index of t: the next one of the run, or t's own when no step is under way. */
  protected indexFor(t: number): number {
    const i = this.stepIndex;
    if (i !== null && i < this.timesteps.length) {
      if (this.timesteps[i] !== t) throw new ArgumentError("t", `must be ${this.timesteps[i]} (step ${i} of this run), got ${t}`);
      return i;
    }
    return this.indexOf(t);
  }

  step(modelOutput: Float32Array, t: number, sample: Float32Array, opts: StepOptions = {}): StepResult {
    this.checkStep(modelOutput, t, sample);
    if (this.numInferenceSteps === null) throw new ArgumentError("t", "there are no timesteps yet: call setTimesteps first");
    const i = this.indexFor(t);
    const last = i === this.timesteps.length - 1;
    const prevT = last ? t : this.timesteps[i + 1];
    const abar = this.alphasCumprod[t];
    const abarPrev = prevT >= 0 ? this.alphasCumprod[prevT] : this.finalAlphaCumprod;
    const batch = batchOf(sample, opts.shape);
    const { x0 } = this.predict(modelOutput, sample, [abar], batch, opts.shape !== undefined);
    const { cSkip, cOut } = this.boundaryScalings(t);
    const denoised = x0.map((v, j) => fround(fround(cOut * v) + fround(cSkip * sample[j])));
    let prevSample: Float32Array = denoised;
    if (!last) {
      const z = this.stepNoise(sample.length, batch, opts, i);
      prevSample = ddimUpdateVp(denoised, z, [abarPrev], [0], null);
    }
    this.stepIndex = i + 1;
    return { prevSample, predOriginalSample: denoised };
  }

  get isCustom(): boolean {
    return this.customTimesteps;
  }
}
