// diffusers' DEISMultistepScheduler: its step() bookkeeping (model outputs converted to eps through the
// x0 prediction, so thresholding applies; the order warm-up and lower_order_final) over the one DEIS
// update in src/samplers/deis.ts.

import { deisOrder, deisUpdate } from "../../samplers/deis.ts";
import { integer, type ConfigSpec } from "./config.ts";
import type { SchedulerFactory, StepOptions, StepResult } from "./types.ts";
import { aliased, type FinalSigma, VpMultistepScheduler, vpMultistepKeys } from "./vp-multistep.ts";

const SPEC: ConfigSpec = {
  ...vpMultistepKeys(),
  solver_order: { default: 2, check: integer(1, 3) },
  // diffusers registers "deis" / "logrho" for the DPM-Solver and UniPC names
  algorithm_type: { default: "deis", check: aliased(["deis"], { dpmsolver: "deis", "dpmsolver++": "deis" }) },
  solver_type: { default: "logrho", check: aliased(["logrho"], { midpoint: "logrho", heun: "logrho", bh1: "logrho", bh2: "logrho" }) },
};

export class DEISMultistepScheduler extends VpMultistepScheduler {
  private eps: Float32Array[] = [];
  private lowerOrderNums = 0;

  constructor(config: Record<string, unknown> = {}) {
    super("DEISMultistepScheduler", config, SPEC);
  }

  /** DEIS closes its grid at sigma_min (the last spaced sigma, or sigma(t = 0)), never at 0. */
  protected finalSigma(): FinalSigma {
    return "sigma_min";
  }

  protected resetHistory(): void {
    this.eps = [];
    this.lowerOrderNums = 0;
  }

  protected stepAt(modelOutput: Float32Array, sample: Float32Array, opts: StepOptions): StepResult {
    const i = this.stepIndex as number;
    // convert_model_output: x0 (thresholded if configured), then eps = (x - alpha x0) / sigma
    const x0 = this.toX0(modelOutput, sample, i, opts.shape);
    const { alpha, sigma } = this.node(i);
    const eps = new Float32Array(sample.length);
    for (let j = 0; j < eps.length; j++) eps[j] = (sample[j] - alpha * x0[j]) / sigma;
    const order = this.config.solver_order as number;
    this.eps.unshift(eps);
    if (this.eps.length > order) this.eps.length = order;
    const n = this.numInferenceSteps as number;
    const p = deisOrder(order, this.lowerOrderNums + 1, i, n, this.config.lower_order_final === true, this.sigmas[i + 1] === 0);
    const nodes = Array.from({ length: p }, (_, k) => this.node(i - k));
    const prev = deisUpdate(new Float32Array(sample.length), sample, this.eps.slice(0, p), nodes, this.node(i + 1));
    if (this.lowerOrderNums < order) this.lowerOrderNums++;
    return { prevSample: prev };
  }
}

export const DEIS_SCHEDULERS: Record<string, SchedulerFactory> = {
  DEISMultistepScheduler: (c) => new DEISMultistepScheduler(c),
};
