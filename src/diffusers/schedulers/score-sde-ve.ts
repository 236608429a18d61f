// diffusers' ScoreSdeVeScheduler: predictor-corrector sampling of the VE SDE (Song et al. 2021, "Score-based
// generative modeling through SDEs", Alg. 2-4) on a model that outputs the score. The predictor is reverse
// diffusion (eq. 46) and the corrector Langevin dynamics with its step size set by a target SNR (Alg. 4);
// both are the library's PC steps (samplers/langevin.ts predictorStep, langevinStep), fed the score as
// den = x + s at unit sigma. Unlike the library's pc sampler (per-item norms), diffusers' corrector takes
// the norms' mean over the batch; that is kept here, so a batch's items share one step size.

import { dexp, dlog } from "../../math/detmath.ts";
import { langevinStep, predictorStep } from "../../samplers/langevin.ts";
import { ArgumentError, f32, int } from "../../validate.ts";
import { configToJson, integer, num, readConfig, type ConfigSpec } from "./config.ts";
import { checkStepArrays, stepNoise } from "./flow-base.ts";
import { torchLinspaceF32 } from "./tables.ts";
import type { Scheduler, SetTimestepsOptions, StepOptions, StepResult } from "./types.ts";

const fround = Math.fround;

/** Every key of ScoreSdeVeScheduler.__init__, with its default. */
export const SCORE_SDE_VE_SPEC: ConfigSpec = {
  num_train_timesteps: { default: 2000, check: integer(2, 1_000_000) },
  snr: { default: 0.15, check: num(0, Infinity, { openLo: true }) },
  sigma_min: { default: 0.01, check: num(0, Infinity, { openLo: true }) },
  sigma_max: { default: 1348.0, check: num(0, Infinity, { openLo: true }) },
  sampling_eps: { default: 1e-5, check: num(0, 1, { openLo: true }) },
  correct_steps: { default: 1, check: integer(0, 1000) },
};

export interface ScoreSdeVeStep extends StepResult {
  /** The predictor's mean, before the noise (diffusers' prev_sample_mean). */
  prevSampleMean?: Float32Array;
}

export class ScoreSdeVeScheduler implements Scheduler {
  readonly className = "ScoreSdeVeScheduler";
  readonly order = 1;
  readonly config: Readonly<Record<string, unknown>>;
  readonly initNoiseSigma: number;
  /** t from 1 down to sampling_eps (float32). */
  timesteps: Float64Array = new Float64Array(0);
  /** sigma_min (sigma_max / sigma_min)^t at each timestep, float32. */
  sigmas: Float64Array = new Float64Array(0);
  /** The predictor's noise levels: log-uniform from sigma_min to sigma_max, one per step, float32. */
  discreteSigmas: Float64Array = new Float64Array(0);
  readonly stepIndex = null;
  private draws = 0;

  constructor(raw: Record<string, unknown> = {}) {
    this.config = readConfig("ScoreSdeVeScheduler", raw, SCORE_SDE_VE_SPEC);
    if (!((this.config.sigma_max as number) > (this.config.sigma_min as number))) throw new ArgumentError("sigma_max", `must be > sigma_min (${String(this.config.sigma_min)}), got ${String(this.config.sigma_max)}`);
    this.initNoiseSigma = this.config.sigma_max as number;
    // diffusers builds its sigmas over the training steps at construction
    this.setSigmas(this.config.num_train_timesteps as number);
  }

  /** t = linspace(1, samplingEps, n) in float32 (torch.linspace). */
  setTimesteps(numInferenceSteps: number | null, opts: SetTimestepsOptions = {}): void {
    for (const k of ["sigmas", "timesteps", "mu"] as const) if (opts[k] !== undefined) throw new ArgumentError(k, "ScoreSdeVeScheduler.set_timesteps takes the number of steps and samplingEps only");
    const n = int("numInferenceSteps", numInferenceSteps, 1);
    const eps = opts.samplingEps ?? (this.config.sampling_eps as number);
    num(0, 1, { openLo: true })("samplingEps", eps);
    this.timesteps = Float64Array.from(torchLinspaceF32(1, eps, n));
    this.draws = 0;
  }

  /**
   * diffusers' set_sigmas: the predictor's log-uniform levels for n steps, and the continuous sigma(t) at
   * each current timestep (the timesteps are set first only when none are). Overrides as in diffusers.
   */
  setSigmas(numInferenceSteps: number, opts: { sigmaMin?: number; sigmaMax?: number; samplingEps?: number } = {}): void {
    const n = int("numInferenceSteps", numInferenceSteps, 1);
    const lo = opts.sigmaMin ?? (this.config.sigma_min as number);
    const hi = opts.sigmaMax ?? (this.config.sigma_max as number);
    if (!(lo > 0) || !(hi > lo)) throw new ArgumentError("sigmaMax", `must be > sigmaMin > 0, got sigmaMin ${lo}, sigmaMax ${hi}`);
    if (this.timesteps.length === 0) this.setTimesteps(n, { samplingEps: opts.samplingEps });
    // (sigma_max / sigma_min) ** t: a python float to a float32 power, in float32
    const ratio = fround(hi / lo);
    const lo32 = fround(lo);
    this.sigmas = this.timesteps.map((t) => fround(lo32 * fround(dexp(t * dlog(ratio)))));
    this.discreteSigmas = Float64Array.from(torchLinspaceF32(dlog(lo), dlog(hi), n), (v) => fround(dexp(v)));
  }

