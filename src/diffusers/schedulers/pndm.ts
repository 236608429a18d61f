// diffusers' PNDMScheduler: pseudo numerical methods (Liu et al. 2022). With skip_prk_steps, PLMS (a
// second-order first step, then Adams-Bashforth on eps, eq. 12); without, three pseudo Runge-Kutta
// warm-up steps (PRK: four model calls each, at t, t - d/2, t - d/2, t - d, weights 1/6, 1/3, 1/3, 1/6)
// fill the history first. Every move is the DDIM transfer of eq. 9 (pndmTransferVp); the eps
// combination is plmsCombine, shared with the library's samplePlms.

import { pndmTransferVp, plmsCombine } from "../../samplers/plms.ts";
import { ArgumentError } from "../../validate.ts";
import { bool, choice, integer, type ConfigSpec } from "./config.ts";
import { checkStepCount, integerTimesteps, type Spacing } from "./spacing.ts";
import { betaKeys } from "./tables.ts";
import type { SetTimestepsOptions, StepOptions, StepResult } from "./types.ts";
import { VpScheduler } from "./vp-common.ts";

const fround = Math.fround;

export const PNDM_SPEC: ConfigSpec = {
  ...betaKeys({ schedules: ["linear", "scaled_linear", "squaredcos_cap_v2"] }),
  skip_prk_steps: { default: false, check: bool },
  set_alpha_to_one: { default: false, check: bool },
  prediction_type: { default: "epsilon", check: choice(["epsilon", "v_prediction"]) },
  timestep_spacing: { default: "leading", check: choice(["leading", "trailing", "linspace"]) },
  steps_offset: { default: 0, check: integer(0, 100_000) },
};

/** PRK's model-output weights per call within one Runge-Kutta step (classical RK4). */
const PRK_WEIGHTS = [1 / 6, 1 / 3, 1 / 3, 1 / 6];

export class PNDMScheduler extends VpScheduler {
  readonly pndmOrder = 4;
  readonly finalAlphaCumprod: number;
  prkTimesteps = new Float64Array(0);
  plmsTimesteps = new Float64Array(0);
  private ets: Float32Array[] = [];
  private counter = 0;
  private curSample: Float32Array | null = null;
  private curModelOutput: Float32Array | null = null;

  constructor(config: Record<string, unknown> = {}) {
    super("PNDMScheduler", config, PNDM_SPEC);
    this.finalAlphaCumprod = this.config.set_alpha_to_one ? 1 : this.alphasCumprod[0];
    this.timesteps = new Float64Array(0);
  }

  setTimesteps(numInferenceSteps: number | null, opts: SetTimestepsOptions = {}): void {
    if (opts.timesteps !== undefined || opts.sigmas !== undefined) throw new ArgumentError(opts.timesteps !== undefined ? "timesteps" : "sigmas", "PNDMScheduler takes a step count only");
    const n = checkStepCount(numInferenceSteps, this.T);
    const skip = this.config.skip_prk_steps === true;
    if (!skip && n < this.pndmOrder) throw new ArgumentError("numInferenceSteps", `must be >= ${this.pndmOrder} with skip_prk_steps false (the PRK warm-up takes ${this.pndmOrder - 1} steps), got ${n}`);
    const asc = Array.from(integerTimesteps(this.config.timestep_spacing as Spacing, this.T, n, this.config.steps_offset as number)).reverse();
    if (skip) {
      // the first step's timestep twice: PLMS's second-order start evaluates it again after its Euler prediction
      this.prkTimesteps = new Float64Array(0);
      this.plmsTimesteps = Float64Array.from([...asc.slice(0, -1), ...asc.slice(-2, -1), ...asc.slice(-1)].reverse());
    } else {
      const half = Math.floor(Math.floor(this.T / n) / 2);
      const last = asc.slice(-this.pndmOrder).flatMap((t) => [t, t + half]); // t, t + d/2 for the last four
      const doubled = last.slice(0, -1).flatMap((t) => [t, t]).slice(1, -1);
      this.prkTimesteps = Float64Array.from(doubled.reverse());
      this.plmsTimesteps = Float64Array.from(asc.slice(0, -3).reverse());
    }
    this.timesteps = Float64Array.from([...this.prkTimesteps, ...this.plmsTimesteps]);
    this.numInferenceSteps = n;
    this.ets = [];
    this.counter = 0;
    this.curSample = null;
    this.curModelOutput = null;
    this.stepIndex = null;
  }

