// diffusers' DDIMScheduler, DDIMParallelScheduler and DDIMInverseScheduler: the DDIM update (Song et al.
// 2021, eq. 12, with eta's sigma_t of eq. 16) from t to t - T // n, in VP sample space. The step
// arithmetic is src/samplers/vp-steps.ts.

import { ddimUpdateVp, ddimVariance, vpEpsFromX0 } from "../../samplers/vp-steps.ts";
import { ArgumentError, f32 } from "../../validate.ts";
import { bool, nullable, type ConfigSpec } from "./config.ts";
import { checkStepCount, integerTimesteps, type Spacing } from "./spacing.ts";
import { betaKeys } from "./tables.ts";
import type { SetTimestepsOptions, StepOptions, StepResult } from "./types.ts";
import { batchOf, spacingKeys, VpScheduler, X0_KEYS } from "./vp-common.ts";

const DDIM_BETAS = ["linear", "scaled_linear", "squaredcos_cap_v2"] as const;

export const DDIM_SPEC: ConfigSpec = {
  ...betaKeys({ schedules: DDIM_BETAS }),
  ...X0_KEYS,
  set_alpha_to_one: { default: true, check: bool },
  ...spacingKeys(),
};

function checkEta(eta: unknown): number {
  if (typeof eta !== "number" || !Number.isFinite(eta) || eta < 0) throw new ArgumentError("eta", `must be a finite number >= 0, got ${String(eta)}`);
  return eta;
}

export class DDIMScheduler extends VpScheduler {
  /** abar after the last step: 1 (set_alpha_to_one) or abar_0. */
  readonly finalAlphaCumprod: number;

  constructor(config: Record<string, unknown> = {}, className = "DDIMScheduler") {
    super(className, config, DDIM_SPEC);
    this.finalAlphaCumprod = this.config.set_alpha_to_one ? 1 : this.alphasCumprod[0];
  }

  setTimesteps(numInferenceSteps: number | null, opts: SetTimestepsOptions = {}): void {
    if (opts.timesteps !== undefined || opts.sigmas !== undefined) throw new ArgumentError(opts.timesteps !== undefined ? "timesteps" : "sigmas", `${this.className} takes a step count only`);
    const n = checkStepCount(numInferenceSteps, this.T);
    this.timesteps = integerTimesteps(this.config.timestep_spacing as Spacing, this.T, n, this.config.steps_offset as number);
    this.numInferenceSteps = n;
    this.stepIndex = null;
  }

  /** DDIM's previous timestep, t - T // n: diffusers' rule, which is not always the next table entry (trailing, linspace). */
  protected prevOf(t: number): number {
    return t - Math.floor(this.T / (this.numInferenceSteps as number));
  }

  /** diffusers' _get_variance(t, prev): DDIM eq. 16's sigma_t^2 at eta = 1. */
  getVariance(t: number, prev: number): number {
    this.checkT("t", t);
    return ddimVariance(this.alphasCumprod[t], prev >= 0 ? this.alphasCumprod[prev] : this.finalAlphaCumprod);
  }

  /**
   * DDIM steps of items at abar -> abarPrev: x0 (clipped or thresholded), eps (re-derived from the
   * clipped x0 only with useClippedModelOutput, as diffusers does), std = eta sigma_t (eq. 16).
   * `z` is the noise (null when eta = 0; zeros for batch_step_no_noise, where eta only shrinks the
   * direction term).
   */
  protected ddim(
    m: Float32Array,
    sample: Float32Array,
    abar: number[],
    abarPrev: number[],
    batch: number,
    shapeGiven: boolean,
    eta: number,
    useClipped: boolean,
    z: Float32Array | null,
  ): StepResult {
    const { x0, eps: eps0 } = this.predict(m, sample, abar, batch, shapeGiven);
    const eps = useClipped ? vpEpsFromX0(x0, sample, abar) : eps0;
    const std = abar.map((a, b) => (eta === 0 ? 0 : Math.fround(Math.fround(eta) * Math.fround(Math.sqrt(ddimVariance(a, abarPrev[b]))))));
    return { prevSample: ddimUpdateVp(x0, eps, abarPrev, std, z), predOriginalSample: x0 };
  }

  step(modelOutput: Float32Array, t: number, sample: Float32Array, opts: StepOptions = {}): StepResult {
    this.checkStep(modelOutput, t, sample);
    if (this.numInferenceSteps === null) throw new ArgumentError("t", "there are no timesteps yet: call setTimesteps first");
    const index = this.indexOf(t);
    const eta = checkEta(opts.eta ?? 0);
    if (opts.useClippedModelOutput !== undefined && typeof opts.useClippedModelOutput !== "boolean") throw new ArgumentError("useClippedModelOutput", "must be a boolean");
    const batch = batchOf(sample, opts.shape);
    const prev = this.prevOf(t);
    const abar = this.alphasCumprod[t];
    const abarPrev = prev >= 0 ? this.alphasCumprod[prev] : this.finalAlphaCumprod;
    const z = eta > 0 ? this.stepNoise(sample.length, batch, opts, index) : null;
    const r = this.ddim(modelOutput, sample, [abar], [abarPrev], batch, opts.shape !== undefined, eta, opts.useClippedModelOutput === true, z);
    this.stepIndex = index + 1;
    return r;
  }
}

