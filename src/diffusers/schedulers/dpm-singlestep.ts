// diffusers' DPMSolverSinglestepScheduler: DPM-Solver-2/3 in blocks of `order` schedule steps (Lu et al.
// 2022a, singlestep): each block starts from the sample at its first point, the model is called at every
// point, and every step inside the block solves again from the block's start with the outputs so far
// (order 1, 2, 3 within the block, diffusers' order_list). The update is samplers/dpmsolver.ts'
// dpmSolverSinglestepStep.

import { dpmSolverSinglestepStep, type DpmAlgorithm, type DpmSolverType } from "../../samplers/dpmsolver.ts";
import { ArgumentError, f32 } from "../../validate.ts";
import { alphaSigmaF32, batchOf, convertModelOutput, dpmSinglestepKeys } from "./dpm-common.ts";
import { dpmSpacing, DpmSolverMultistep, stepNoise } from "./dpm-multistep.ts";
import type { SetTimestepsOptions, StepOptions, StepResult } from "./types.ts";

/** diffusers' get_order_list: the order of each step of a singlestep run of `steps` steps. */
export function singlestepOrders(steps: number, order: number, lowerOrderFinal: boolean, finalZero: boolean): number[] {
  const rep = (pattern: number[], k: number) => Array.from({ length: Math.max(0, k) }, () => pattern).flat();
  let orders: number[];
  if (order === 1) orders = new Array(steps).fill(1);
  else if (!lowerOrderFinal) orders = order === 3 ? rep([1, 2, 3], Math.floor(steps / 3)) : rep([1, 2], Math.floor(steps / 2));
  else if (order === 3) {
    const k = Math.floor(steps / 3);
    orders = steps % 3 === 0 ? [...rep([1, 2, 3], k - 1), 1, 2, 1] : steps % 3 === 1 ? [...rep([1, 2, 3], k), 1] : [...rep([1, 2, 3], k), 1, 2];
  } else {
    orders = steps % 2 === 0 ? [...rep([1, 2], steps / 2 - 1), 1, 1] : [...rep([1, 2], Math.floor(steps / 2)), 1];
  }
  // the step to sigma = 0 is first order (its higher-order terms are not defined there)
  if (finalZero && orders.length > 0) orders[orders.length - 1] = 1;
  return orders;
}

export class DpmSolverSinglestep extends DpmSolverMultistep {
  private orderList: number[] = [];
  /** The sample at the start of the current block (diffusers' self.sample), and the block's step indices. */
  private blockSample: Float32Array | null = null;

  constructor(raw: Record<string, unknown>) {
    super(raw, "DPMSolverSinglestepScheduler", dpmSinglestepKeys());
  }

  protected override spacedTimesteps(n: number): number[] {
    return dpmSpacing("linspace", n, this.lastTimestep(), this.tables.T, 0);
  }

  override setTimesteps(numInferenceSteps: number | null, opts: SetTimestepsOptions = {}): void {
    super.setTimesteps(numInferenceSteps, opts);
    const c = this.config;
    const n = this.timesteps.length;
    // diffusers switches lower_order_final on (and writes it to the config) when a run cannot end on a
    // whole block, or when it ends at sigma = 0
    if (!c.lower_order_final && (n % (c.solver_order as number) !== 0 || c.final_sigmas_type === "zero")) {
      this.config = { ...c, lower_order_final: true };
    }
    this.orderList = singlestepOrders(n, this.config.solver_order as number, this.config.lower_order_final as boolean, this.config.final_sigmas_type === "zero");
    this.blockSample = null;
  }

  override step(modelOutput: Float32Array, t: number, sample: Float32Array, opts: StepOptions = {}): StepResult {
    if (this.numInferenceSteps === null) throw new ArgumentError("setTimesteps", "must be called before step");
    f32("sample", sample);
    f32("modelOutput", modelOutput);
    const n = sample.length;
    const batch = batchOf(opts.shape, n);
    const i = this.currentIndex(t);
    if (i >= this.timesteps.length) throw new ArgumentError("t", `the run has ${this.timesteps.length} steps and all have been taken`);
    const c = this.config;
    const m = convertModelOutput(c, modelOutput, sample, this.sigmas[i], batch);
    this.outputs.shift();
    this.outputs.push(m);
    const algorithm = c.algorithm_type as DpmAlgorithm;
    const noise = algorithm.startsWith("sde-") ? stepNoise(opts, n, batch, i) : null;
    let order = this.orderList[i] ?? 1;
    // a run that starts inside a block (img2img) has no earlier outputs: lower the order
    while (this.outputs[this.outputs.length - order] === null) order--;
    if (order === 1) this.blockSample = sample;
    const start = i - order + 1;
    const sig = Array.from({ length: order }, (_, k) => this.sigmas[start + k]);
    const outputs = this.outputs.slice(this.outputs.length - order) as Float32Array[];
    const [aS] = alphaSigmaF32(sig[0]);
    const [aT] = alphaSigmaF32(this.sigmas[i + 1]);
    const x = Float64Array.from(this.blockSample as Float32Array, (v) => v / aS);
    const out = new Float64Array(n);
    dpmSolverSinglestepStep(out, x, { algorithm, solverType: c.solver_type as DpmSolverType, order, sigmas: sig, sigmaNext: this.sigmas[i + 1], outputs, noise });
    this.index = i + 1;
    return { prevSample: Float32Array.from(out, (v) => v * aT) };
  }
}
