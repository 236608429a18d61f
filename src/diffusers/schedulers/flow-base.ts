// What diffusers' flow-matching schedulers share: the bookkeeping of a float timestep table (finding a
// timestep's index, the step and begin index), the forward process x_t = (1 - t) x0 + t noise
// (scale_noise), the noise a stochastic step draws, and the argument checks. The step math itself is the
// library's (src/samplers/ode.ts); the forward process is process.ts's qSample on the rectified-flow
// schedule.

import { qSample } from "../../process.ts";
import { Rng } from "../../rng.ts";
import { RectifiedFlow } from "../../schedule/flow.ts";
import { ArgumentError, f32, sameLength } from "../../validate.ts";
import { configToJson } from "./config.ts";
import type { StepOptions } from "./types.ts";

const RF = new RectifiedFlow();

/**
 * The index of timestep t in `table` (diffusers' index_for_timestep): exact matches first, the second of
 * several (a Heun table repeats each timestep, and a run entering mid-table must not skip a sigma);
 * without an exact match, a value within float32 rounding of an entry (torch.isclose's rtol 1e-5,
 * atol 1e-8: "254" finds 254.00001, diffusers issue 11749). Anything else is an error naming t.
 */
export function indexForTimestep(table: Float64Array, t: number): number {
  if (typeof t !== "number" || !Number.isFinite(t)) throw new ArgumentError("t", `must be a finite timestep, got ${String(t)}`);
  const hits: number[] = [];
  for (let i = 0; i < table.length; i++) if (table[i] === t) hits.push(i);
  if (hits.length === 0) for (let i = 0; i < table.length; i++) if (Math.abs(table[i] - t) <= 1e-8 + 1e-5 * Math.abs(table[i])) hits.push(i);
  if (hits.length === 0) throw new ArgumentError("t", `${t} is not one of this run's timesteps (${table.length} of them, ${table[0]} to ${table[table.length - 1]}); call setTimesteps first and pass one of scheduler.timesteps`);
  return hits.length > 1 ? hits[1] : hits[0];
}

/** The noise a stochastic step adds: opts.noise (diffusers' generator draw), else opts.rng's stream `draw`. */
export function stepNoise(opts: StepOptions, n: number, draw: number, className: string): Float32Array {
  if (opts.noise !== undefined) {
    f32("noise", opts.noise);
    if (opts.noise.length !== n) throw new ArgumentError("noise", `must hold ${n} values like the sample, got ${opts.noise.length}`);
    return opts.noise;
  }
  if (opts.rng !== undefined) {
    if (!(opts.rng instanceof Rng)) throw new ArgumentError("rng", "must be an Rng");
    return opts.rng.stream(draw).randn(1, n);
  }
  throw new ArgumentError("noise", `${className} takes a stochastic step here: pass opts.noise or opts.rng`);
}

/** Check a step's model output and sample: Float32Arrays of one length. */
export function checkStepArrays(modelOutput: Float32Array, sample: Float32Array): number {
  f32("modelOutput", modelOutput);
  f32("sample", sample);
  sameLength("modelOutput", modelOutput, "sample", sample);
  return sample.length;
}

/**
 * The rectified-flow forward process per item, x = (1 - sigma) x0 + sigma noise, where item b's sigma is
 * sigmas[b] (or one sigma for all): diffusers' scale_noise, and the re-noising of a stochastic step.
 */
export function flowNoise(original: Float32Array, noise: Float32Array, sigmas: ArrayLike<number>): Float32Array {
  f32("original", original);
  f32("noise", noise);
  sameLength("original", original, "noise", noise);
  const B = sigmas.length;
  if (original.length % B !== 0) throw new ArgumentError("timesteps", `must have one entry per item or one for all; ${original.length} values do not split into ${B} items`);
  return qSample(RF, original, noise, B === 1 ? sigmas[0] : sigmas, B);
}

/** The shared state of a flow scheduler: the tables, the step and begin index. */
export abstract class FlowSchedulerBase {
  abstract readonly className: string;
  abstract readonly config: Readonly<Record<string, unknown>>;
  abstract readonly order: number;
  readonly initNoiseSigma = 1;
  timesteps: Float64Array = new Float64Array(0);
  sigmas: Float64Array = new Float64Array(0);
  protected stepIdx: number | null = null;
  protected beginIdx: number | null = null;

  get stepIndex(): number | null {
    return this.stepIdx;
  }

  get beginIndex(): number | null {
    return this.beginIdx;
  }

  setBeginIndex(beginIndex: number): void {
    if (!Number.isInteger(beginIndex) || beginIndex < 0 || beginIndex >= this.timesteps.length) {
      throw new ArgumentError("beginIndex", `must be an index into this run's ${this.timesteps.length} timesteps, got ${beginIndex}`);
    }
    this.beginIdx = beginIndex;
  }

  /** Flow-matching models take x_t as it is (diffusers' flow schedulers scale nothing). */
  scaleModelInput(sample: Float32Array, t: number): Float32Array {
    f32("sample", sample);
    indexForTimestep(this.timesteps, t);
    return sample;
  }

  /** The index of timestep t in this run (diffusers' index_for_timestep). */
  indexForTimestep(t: number): number {
    return indexForTimestep(this.timesteps, t);
  }

  protected initStepIndex(t: number): number {
    if (this.stepIdx === null) this.stepIdx = this.beginIdx ?? indexForTimestep(this.timesteps, t);
    return this.stepIdx;
  }

  /** Each item's sigma for addNoise/scaleNoise, by diffusers' rule for which index to take. */
  protected noiseSigmas(timesteps: ArrayLike<number> | number): number[] {
    const ts = typeof timesteps === "number" ? [timesteps] : Array.from(timesteps);
    if (ts.length === 0) throw new ArgumentError("timesteps", "must hold one timestep per item, or one for all");
    // training (no begin index): look each timestep up; img2img/inpainting: the begin or current index
    const fixed = this.beginIdx === null ? null : (this.stepIdx ?? this.beginIdx);
    return ts.map((t) => this.sigmas[fixed ?? indexForTimestep(this.timesteps, t)]);
  }

  /** Rectified-flow forward process x_t = (1 - sigma) x0 + sigma noise at each item's timestep (diffusers' scale_noise). */
  scaleNoise(sample: Float32Array, timesteps: ArrayLike<number> | number, noise: Float32Array): Float32Array {
    return flowNoise(sample, noise, this.noiseSigmas(timesteps));
  }

  /** diffusers' flow schedulers call this scale_noise; it is their add_noise. */
  addNoise(original: Float32Array, noise: Float32Array, timesteps: ArrayLike<number> | number): Float32Array {
    return this.scaleNoise(original, timesteps, noise);
  }

  toJson(): string {
    return configToJson(this.className, this.config);
  }
}
