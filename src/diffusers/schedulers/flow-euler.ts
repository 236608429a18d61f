// diffusers' FlowMatchEulerDiscreteScheduler (SD3, FLUX, Wan, LTX-Video, Mochi): Euler's method on the
// rectified-flow ODE dx_t/dt = v, v = eps - x0 (Esser et al. 2024). The step is the library's Euler step
// (samplers/ode.ts eulerStep) with sigma = t: x - D = t v there, so the PF-ODE's slope (x - D) / t is v.

import { ArgumentError } from "../../validate.ts";
import { eulerStep } from "../../samplers/ode.ts";
import { bool, choice, integer, nullable, num, readConfig, type ConfigSpec } from "./config.ts";
import { checkStepArrays, FlowSchedulerBase, flowNoise, stepNoise } from "./flow-base.ts";
import { betaRespace, calculateShift, exponentialRespace, F32, F64, karrasRespace, shiftSigma, stretchToTerminal, timeShift, type Rounding } from "./flow-sigmas.ts";
import { npLinspace } from "./numpy.ts";
import type { Scheduler, SetTimestepsOptions, StepOptions, StepResult } from "./types.ts";

const fround = Math.fround;

/** Every key of FlowMatchEulerDiscreteScheduler.__init__ (diffusers 0.35), with its default. */
export const FLOW_EULER_SPEC: ConfigSpec = {
  num_train_timesteps: { default: 1000, check: integer(1, 100_000) },
  shift: { default: 1.0, check: num(0, Infinity, { openLo: true }) },
  use_dynamic_shifting: { default: false, check: bool },
  base_shift: { default: 0.5, check: nullable(num()) },
  max_shift: { default: 1.15, check: nullable(num()) },
  base_image_seq_len: { default: 256, check: integer(1, 1 << 30) },
  max_image_seq_len: { default: 4096, check: integer(1, 1 << 30) },
  invert_sigmas: { default: false, check: bool },
  shift_terminal: { default: null, check: nullable(num(0, 1, { openLo: false })) },
  use_karras_sigmas: { default: false, check: bool },
  use_exponential_sigmas: { default: false, check: bool },
  use_beta_sigmas: { default: false, check: bool },
  time_shift_type: { default: "exponential", check: choice(["exponential", "linear"]) },
  stochastic_sampling: { default: false, check: bool },
};

/** diffusers' training table: sigma_i = shift(i / T), i = T..1 (float32), unshifted with dynamic shifting. */
export function flowTrainingSigmas(T: number, shift: number, dynamic: boolean): Float32Array {
  const s = new Float32Array(T);
  for (let i = 0; i < T; i++) {
    const base = fround((T - i) / T);
    s[i] = dynamic ? base : shiftSigma(base, shift, F32);
  }
  return s;
}

export class FlowMatchEulerDiscreteScheduler extends FlowSchedulerBase implements Scheduler {
  readonly className = "FlowMatchEulerDiscreteScheduler";
  readonly order = 1;
  readonly config: Readonly<Record<string, unknown>>;
  /** The largest and smallest sigma of the training table (diffusers' sigma_max, sigma_min). */
  readonly sigmaMax: number;
  readonly sigmaMin: number;
  /** The shift in effect (diffusers' set_shift changes it without touching the config). */
  shift: number;
  private draws = 0;

  constructor(raw: Record<string, unknown> = {}) {
    super();
    const c = readConfig("FlowMatchEulerDiscreteScheduler", raw, FLOW_EULER_SPEC);
    const respacings = ["use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas"].filter((k) => c[k]);
    if (respacings.length > 1) throw new ArgumentError(respacings[1], `only one of use_karras_sigmas, use_exponential_sigmas, use_beta_sigmas can be true (${respacings.join(" and ")} are)`);
    if (c.shift_terminal !== null && !((c.shift_terminal as number) < 1)) throw new ArgumentError("shift_terminal", `must be below 1, got ${String(c.shift_terminal)}`);
    this.config = c;
    this.shift = c.shift as number;
    const T = c.num_train_timesteps as number;
    const s = flowTrainingSigmas(T, this.shift, c.use_dynamic_shifting as boolean);
    this.sigmas = Float64Array.from(s);
    this.timesteps = Float64Array.from(s, (v) => fround(v * T));
    this.sigmaMax = s[0];
    this.sigmaMin = s[T - 1];
  }

  /** diffusers' set_shift: the shift later setTimesteps calls use. */
  setShift(shift: number): void {
    num(0, Infinity, { openLo: true })("shift", shift);
    this.shift = shift;
  }

