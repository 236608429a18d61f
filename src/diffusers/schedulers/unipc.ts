// diffusers' UniPCMultistepScheduler: the bookkeeping of its step() (corrector first, then the
// predictor, the order warm-up and lower_order_final, disable_corrector) over the one UniPC update in
// src/samplers/unipc.ts.

import { type UniPcForm, unipcUpdate } from "../../samplers/unipc.ts";
import { ArgumentError } from "../../validate.ts";
import { bool, choice, integer, numbers, type ConfigSpec } from "./config.ts";
import type { SchedulerFactory, StepOptions, StepResult } from "./types.ts";
import { aliased, type FinalSigma, VpMultistepScheduler, vpMultistepKeys } from "./vp-multistep.ts";

const SPEC: ConfigSpec = {
  ...vpMultistepKeys(),
  solver_order: { default: 2, check: integer(1, 8) },
  predict_x0: { default: true, check: bool },
  // diffusers registers "bh2" for the DPM-Solver names
  solver_type: { default: "bh2", check: aliased(["bh1", "bh2"], { midpoint: "bh2", heun: "bh2", logrho: "bh2" }) },
  disable_corrector: { default: [], check: numbers(100_000, integer(0, 100_000)) },
  solver_p: {
    default: null,
    check: (key, v) => {
      if (v !== null) throw new ArgumentError(key, "(another scheduler as UniPC's predictor) is not supported; it must be null");
      return v;
    },
  },
  final_sigmas_type: { default: "zero", check: choice(["zero", "sigma_min"]) },
  rescale_betas_zero_snr: { default: false, check: bool },
  use_dynamic_shifting: { default: false, check: bool },
  time_shift_type: { default: "exponential", check: choice(["exponential"]) },
};

export class UniPCMultistepScheduler extends VpMultistepScheduler {
  private outputs: Float32Array[] = [];
  private lastSample: Float32Array | null = null;
  private thisOrder = 1;
  private lowerOrderNums = 0;

  constructor(config: Record<string, unknown> = {}) {
    super("UniPCMultistepScheduler", config, SPEC);
    if (this.config.predict_x0 === false && this.config.prediction_type === "flow_prediction") {
      throw new ArgumentError("prediction_type", "flow_prediction needs predict_x0 true in UniPCMultistepScheduler");
    }
  }

  protected finalSigma(): FinalSigma {
    return this.config.final_sigmas_type as FinalSigma;
  }

  protected resetHistory(): void {
    this.outputs = [];
    this.lastSample = null;
    this.lowerOrderNums = 0;
    this.thisOrder = 1;
  }

  private get form(): UniPcForm {
    return { predictX0: this.config.predict_x0 as boolean, variant: this.config.solver_type as "bh1" | "bh2" };
  }

  protected stepAt(modelOutput: Float32Array, sample: Float32Array, opts: StepOptions): StepResult {
    const i = this.stepIndex as number;
    const form = this.form;
    const m = form.predictX0 ? this.toX0(modelOutput, sample, i, opts.shape) : this.toEps(modelOutput, sample, i);
    const disabled = (this.config.disable_corrector as number[]).includes(i - 1);
    let x = sample;
    if (i > 0 && !disabled && this.lastSample !== null) {
      // UniC: the predictor's sample, corrected with the output just computed at it
      const p = this.thisOrder;
      const nodes = Array.from({ length: p }, (_, k) => this.node(i - 1 - k));
      x = unipcUpdate(new Float32Array(sample.length), this.lastSample, this.outputs.slice(0, p), nodes, this.node(i), form, m);
    }
    const order = this.config.solver_order as number;
    this.outputs.unshift(m);
    if (this.outputs.length > order) this.outputs.length = order;
    const n = this.numInferenceSteps as number;
    let p = this.config.lower_order_final === true ? Math.min(order, n - i) : order;
    p = Math.min(p, this.lowerOrderNums + 1);
    // h is infinite on a step to sigma = 0: only the first-order update is defined there (diffusers gives NaN)
    if (this.sigmas[i + 1] === 0) p = 1;
    this.thisOrder = p;
    this.lastSample = x;
    const nodes = Array.from({ length: p }, (_, k) => this.node(i - k));
    const prev = unipcUpdate(new Float32Array(sample.length), x, this.outputs.slice(0, p), nodes, this.node(i + 1), form);
    if (this.lowerOrderNums < order) this.lowerOrderNums++;
    return { prevSample: prev };
  }
}

export const UNIPC_SCHEDULERS: Record<string, SchedulerFactory> = {
  UniPCMultistepScheduler: (c) => new UniPCMultistepScheduler(c),
};
