// diffusers' FlowMatchHeunDiscreteScheduler: Heun's 2nd-order method (EDM, Karras et al. 2022, Alg. 2,
// with its churn) on the rectified-flow ODE, in diffusers' two-calls-per-step protocol: the timestep
// table repeats every timestep after the first, the first call of a pair takes the Euler point, the
// second corrects it. The arithmetic is the library's Heun stages (samplers/ode.ts heunPredict,
// heunCorrect) with sigma = t and D = x - t v; the step to sigma = 0 stays first order, as in both.

import { ArgumentError } from "../../validate.ts";
import { heunCorrect, heunPredict } from "../../samplers/ode.ts";
import { churnGamma } from "../../samplers/steps.ts";
import { integer, num, readConfig, type ConfigSpec } from "./config.ts";
import { checkStepArrays, FlowSchedulerBase, stepNoise } from "./flow-base.ts";
import { flowTrainingSigmas } from "./flow-euler.ts";
import { shiftSigma } from "./flow-sigmas.ts";
import { npLinspace } from "./numpy.ts";
import type { Scheduler, SetTimestepsOptions, StepOptions, StepResult } from "./types.ts";

const fround = Math.fround;

/** Every key of FlowMatchHeunDiscreteScheduler.__init__, with its default. */
export const FLOW_HEUN_SPEC: ConfigSpec = {
  num_train_timesteps: { default: 1000, check: integer(1, 100_000) },
  shift: { default: 1.0, check: num(0, Infinity, { openLo: true }) },
};

export class FlowMatchHeunDiscreteScheduler extends FlowSchedulerBase implements Scheduler {
  readonly className = "FlowMatchHeunDiscreteScheduler";
  readonly order = 2;
  readonly config: Readonly<Record<string, unknown>>;
  readonly sigmaMax: number;
  readonly sigmaMin: number;
  // the first stage's state, kept for the second call (diffusers' prev_derivative, dt, sample)
  private first: { d: Float64Array; sigmaHat: number; x: Float32Array } | null = null;
  private draws = 0;

  constructor(raw: Record<string, unknown> = {}) {
    super();
    this.config = readConfig("FlowMatchHeunDiscreteScheduler", raw, FLOW_HEUN_SPEC);
    const T = this.config.num_train_timesteps as number;
    const s = flowTrainingSigmas(T, this.config.shift as number, false);
    this.sigmas = Float64Array.from(s);
    this.timesteps = Float64Array.from(s, (v) => fround(v * T));
    this.sigmaMax = s[0];
    this.sigmaMin = s[T - 1];
  }

  /** True when the next call is the first of a pair (diffusers' state_in_first_order). */
  get stateInFirstOrder(): boolean {
    return this.first === null;
  }

  setTimesteps(numInferenceSteps: number | null, opts: SetTimestepsOptions = {}): void {
    for (const k of ["sigmas", "timesteps", "mu"] as const) {
      if (opts[k] !== undefined) throw new ArgumentError(k, "FlowMatchHeunDiscreteScheduler.set_timesteps takes only the number of steps");
    }
    if (!Number.isInteger(numInferenceSteps) || (numInferenceSteps as number) < 1) throw new ArgumentError("numInferenceSteps", `must be an integer >= 1, got ${numInferenceSteps}`);
    const n = numInferenceSteps as number;
    const T = this.config.num_train_timesteps as number;
    const shift = this.config.shift as number;
    const s = npLinspace(this.sigmaMax * T, this.sigmaMin * T, n).map((t) => fround(shiftSigma(t / T, shift)));
    // every timestep after the first twice; every sigma but the first and the closing 0 twice
    const ts: number[] = [fround(s[0] * T)];
    const sig: number[] = [s[0]];
    for (let i = 1; i < n; i++) {
      const t = fround(s[i] * T);
      ts.push(t, t);
      sig.push(s[i], s[i]);
    }
    sig.push(0);
    this.timesteps = Float64Array.from(ts);
    this.sigmas = Float64Array.from(sig);
    this.first = null;
    this.stepIdx = null;
    this.beginIdx = null;
    this.draws = 0;
  }

  step(modelOutput: Float32Array, t: number, sample: Float32Array, opts: StepOptions = {}): StepResult {
    const n = checkStepArrays(modelOutput, sample);
    if (this.timesteps.length === this.sigmas.length) throw new ArgumentError("t", "no run is set: call setTimesteps first");
    const i = this.initStepIndex(t);
    if (i + 1 >= this.sigmas.length) throw new ArgumentError("t", "the run has ended; call setTimesteps again");
    const firstStage = this.first === null;
    const sigma = firstStage ? this.sigmas[i] : this.sigmas[i - 1];
    const sigmaNext = firstStage ? this.sigmas[i + 1] : this.sigmas[i];
    // EDM churn (Alg. 2 lines 4-6), gamma over the table's 2N - 1 steps as diffusers counts them
    const sTmin = opts.sTmin ?? 0;
    const sTmax = opts.sTmax ?? Infinity;
    const gamma = churnGamma(sigma, this.sigmas.length - 1, opts.sChurn ?? 0, sTmin, sTmax);
    const sigmaHat = sigma * (gamma + 1);
    let x = sample;
    if (gamma > 0) {
      const z = stepNoise(opts, n, this.draws++, this.className);
      const c = (opts.sNoise ?? 1) * Math.sqrt(sigmaHat * sigmaHat - sigma * sigma);
      x = Float32Array.from(sample, (v, j) => v + c * z[j]);
    }
    const prev = new Float32Array(n);
    if (firstStage) {
      // x0 = x - sigma v (diffusers takes sigma, not sigma_hat, here), then Heun's Euler point
      const den = new Float64Array(n);
      for (let j = 0; j < n; j++) den[j] = x[j] - sigma * modelOutput[j];
      const d = heunPredict(prev, x, den, sigmaHat, sigmaNext);
      this.first = { d, sigmaHat, x };
      this.stepIdx = i + 1;
      return { prevSample: prev, predOriginalSample: Float32Array.from(den) };
    }
    // second call: the slope at the Euler point (x here) averages with the first (trapezoidal rule)
    const { d, sigmaHat: sHat, x: x0 } = this.first as { d: Float64Array; sigmaHat: number; x: Float32Array };
    const den2 = new Float64Array(n);
    for (let j = 0; j < n; j++) den2[j] = x[j] - sigmaNext * modelOutput[j];
    heunCorrect(prev, x0, d, x, den2, sHat, sigmaNext);
    this.first = null;
    this.stepIdx = i + 1;
    return { prevSample: prev, predOriginalSample: Float32Array.from(den2) };
  }
}
