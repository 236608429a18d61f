// diffusers' KDPM2DiscreteScheduler and KDPM2AncestralDiscreteScheduler: DPM-Solver-2 (Lu et al. 2022,
// Alg. 1 with r = 1/2 in log sigma) as k-diffusion's sample_dpm_2 / sample_dpm_2_ancestral run it, two
// step calls per sigma. The first call of a pair moves to the midpoint sigma (geometric mean of the step's
// ends), the second takes the whole step with the slope of the model output there; both are the library's
// dpm2Stage. diffusers' tables (sigmas, midpoints, ancestral up/down) are float32 PyTorch arithmetic.

import { dexp, dlog } from "../../math/detmath.ts";
import { dpm2Stage } from "../../samplers/dpm2.ts";
import { readConfig, type ConfigSpec } from "./config.ts";
import { discreteSchedule, predictionKey, SPACING_FLAG_KEYS, TIMESTEP_KEYS } from "./discrete-schedule.ts";
import { sigmaSpacingOf, sigmaToTimestep } from "./discrete-sigmas.ts";
import { interleave2 } from "./heun.ts";
import { checkCount, denoisedOf, SigmaScheduler, trainingTable } from "./sigma-base.ts";
import { betaKeys } from "./tables.ts";
import type { SchedulerFactory, SetTimestepsOptions, StepOptions, StepResult } from "./types.ts";

const fround = Math.fround;

const KDPM2_SPEC: ConfigSpec = {
  ...betaKeys({ betaStart: 0.00085, betaEnd: 0.012, schedules: ["linear", "scaled_linear", "squaredcos_cap_v2"] }),
  ...SPACING_FLAG_KEYS,
  // diffusers raises NotImplementedError for "sample" in both classes
  prediction_type: predictionKey(["epsilon", "v_prediction"]),
  ...TIMESTEP_KEYS,
};

/** exp(lerp(log a, log b, 1/2)) in float32, as torch computes it; 0 when either end is 0. */
function logMidF32(a: number, b: number): number {
  if (a === 0 || b === 0) return 0;
  const la = fround(dlog(a));
  const lb = fround(dlog(b));
  return fround(dexp(fround(lb - fround(fround(lb - la) * 0.5))));
}

/** torch.cat([a[:1], a[1:].repeat_interleave(2), a[-1:]]). */
function interleaveWithLast(a: ArrayLike<number>): Float64Array {
  const body = interleave2(a, 1, 0);
  const out = new Float64Array(body.length + 1);
  out.set(body);
  out[body.length] = a[a.length - 1];
  return out;
}

/** What both KDPM2 classes share: the sigma tables, the two-call state and the step of each call. */
abstract class Kdpm2Base extends SigmaScheduler {
  readonly order = 2;
  protected readonly table: Float32Array;
  protected readonly logSigmas: Float64Array;
  /** diffusers' sigmas_interpol, interleaved like the sigmas. */
  protected mids: Float64Array = new Float64Array(0);
  /** Between the two calls of a pair: the sample the step started from. */
  protected pending: Float32Array | null = null;

  constructor(className: string, raw: Record<string, unknown>) {
    super(className, readConfig(className, raw, KDPM2_SPEC));
    sigmaSpacingOf(this.config);
    const { table, logSigmas } = trainingTable(this.config);
    this.table = table;
    this.logSigmas = logSigmas;
  }

  /** Whether the next step call is the first of its pair (diffusers' state_in_first_order). */
  get stateInFirstOrder(): boolean {
    return this.pending === null;
  }

  /** The per-step sigmas (with the final 0) and timesteps of the run, before interleaving. */
  protected base(n: number): { sigmas: Float64Array; timesteps: Float64Array } {
    const { timesteps, sigmas } = discreteSchedule(this.config, this.table, this.logSigmas, n);
    // diffusers rounds the timesteps of Karras sigmas, and keeps any respaced ones in float64
    const spacing = sigmaSpacingOf(this.config);
    const ts = spacing === "karras" ? timesteps.map(Math.round) : spacing === null ? timesteps.map(fround) : timesteps;
    const withZero = Float64Array.from({ length: sigmas.length + 1 }, (_, i) => (i < sigmas.length ? fround(sigmas[i]) : 0));
    return { sigmas: withZero, timesteps: ts };
  }

  /** A midpoint sigma's timestep, in the timesteps' precision. */
  protected midTimestep(sigma: number): number {
    const t = sigmaToTimestep(sigma, this.logSigmas);
    return sigmaSpacingOf(this.config) === null ? fround(t) : t;
  }

  protected override inputSigma(index: number): number {
    return this.pending === null ? this.sigmas[index] : this.secondInputSigma(index);
  }

  protected abstract secondInputSigma(index: number): number;

  /**
   * One call: x0 from the output at `sigmaEval`; the first call moves from the sample to `mid` (stage 1),
   * the second from the kept sample to `target` with the slope at the midpoint (stage 2).
   */
  protected stage(modelOutput: Float32Array, sample: Float32Array, sigma: number, mid: number, target: number): { prevSample: Float32Array; x0: Float32Array } {
    const first = this.pending === null;
    const x0 = denoisedOf(this.config.prediction_type as string, modelOutput, sample, first ? sigma : mid);
    const prevSample = new Float32Array(sample.length);
    if (first) {
      dpm2Stage(prevSample, sample, sample, x0, sigma, mid - sigma);
      this.pending = sample;
    } else {
      dpm2Stage(prevSample, this.pending as Float32Array, sample, x0, mid, target - sigma);
      this.pending = null;
    }
    return { prevSample, x0 };
  }
}