/** ParaDiGMS (Shih et al. 2023) DDIM: DDIMScheduler plus batchStepNoNoise over per-item timesteps. */
export class DDIMParallelScheduler extends DDIMScheduler {
  constructor(config: Record<string, unknown> = {}) {
    super(config, "DDIMParallelScheduler");
  }

  /**
   * diffusers' batch_step_no_noise: item b steps from timesteps[b] to timesteps[b] - T // n (any
   * training timestep, not only the run's), eta entering only the direction coefficient.
   */
  batchStepNoNoise(
    modelOutput: Float32Array,
    timesteps: ArrayLike<number>,
    sample: Float32Array,
    opts: { eta?: number; useClippedModelOutput?: boolean; shape?: readonly number[] } = {},
  ): Float32Array {
    f32("modelOutput", modelOutput);
    f32("sample", sample);
    if (modelOutput.length !== sample.length) throw new ArgumentError("modelOutput", `must hold ${sample.length} values, got ${modelOutput.length}`);
    if (this.numInferenceSteps === null) throw new ArgumentError("timesteps", "there are no timesteps yet: call setTimesteps first");
    const batch = timesteps.length;
    if (batch < 1 || sample.length % batch !== 0) throw new ArgumentError("timesteps", `must hold one timestep per item of the sample, got ${batch} for ${sample.length} values`);
    if (opts.shape !== undefined && batchOf(sample, opts.shape) !== batch) throw new ArgumentError("timesteps", `must hold one timestep per item (${opts.shape[0]}), got ${batch}`);
    const eta = checkEta(opts.eta ?? 0);
    const abar: number[] = [];
    const abarPrev: number[] = [];
    for (let b = 0; b < batch; b++) {
      const t = this.checkT(`timesteps[${b}]`, timesteps[b]);
      const prev = this.prevOf(t);
      abar.push(this.alphasCumprod[t]);
      abarPrev.push(prev >= 0 ? this.alphasCumprod[prev] : this.finalAlphaCumprod);
    }
    return this.ddim(modelOutput, sample, abar, abarPrev, batch, true, eta, opts.useClippedModelOutput === true, eta > 0 ? new Float32Array(sample.length) : null).prevSample;
  }
}

export const DDIM_INVERSE_SPEC: ConfigSpec = {
  ...betaKeys({ schedules: DDIM_BETAS }),
  clip_sample: X0_KEYS.clip_sample,
  set_alpha_to_one: { default: true, check: bool },
  steps_offset: spacingKeys().steps_offset,
  prediction_type: X0_KEYS.prediction_type,
  clip_sample_range: X0_KEYS.clip_sample_range,
  timestep_spacing: spacingKeys(["leading", "trailing"]).timestep_spacing,
  rescale_betas_zero_snr: spacingKeys().rescale_betas_zero_snr,
  // diffusers' deprecated name for set_alpha_to_one; when given it wins, as in diffusers
  set_alpha_to_zero: { default: null, check: nullable(bool) },
};

/**
 * DDIM inversion (Song et al. 2021, sec. 4.3; Mokady et al. 2023): the deterministic DDIM update run
 * towards noise, from t - T // n to t, with the model called at t. Timesteps ascend.
 */
export class DDIMInverseScheduler extends VpScheduler {
  readonly initialAlphaCumprod: number;

  constructor(config: Record<string, unknown> = {}) {
    super("DDIMInverseScheduler", config, DDIM_INVERSE_SPEC);
    const one = this.config.set_alpha_to_zero ?? this.config.set_alpha_to_one;
    this.initialAlphaCumprod = one ? 1 : this.alphasCumprod[0];
    this.timesteps = Float64Array.from({ length: this.T }, (_, i) => i);
  }

  setTimesteps(numInferenceSteps: number | null, opts: SetTimestepsOptions = {}): void {
    if (opts.timesteps !== undefined || opts.sigmas !== undefined) throw new ArgumentError(opts.timesteps !== undefined ? "timesteps" : "sigmas", `${this.className} takes a step count only`);
    const n = checkStepCount(numInferenceSteps, this.T);
    this.timesteps = integerTimesteps(this.config.timestep_spacing as Spacing, this.T, n, this.config.steps_offset as number).reverse();
    this.numInferenceSteps = n;
    this.stepIndex = null;
  }

  step(modelOutput: Float32Array, t: number, sample: Float32Array, opts: StepOptions = {}): StepResult {
    this.checkStep(modelOutput, t, sample);
    if (this.numInferenceSteps === null) throw new ArgumentError("t", "there are no timesteps yet: call setTimesteps first");
    const index = this.indexOf(t);
    if (opts.eta !== undefined && opts.eta !== 0) throw new ArgumentError("eta", "DDIM inversion is deterministic: eta must be 0");
    const from = Math.min(t - Math.floor(this.T / this.numInferenceSteps), this.T - 1);
    const abar = from >= 0 ? this.alphasCumprod[from] : this.initialAlphaCumprod;
    const abarNext = this.alphasCumprod[t];
    const { x0, eps } = this.predict(modelOutput, sample, [abar], 1, true);
    const prevSample = ddimUpdateVp(x0, eps, [abarNext], [0], null);
    this.stepIndex = index + 1;
    return { prevSample, predOriginalSample: x0 };
  }
}
