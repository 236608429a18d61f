// diffusers' HeunDiscreteScheduler: EDM's Heun method (Karras et al. 2022, Alg. 2, no churn) as two step
// calls per sigma. Every sigma but the first and last appears twice in diffusers' tables; the first call
// of a pair is the Euler predictor, the second the trapezoidal corrector with the model output at the
// predicted point (the library's heunPredict / heunCorrect); the step to sigma = 0 is Euler alone.

import { dexp } from "../../math/detmath.ts";
import { heunCorrect, heunPredict } from "../../samplers/ode.ts";
import { bool, readConfig, num, type ConfigSpec } from "./config.ts";
import { discreteSchedule, predictionKey, refuseCustomWithSpacing, SPACING_FLAG_KEYS, TIMESTEP_KEYS } from "./discrete-schedule.ts";
import { sigmaSpacingOf } from "./discrete-sigmas.ts";
import { checkCount, denoisedOf, SigmaScheduler, trainingTable } from "./sigma-base.ts";
import { betaKeys, betasOf } from "./tables.ts";
import type { SchedulerFactory, SetTimestepsOptions, StepOptions, StepResult } from "./types.ts";

const fround = Math.fround;

const HEUN_SPEC: ConfigSpec = {
  ...betaKeys({ betaStart: 0.00085, betaEnd: 0.012, schedules: ["linear", "scaled_linear", "squaredcos_cap_v2", "exp"] }),
  prediction_type: predictionKey(),
  ...SPACING_FLAG_KEYS,
  clip_sample: { default: false, check: bool },
  clip_sample_range: { default: 1.0, check: num(0, Infinity, { openLo: true }) },
  ...TIMESTEP_KEYS,
};

/** diffusers' betas_for_alpha_bar with alpha_bar(t) = exp(-12 t) (the "exp" schedule), float64 then float32. */
export function expBetasF32(T: number, maxBeta = 0.999): Float32Array {
  const out = new Float32Array(T);
  for (let i = 0; i < T; i++) out[i] = Math.min(1 - dexp(((i + 1) / T) * -12) / dexp((i / T) * -12), maxBeta);
  return out;
}

/** The betas of a config whose beta_schedule may be "exp" (Heun's extra schedule). */
export function betasWithExp(config: Readonly<Record<string, unknown>>): Float32Array {
  return config.beta_schedule === "exp" && config.trained_betas === null ? expBetasF32(config.num_train_timesteps as number) : betasOf(config);
}

/** Repeat every entry but the first `keepFirst` and the last `keepLast` twice (torch repeat_interleave(2)). */
export function interleave2(a: ArrayLike<number>, keepFirst: number, keepLast: number): Float64Array {
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) {
    out.push(a[i]);
    if (i >= keepFirst && i < a.length - keepLast) out.push(a[i]);
  }
  return Float64Array.from(out);
}

export class HeunDiscreteScheduler extends SigmaScheduler {
  readonly order = 2;
  private readonly table: Float32Array;
  private readonly logSigmas: Float64Array;
  /** Between the two calls of a pair: the sample the step started from and its slope. */
  private pending: { x: Float32Array; d: Float64Array } | null = null;

  constructor(raw: Record<string, unknown> = {}) {
    super("HeunDiscreteScheduler", readConfig("HeunDiscreteScheduler", raw, HEUN_SPEC));
    sigmaSpacingOf(this.config);
    const { table, logSigmas } = trainingTable(this.config, betasWithExp(this.config));
    this.table = table;
    this.logSigmas = logSigmas;
    this.setTimesteps(table.length);
  }

  setTimesteps(numInferenceSteps: number | null, opts: SetTimestepsOptions = {}): void {
    checkCount(numInferenceSteps, opts, { timesteps: true });
    refuseCustomWithSpacing(this.config, opts.timesteps);
    const n = numInferenceSteps ?? (opts.timesteps as ArrayLike<number>).length;
    const { timesteps, sigmas } = discreteSchedule(this.config, this.table, this.logSigmas, n, opts.timesteps);
    const withZero = Float64Array.from({ length: sigmas.length + 1 }, (_, i) => (i < sigmas.length ? fround(sigmas[i]) : 0));
    // sigmas [s0, s1, s1, ..., s_{n-1}, s_{n-1}, 0]; timesteps [t0, t1, t1, ..., t_{n-1}, t_{n-1}]
    this.sigmas = interleave2(withZero, 1, 1);
    this.timesteps = interleave2(timesteps.map(fround), 1, 0);
    this.pending = null;
    this.resetRun();
  }

  /** Whether the next step call is the first of its pair (diffusers' state_in_first_order). */
  get stateInFirstOrder(): boolean {
    return this.pending === null;
  }

  step(modelOutput: Float32Array, t: number, sample: Float32Array, _opts: StepOptions = {}): StepResult {
    this.checkStep(modelOutput, sample);
    const i = this.currentIndex(t);
    const first = this.pending === null;
    const sigma = first ? this.sigmas[i] : this.sigmas[i - 1];
    const sigmaNext = first ? this.sigmas[i + 1] : this.sigmas[i];
    // the model output of the corrector call was taken at the predicted point, sigmaNext
    const x0 = denoisedOf(this.config.prediction_type as string, modelOutput, sample, first ? sigma : sigmaNext);
    if (this.config.clip_sample === true) {
      const r = this.config.clip_sample_range as number;
      for (let j = 0; j < x0.length; j++) x0[j] = Math.min(r, Math.max(-r, x0[j]));
    }
    const prevSample = new Float32Array(sample.length);
    if (first) {
      this.pending = { x: sample, d: heunPredict(prevSample, sample, x0, sigma, sigmaNext) };
    } else {
      const p = this.pending as { x: Float32Array; d: Float64Array };
      heunCorrect(prevSample, p.x, p.d, sample, x0, sigma, sigmaNext);
      this.pending = null;
    }
    this.stepIdx = i + 1;
    return { prevSample, predOriginalSample: x0 };
  }
}

export const HEUN_SCHEDULERS: Record<string, SchedulerFactory> = {
  HeunDiscreteScheduler: (c) => new HeunDiscreteScheduler(c),
};
