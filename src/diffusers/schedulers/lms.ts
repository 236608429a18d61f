// diffusers' LMSDiscreteScheduler: the linear multistep method of k-diffusion's sample_lms. The
// coefficients and the update are the library's (samplers/lms.ts, exact integrals of the Lagrange
// polynomial where diffusers calls scipy.integrate.quad); this class keeps the slopes of earlier steps.

import { lmsCoefficients, lmsStep } from "../../samplers/lms.ts";
import { ArgumentError } from "../../validate.ts";
import { readConfig, type ConfigSpec } from "./config.ts";
import { discreteSchedule, predictionKey, SPACING_FLAG_KEYS, TIMESTEP_KEYS } from "./discrete-schedule.ts";
import { sigmaSpacingOf } from "./discrete-sigmas.ts";
import { checkCount, denoisedOf, SigmaScheduler, trainingTable } from "./sigma-base.ts";
import { betaKeys } from "./tables.ts";
import type { SchedulerFactory, SetTimestepsOptions, StepOptions, StepResult } from "./types.ts";

const fround = Math.fround;

const LMS_SPEC: ConfigSpec = {
  ...betaKeys({ schedules: ["linear", "scaled_linear", "squaredcos_cap_v2"] }),
  ...SPACING_FLAG_KEYS,
  prediction_type: predictionKey(),
  ...TIMESTEP_KEYS,
};

export class LMSDiscreteScheduler extends SigmaScheduler {
  readonly order = 1;
  private readonly table: Float32Array;
  private readonly logSigmas: Float64Array;
  /** The slopes d = (x - x0) / sigma of the steps so far, newest first (diffusers' derivatives, reversed). */
  private derivatives: Float64Array[] = [];

  constructor(raw: Record<string, unknown> = {}) {
    super("LMSDiscreteScheduler", readConfig("LMSDiscreteScheduler", raw, LMS_SPEC));
    sigmaSpacingOf(this.config);
    const { table, logSigmas } = trainingTable(this.config);
    this.table = table;
    this.logSigmas = logSigmas;
    // diffusers' constructor runs set_timesteps(num_train_timesteps)
    this.setTimesteps(table.length);
  }

  setTimesteps(numInferenceSteps: number | null, opts: SetTimestepsOptions = {}): void {
    checkCount(numInferenceSteps, opts, {});
    const { timesteps, sigmas } = discreteSchedule(this.config, this.table, this.logSigmas, numInferenceSteps as number);
    this.sigmas = Float64Array.from({ length: sigmas.length + 1 }, (_, i) => (i < sigmas.length ? fround(sigmas[i]) : 0));
    this.timesteps = timesteps.map(fround);
    this.derivatives = [];
    this.resetRun();
  }

  /**
   * One LMS step of order min(steps so far, opts.order ?? 4) (diffusers' step(order=4)), from the slope
   * of this model output and the kept ones.
   */
  step(modelOutput: Float32Array, t: number, sample: Float32Array, opts: StepOptions = {}): StepResult {
    this.checkStep(modelOutput, sample);
    const order = opts.order ?? 4;
    if (!Number.isInteger(order) || order < 1 || order > 16) throw new ArgumentError("order", `must be an integer in [1, 16], got ${order}`);
    const i = this.currentIndex(t);
    const sigma = this.sigmas[i];
    const x0 = denoisedOf(this.config.prediction_type as string, modelOutput, sample, sigma);
    const d = new Float64Array(sample.length);
    for (let j = 0; j < d.length; j++) d[j] = fround((sample[j] - x0[j]) / sigma);
    this.derivatives.unshift(d);
    if (this.derivatives.length > order) this.derivatives.length = order;
    const prevSample = new Float32Array(sample.length);
    // diffusers takes the order from the step index, not from the slopes it holds: a run started mid-way
    // (img2img) weights its first slopes with higher-order coefficients, and zip() drops the missing ones
    const coeffs = lmsCoefficients(this.sigmas, i, Math.min(i + 1, order)).subarray(0, this.derivatives.length);
    lmsStep(prevSample, sample, this.derivatives, coeffs);
    this.stepIdx = i + 1;
    return { prevSample, predOriginalSample: x0 };
  }
}

export const LMS_SCHEDULERS: Record<string, SchedulerFactory> = {
  LMSDiscreteScheduler: (c) => new LMSDiscreteScheduler(c),
};