  setTimesteps(numInferenceSteps: number | null, opts: SetTimestepsOptions = {}): void {
    const c = this.config;
    const T = c.num_train_timesteps as number;
    const given = { sigmas: opts.sigmas, timesteps: opts.timesteps };
    let mu = opts.mu;
    if (opts.imageSeqLen !== undefined) {
      // the pipelines' calculate_shift: mu linear in the token count between the config's two anchors
      if (mu !== undefined) throw new ArgumentError("imageSeqLen", "and mu both set mu: give one");
      if (!Number.isInteger(opts.imageSeqLen) || opts.imageSeqLen < 1) throw new ArgumentError("imageSeqLen", `must be an integer >= 1, got ${opts.imageSeqLen}`);
      for (const k of ["base_shift", "max_shift"]) if (c[k] === null) throw new ArgumentError(k, "is null: imageSeqLen needs it to compute mu (pass mu instead)");
      mu = calculateShift(opts.imageSeqLen, c.base_image_seq_len as number, c.max_image_seq_len as number, c.base_shift as number, c.max_shift as number);
    }
    if (c.use_dynamic_shifting && mu === undefined) throw new ArgumentError("mu", "must be given when use_dynamic_shifting is true (or imageSeqLen, from which it is computed)");
    if (mu !== undefined && !Number.isFinite(mu)) throw new ArgumentError("mu", `must be a finite number, got ${mu}`);
    if (given.sigmas && given.timesteps && given.sigmas.length !== given.timesteps.length) {
      throw new ArgumentError("sigmas", `has ${given.sigmas.length} values but timesteps has ${given.timesteps.length}; they must match`);
    }
    let n: number;
    if (numInferenceSteps !== null && numInferenceSteps !== undefined) {
      if (!Number.isInteger(numInferenceSteps) || numInferenceSteps < 1) throw new ArgumentError("numInferenceSteps", `must be an integer >= 1, got ${numInferenceSteps}`);
      for (const [k, v] of Object.entries(given)) {
        if (v && v.length !== numInferenceSteps) throw new ArgumentError(k, `has ${v.length} values; numInferenceSteps is ${numInferenceSteps}`);
      }
      n = numInferenceSteps;
    } else {
      const v = given.sigmas ?? given.timesteps;
      if (!v || v.length === 0) throw new ArgumentError("numInferenceSteps", "must be given unless sigmas or timesteps are");
      n = v.length;
    }
    for (const [k, v] of Object.entries(given)) {
      if (v) for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) throw new ArgumentError(`${k}[${i}]`, `must be a finite number, got ${v[i]}`);
    }
    // 1. the unshifted sigmas: numpy float64 from the table's ends, or float32 from the caller's arrays
    const customTs = given.timesteps ? Float64Array.from(given.timesteps, fround) : null;
    let r: Rounding = F64;
    let sigmas: Float64Array;
    if (given.sigmas) {
      sigmas = Float64Array.from(given.sigmas, fround);
      r = F32;
    } else if (customTs) {
      sigmas = customTs.map((t) => fround(t / T));
      r = F32;
    } else {
      sigmas = npLinspace(this.sigmaMax * T, this.sigmaMin * T, n).map((t) => t / T);
    }
    // 2. shifting: SD3's fixed shift, or the resolution-dependent one at mu
    if (c.use_dynamic_shifting) sigmas = sigmas.map((s) => timeShift(c.time_shift_type as "exponential" | "linear", mu as number, s, r));
    else sigmas = sigmas.map((s) => shiftSigma(s, this.shift, r));
    // 3. LTX-Video's stretch to a terminal sigma; a lone sigma is both ends, where the stretch is 0 / 0
    //    (diffusers gh-14411: one step with shift_terminal gave NaN), so it is left as it is
    if (c.shift_terminal && sigmas.length > 1) sigmas = stretchToTerminal(sigmas, c.shift_terminal as number, r);
    // 4. re-spacing between the shifted ends
    if (c.use_karras_sigmas) sigmas = karrasRespace(sigmas, n);
    else if (c.use_exponential_sigmas) sigmas = exponentialRespace(sigmas, n);
    else if (c.use_beta_sigmas) sigmas = betaRespace(sigmas, n);
    // 5. float32 tensors; the timesteps are the caller's, else sigma * T
    const s32 = Float64Array.from(sigmas, fround);
    let ts = customTs ?? s32.map((s) => fround(s * T));
    // 6. the closing sigma: 0, or 1 with inverted sigmas (Mochi: it denoises towards sigma = 1)
    let out: Float64Array;
    if (c.invert_sigmas) {
      const inv = s32.map((s) => fround(1 - s));
      ts = inv.map((s) => fround(s * T));
      out = Float64Array.from([...inv, 1]);
    } else out = Float64Array.from([...s32, 0]);
    this.timesteps = ts;
    this.sigmas = out;
    this.stepIdx = null;
    this.beginIdx = null;
    this.draws = 0;
  }

  /**
   * One Euler step from this timestep's sigma to the next: x + (sigma' - sigma) v. With
   * stochastic_sampling, the x0 estimate x - sigma v is noised afresh to sigma' instead.
   */
  step(modelOutput: Float32Array, t: number, sample: Float32Array, opts: StepOptions = {}): StepResult {
    const n = checkStepArrays(modelOutput, sample);
    if (this.sigmas.length < 2 || this.timesteps.length === this.sigmas.length) throw new ArgumentError("t", "no run is set: call setTimesteps first");
    if ((opts.sChurn ?? 0) !== 0) throw new ArgumentError("sChurn", "FlowMatchEulerDiscreteScheduler takes s_churn but never uses it; FlowMatchHeunDiscreteScheduler applies it");
    const i = this.initStepIndex(t);
    if (i + 1 >= this.sigmas.length) throw new ArgumentError("t", `the run has ended (${this.timesteps.length} steps); call setTimesteps again`);
    const sigma = this.sigmas[i];
    const sigmaNext = this.sigmas[i + 1];
    // the x0 estimate, float64: x - D = sigma v, so the Euler slope (x - D) / sigma is v itself
    const den = new Float64Array(n);
    for (let j = 0; j < n; j++) den[j] = sample[j] - sigma * modelOutput[j];
    let prev: Float32Array;
    if (this.config.stochastic_sampling) {
      const noise = stepNoise(opts, n, this.draws++, this.className);
      prev = flowNoise(Float32Array.from(den), noise, [sigmaNext]);
    } else {
      prev = new Float32Array(n);
      eulerStep(prev, sample, den, sigma, sigmaNext);
    }
    this.stepIdx = i + 1;
    return { prevSample: prev, predOriginalSample: Float32Array.from(den) };
  }
}
