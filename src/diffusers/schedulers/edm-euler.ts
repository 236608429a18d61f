// diffusers' EDMEulerScheduler: Euler steps (with churn) on EDM's own sigma schedule (Karras et al. 2022,
// eq. 5, or exponential), with EDM's preconditioning: the model sees c_in x and 0.25 log sigma, and
// D = c_skip x + c_out F (EDM Table 1). The step is the library's eulerStep.

import { dlog, dpow } from "../../math/detmath.ts";
import { eulerStep } from "../../samplers/ode.ts";
import { churnGamma } from "../../samplers/steps.ts";
import { ArgumentError } from "../../validate.ts";
import { choice, integer, num, readConfig, type ConfigSpec } from "./config.ts";
import { FINAL_SIGMAS_KEY } from "./discrete-schedule.ts";
import { checkCount, scaleBy, SigmaScheduler } from "./sigma-base.ts";
import { torchLinspaceF32 } from "./tables.ts";
import type { SchedulerFactory, SetTimestepsOptions, StepOptions, StepResult } from "./types.ts";

const fround = Math.fround;

const EDM_SPEC: ConfigSpec = {
  sigma_min: { default: 0.002, check: num(0, Infinity, { openLo: true }) },
  sigma_max: { default: 80.0, check: num(0, Infinity, { openLo: true }) },
  sigma_data: { default: 0.5, check: num(0, Infinity, { openLo: true }) },
  sigma_schedule: { default: "karras", check: choice(["karras", "exponential"]) },
  num_train_timesteps: { default: 1000, check: integer(1, 100_000) },
  prediction_type: { default: "epsilon", check: choice(["epsilon", "v_prediction"]) },
  rho: { default: 7.0, check: num(0, Infinity, { openLo: true }) },
  ...FINAL_SIGMAS_KEY,
};

/** torch.linspace in float64: the first half counts up from start, the second half down from end. */
export function torchLinspaceF64(start: number, end: number, steps: number): Float64Array {
  const out = new Float64Array(steps);
  if (steps === 1) out[0] = start;
  if (steps <= 1) return out;
  const step = (end - start) / (steps - 1);
  const half = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) out[i] = i < half ? start + step * i : end - step * (steps - i - 1);
  return out;
}

export class EDMEulerScheduler extends SigmaScheduler {
  readonly order = 1;

  constructor(raw: Record<string, unknown> = {}) {
    super("EDMEulerScheduler", readConfig("EDMEulerScheduler", raw, EDM_SPEC));
    const T = this.config.num_train_timesteps as number;
    this.build(Float64Array.from({ length: T + 1 }, (_, i) => i / T));
  }

  /** sigmas of a ramp in [0, 1] (0 = sigma_max), float32; timesteps 0.25 log sigma (EDM's c_noise); then the final sigma. */
  private build(ramp: Float64Array): void {
    const c = this.config;
    const lo = c.sigma_min as number;
    const hi = c.sigma_max as number;
    let s: Float64Array;
    if (c.sigma_schedule === "karras") {
      const rho = c.rho as number;
      const a = dpow(hi, 1 / rho);
      const b = dpow(lo, 1 / rho);
      s = ramp.map((r) => fround(dpow(a + r * (b - a), rho)));
    } else {
      // torch.linspace(log min, log max, len) in float32, exp, flipped
      const lin = torchLinspaceF32(dlog(lo), dlog(hi), ramp.length);
      s = Float64Array.from(lin, (v) => fround(Math.exp(v))).reverse();
    }
    this.timesteps = s.map((v) => fround(0.25 * fround(dlog(v))));
    const all = new Float64Array(s.length + 1);
    all.set(s);
    all[s.length] = c.final_sigmas_type === "sigma_min" ? s[s.length - 1] : 0;
    this.sigmas = all;
  }

  /** sqrt(sigma_max^2 + 1), as diffusers defines it for this class. */
  override get initNoiseSigma(): number {
    const m = this.config.sigma_max as number;
    return Math.sqrt(m * m + 1);
  }

  /**
   * n sigmas on the schedule; `sigmas`, if given, is taken as diffusers takes it: as the ramp in [0, 1]
   * the schedule is evaluated at (not as the sigmas themselves).
   */
  setTimesteps(numInferenceSteps: number | null, opts: SetTimestepsOptions = {}): void {
    if (opts.sigmas === undefined) checkCount(numInferenceSteps, opts, { sigmas: true });
    else if (opts.timesteps !== undefined) throw new ArgumentError("timesteps", "are not accepted by EDMEulerScheduler's setTimesteps");
    this.build(opts.sigmas !== undefined ? Float64Array.from(opts.sigmas) : torchLinspaceF64(0, 1, numInferenceSteps as number));
    this.resetRun();
  }

  /** EDM's c_in = 1 / sqrt(sigma^2 + sigma_data^2). */
  override scaleModelInput(sample: Float32Array, t: number): Float32Array {
    return scaleBy(sample, this.sigmas[this.currentIndex(t)], this.config.sigma_data as number);
  }

  /** EDM Alg. 2 lines 4-8 with the preconditioned denoiser D = c_skip x + c_out F. */
  step(modelOutput: Float32Array, t: number, sample: Float32Array, opts: StepOptions = {}): StepResult {
    this.checkStep(modelOutput, sample);
    const i = this.currentIndex(t);
    const sigma = this.sigmas[i];
    const gamma = churnGamma(sigma, this.sigmas.length - 1, opts.sChurn ?? 0, opts.sTmin ?? 0, opts.sTmax ?? Infinity);
    const sigmaHat = fround(sigma * (gamma + 1));
    let x = sample;
    if (gamma > 0) {
      const z = this.drawNoise(opts, sample.length, i);
      const c = fround(Math.sqrt(fround(fround(sigmaHat * sigmaHat) - fround(sigma * sigma))));
      const sn = opts.sNoise ?? 1;
      x = sample.map((v, j) => v + fround(fround(z[j] * sn) * c));
    }
    // EDM Table 1: c_skip = sd^2 / (s^2 + sd^2), c_out = +-s sd / sqrt(s^2 + sd^2) (minus for v-prediction)
    const sd = this.config.sigma_data as number;
    const q = fround(fround(sigmaHat * sigmaHat) + fround(sd * sd));
    const cSkip = fround(fround(sd * sd) / q);
    const cOut = fround(fround(fround(sigmaHat * sd) / fround(Math.sqrt(q))) * (this.config.prediction_type === "v_prediction" ? -1 : 1));
    const x0 = x.map((v, j) => fround(cSkip * v) + fround(cOut * modelOutput[j]));
    const prevSample = new Float32Array(x.length);
    eulerStep(prevSample, x, x0, sigmaHat, this.sigmas[i + 1]);
    this.stepIdx = i + 1;
    return { prevSample, predOriginalSample: x0 };
  }
}

export const EDM_EULER_SCHEDULERS: Record<string, SchedulerFactory> = {
  EDMEulerScheduler: (c) => new EDMEulerScheduler(c),
};