export class KDPM2DiscreteScheduler extends Kdpm2Base {
  constructor(raw: Record<string, unknown> = {}) {
    super("KDPM2DiscreteScheduler", raw);
    // diffusers' constructor runs set_timesteps(num_train_timesteps)
    this.setTimesteps(this.table.length);
  }

  setTimesteps(numInferenceSteps: number | null, opts: SetTimestepsOptions = {}): void {
    checkCount(numInferenceSteps, opts, {});
    const { sigmas, timesteps } = this.base(numInferenceSteps as number);
    const n = sigmas.length - 1;
    // the midpoint of each step (k-diffusion: sigma.log().lerp(sigma_next.log(), 0.5).exp()), at the step's end index
    const mids = Float64Array.from(sigmas, (s, i) => (i === 0 ? NaN : logMidF32(s, sigmas[i - 1])));
    this.sigmas = interleaveWithLast(sigmas);
    this.mids = interleaveWithLast(mids);
    const ts = [timesteps[0]];
    for (let k = 1; k < n; k++) ts.push(this.midTimestep(mids[k]), timesteps[k]);
    this.timesteps = Float64Array.from(ts);
    this.pending = null;
    this.resetRun();
  }

  protected secondInputSigma(index: number): number {
    return this.mids[index];
  }

  step(modelOutput: Float32Array, t: number, sample: Float32Array, _opts: StepOptions = {}): StepResult {
    this.checkStep(modelOutput, sample);
    const i = this.currentIndex(t);
    const first = this.pending === null;
    const sigma = first ? this.sigmas[i] : this.sigmas[i - 1];
    const mid = first ? this.mids[i + 1] : this.mids[i];
    const next = first ? this.sigmas[i + 1] : this.sigmas[i];
    const { prevSample, x0 } = this.stage(modelOutput, sample, sigma, mid, next);
    this.stepIdx = i + 1;
    return { prevSample, predOriginalSample: x0 };
  }
}

export class KDPM2AncestralDiscreteScheduler extends Kdpm2Base {
  private ups: Float64Array = new Float64Array(0);
  private downs: Float64Array = new Float64Array(0);

  constructor(raw: Record<string, unknown> = {}) {
    super("KDPM2AncestralDiscreteScheduler", raw);
    this.setTimesteps(this.table.length);
  }

  setTimesteps(numInferenceSteps: number | null, opts: SetTimestepsOptions = {}): void {
    checkCount(numInferenceSteps, opts, {});
    const { sigmas, timesteps } = this.base(numInferenceSteps as number);
    const n = sigmas.length - 1;
    // the ancestral split of each step (k-diffusion's get_ancestral_step, eta = 1) in float32
    const up = new Float64Array(n + 1);
    const down = new Float64Array(n + 1);
    for (let i = 0; i <= n; i++) {
      const s2 = fround(sigmas[i] * sigmas[i]);
      const sn = i < n ? sigmas[i + 1] : 0;
      const n2 = fround(sn * sn);
      up[i] = fround(Math.sqrt(fround(fround(n2 * fround(s2 - n2)) / s2)));
      down[i] = i < n ? fround(Math.sqrt(fround(n2 - fround(up[i] * up[i])))) : 0;
    }
    // the midpoint between sigma and sigmaDown; the last two are 0 (the Euler step to 0 ends the run)
    const mids = Float64Array.from(sigmas, (s, i) => (i >= n - 1 ? 0 : logMidF32(s, down[i])));
    this.sigmas = interleaveWithLast(sigmas);
    this.mids = interleaveWithLast(mids);
    this.ups = interleaveWithLast(up);
    this.downs = interleaveWithLast(down);
    const ts = [timesteps[0]];
    for (let k = 1; k < n; k++) ts.push(this.midTimestep(mids[k - 1]), timesteps[k]);
    this.timesteps = Float64Array.from(ts);
    this.pending = null;
    this.resetRun();
  }

  protected secondInputSigma(index: number): number {
    return this.mids[index - 1];
  }

  /** The second call of a pair adds noise of scale sigmaUp (opts.noise or opts.rng). */
  step(modelOutput: Float32Array, t: number, sample: Float32Array, opts: StepOptions = {}): StepResult {
    this.checkStep(modelOutput, sample);
    const i = this.currentIndex(t);
    const first = this.pending === null;
    const at = first ? i : i - 1;
    const { prevSample, x0 } = this.stage(modelOutput, sample, this.sigmas[at], this.mids[at], this.downs[at]);
    if (!first) {
      const up = this.ups[at];
      const z = this.drawNoise(opts, sample.length, i);
      for (let j = 0; j < prevSample.length; j++) prevSample[j] += fround(z[j] * up);
    }
    this.stepIdx = i + 1;
    return { prevSample, predOriginalSample: x0 };
  }
}

export const KDPM2_SCHEDULERS: Record<string, SchedulerFactory> = {
  KDPM2DiscreteScheduler: (c) => new KDPM2DiscreteScheduler(c),
  KDPM2AncestralDiscreteScheduler: (c) => new KDPM2AncestralDiscreteScheduler(c),
};