  scaleModelInput(sample: Float32Array, _t: number): Float32Array {
    return f32("sample", sample);
  }

  /** Reverse-diffusion predictor (Song et al. 2021 eq. 46): x + (sigma^2 - sigma_prev^2) s + sqrt(...) z. */
  stepPred(modelOutput: Float32Array, t: number, sample: Float32Array, opts: StepOptions = {}): ScoreSdeVeStep {
    const n = checkStepArrays(modelOutput, sample);
    if (this.timesteps.length === 0) throw new ArgumentError("t", "no run is set: call setTimesteps first");
    if (!Number.isFinite(t) || t < 0 || t > 1) throw new ArgumentError("t", `must be a time in [0, 1] (one of scheduler.timesteps), got ${t}`);
    // diffusers indexes the predictor's levels by (t (len(timesteps) - 1)).long(), in float32
    const k = Math.trunc(fround(fround(t) * (this.timesteps.length - 1)));
    if (k >= this.discreteSigmas.length) throw new ArgumentError("t", `indexes predictor level ${k}, but setSigmas made ${this.discreteSigmas.length}; call setSigmas with the run's step count`);
    const sigma = this.discreteSigmas[k];
    const adjacent = k === 0 ? 0 : this.discreteSigmas[k - 1];
    const diffusion = fround(Math.sqrt(fround(fround(sigma * sigma) - fround(adjacent * adjacent))));
    const z = stepNoise(opts, n, this.draws++, this.className);
    const den = Float64Array.from(sample, (v, j) => v + modelOutput[j]); // score -> den at sigma = 1
    const prev = new Float32Array(n);
    const mean = new Float32Array(n);
    predictorStep(prev, sample, den, 1, fround(diffusion * diffusion), z, mean);
    return { prevSample: prev, prevSampleMean: mean };
  }

  /**
   * Langevin corrector (Song et al. 2021 Alg. 4): step size eps = 2 (snr ||z|| / ||s||)^2 with both norms
   * averaged over the batch (diffusers), then x + eps s + sqrt(2 eps) z. `shape` gives the batch.
   */
  stepCorrect(modelOutput: Float32Array, sample: Float32Array, opts: StepOptions = {}): StepResult {
    const n = checkStepArrays(modelOutput, sample);
    if (this.timesteps.length === 0) throw new ArgumentError("sample", "no run is set: call setTimesteps first");
    const B = opts.shape ? int("shape[0]", opts.shape[0], 1) : 1;
    if (n % B !== 0) throw new ArgumentError("shape", `[${opts.shape}] does not fit ${n} values`);
    const z = stepNoise(opts, n, this.draws++, this.className);
    const m = n / B;
    let gradNorm = 0;
    let noiseNorm = 0;
    for (let b = 0; b < B; b++) {
      let g2 = 0;
      let z2 = 0;
      for (let j = b * m; j < (b + 1) * m; j++) {
        g2 += modelOutput[j] * modelOutput[j];
        z2 += z[j] * z[j];
      }
      gradNorm += fround(Math.sqrt(g2));
      noiseNorm += fround(Math.sqrt(z2));
    }
    gradNorm = fround(gradNorm / B);
    noiseNorm = fround(noiseNorm / B);
    const ratio = fround(fround(fround(this.config.snr as number) * noiseNorm) / gradNorm);
    const eps = fround(fround(ratio * ratio) * 2);
    const den = Float64Array.from(sample, (v, j) => v + modelOutput[j]);
    const prev = new Float32Array(n);
    langevinStep(prev, sample, den, 1, eps, z);
    return { prevSample: prev };
  }

  /** The Scheduler interface's step is the predictor (diffusers' step_pred); call stepCorrect for the corrector. */
  step(modelOutput: Float32Array, t: number, sample: Float32Array, opts: StepOptions = {}): StepResult {
    return this.stepPred(modelOutput, t, sample, opts);
  }

  /** x0 + sigma noise, sigma the predictor level at each item's integer index (diffusers' add_noise). */
  addNoise(original: Float32Array, noise: Float32Array, timesteps: ArrayLike<number> | number): Float32Array {
    checkStepArrays(noise, original);
    const ts = typeof timesteps === "number" ? [timesteps] : Array.from(timesteps);
    const B = ts.length;
    if (B === 0 || original.length % B !== 0) throw new ArgumentError("timesteps", `must have one entry per item or one for all; ${original.length} values do not split into ${B}`);
    const m = original.length / B;
    const out = new Float32Array(original.length);
    for (let b = 0; b < B; b++) {
      const k = ts[b];
      if (!Number.isInteger(k) || k < 0 || k >= this.discreteSigmas.length) throw new ArgumentError(`timesteps[${b}]`, `must be an index into the ${this.discreteSigmas.length} predictor levels, got ${k}`);
      const s = fround(this.discreteSigmas[k]);
      for (let j = b * m; j < (b + 1) * m; j++) out[j] = fround(noise[j] * s) + original[j];
    }
    return out;
  }

  setBeginIndex(_beginIndex: number): void {
    throw new ArgumentError("beginIndex", "ScoreSdeVeScheduler has no step index (its steps are indexed by t)");
  }

  toJson(): string {
    return configToJson(this.className, this.config);
  }
}