  /** The move of eq. 9 from `timestep` to `prev` (v converted to eps at `timestep`, as diffusers does). */
  private prevSample(sample: Float32Array, timestep: number, prev: number, m: Float32Array): Float32Array {
    const abar = this.alphasCumprod[timestep];
    const abarPrev = prev >= 0 ? this.alphasCumprod[prev] : this.finalAlphaCumprod;
    let eps = m;
    if (this.config.prediction_type === "v_prediction") {
      const sa = fround(Math.sqrt(abar));
      const sb = fround(Math.sqrt(fround(1 - abar)));
      eps = m.map((v, j) => fround(fround(sa * v) + fround(sb * sample[j])));
    }
    return pndmTransferVp(sample, eps, abar, abarPrev);
  }

  step(modelOutput: Float32Array, t: number, sample: Float32Array, _opts: StepOptions = {}): StepResult {
    this.checkStep(modelOutput, t, sample);
    if (this.numInferenceSteps === null) throw new ArgumentError("t", "there are no timesteps yet: call setTimesteps first");
    const expected = this.timesteps[this.counter];
    if (t !== expected) throw new ArgumentError("t", `must be ${expected === undefined ? "none: the run is over" : expected} (step ${this.counter} of this run), got ${t}`);
    const prk = this.counter < this.prkTimesteps.length && this.config.skip_prk_steps !== true;
    const prevSample = prk ? this.stepPrk(modelOutput, t, sample) : this.stepPlms(modelOutput, t, sample);
    this.counter++;
    this.stepIndex = this.counter;
    return { prevSample };
  }

  /** One call of a pseudo Runge-Kutta step: accumulate the RK4 average, move from the step's start sample. */
  private stepPrk(m: Float32Array, t: number, sample: Float32Array): Float32Array {
    const c = this.counter;
    const ratio = Math.floor(this.T / (this.numInferenceSteps as number));
    const prev = t - (c % 2 ? 0 : Math.floor(ratio / 2));
    const start = this.prkTimesteps[Math.floor(c / 4) * 4];
    const w = fround(PRK_WEIGHTS[c % 4]);
    let out = m;
    if (c % 4 === 0) {
      this.curModelOutput = m.map((v) => fround(w * v));
      this.ets.push(m);
      this.curSample = sample;
    } else if (c % 4 < 3) {
      const acc = this.curModelOutput as Float32Array;
      this.curModelOutput = acc.map((v, j) => fround(v + fround(w * m[j])));
    } else {
      const acc = this.curModelOutput as Float32Array;
      out = acc.map((v, j) => fround(v + fround(w * m[j])));
      this.curModelOutput = null;
    }
    return this.prevSample(this.curSample ?? sample, start, prev, out);
  }

  /** One PLMS step (eq. 12), with the second-order start when the PRK warm-up is skipped. */
  private stepPlms(m: Float32Array, t: number, sample: Float32Array): Float32Array {
    const ratio = Math.floor(this.T / (this.numInferenceSteps as number));
    if (this.config.skip_prk_steps !== true && this.ets.length < 3) throw new ArgumentError("t", "PLMS steps need the PRK warm-up first");
    let timestep = t;
    let prev = t - ratio;
    if (this.counter !== 1) {
      this.ets.push(m);
      if (this.ets.length > 4) this.ets.shift();
    }
    else {
      // the repeated timestep: average eps with the start's and move again from the start sample
      prev = t;
      timestep = t + ratio;
    }
    let eps: Float32Array;
    let from = sample;
    if (this.ets.length === 1 && this.counter === 0) {
      eps = m;
      this.curSample = sample;
    } else if (this.ets.length === 1 && this.counter === 1) {
      const e0 = this.ets[0];
      eps = m.map((v, j) => fround(fround(v + e0[j]) / 2));
      from = this.curSample as Float32Array;
      this.curSample = null;
    } else {
      eps = plmsCombine(this.ets.slice(-4));
    }
    return this.prevSample(from, timestep, prev, eps);
  }
}
