// What every sampler shares, written once: the options, the argument checks and the step loop's
// bookkeeping (where to start and stop, seeded noise per step, onStep, AbortSignal, NaN stop). Samplers
// stay short and read like their papers' algorithms; the formulas several of them use are in steps.ts.

import type { Denoiser } from "../denoiser/contract.ts";
import { Rng } from "../rng.ts";
import { ArgumentError, f32, int, itemSize } from "../validate.ts";

/** What `onStep` receives after each step: the step index, its sigmas, the new x and the x0 preview. */
export interface StepEvent {
  /** 0-based index of the step just taken (from sigmas[step] to sigmas[step + 1]). */
  step: number;
  /** Total number of steps (sigmas.length - 1). */
  steps: number;
  sigma: number;
  sigmaNext: number;
  /** The batch after the step (do not keep a reference: samplers may reuse it). */
  x: Float32Array;
  /** The denoiser's x0 estimate at this step: a preview of the result. */
  denoised: Float32Array;
}

/**
 * A sampler's loop-carried values between steps (DPM-Solver's previous x0 estimate and step size,
 * RK45's step sizes): plain numbers and arrays of numbers, which JSON round trips exactly (it writes the
 * shortest decimal that reads back as the same float64). Samplers without such values carry {}.
 */
export type Carry = Record<string, number | number[] | null>;

/** Where a run stands: the next step to run and what the sampler carries into it. */
export interface SamplerPosition {
  /** The next step to run: 0 at the start, sigmas.length - 1 when finished. */
  step: number;
  carry: Carry;
}

/** What every sampler returns: the batch at `step` (the final sample when step = sigmas.length - 1). */
export interface SamplerResult extends SamplerPosition {
  x: Float32Array;
}

/** Options every sampler takes. */
export interface SamplerOptions {
  /** Items in x, stored flat ([B, ...] row-major). Default 1. */
  batch?: number;
  /** Item index of x's first row for the noise: row b draws item firstItem + b. Default 0. */
  firstItem?: number;
  /** Seeded noise. Required by stochastic samplers; step i draws from rng.stream(i). */
  rng?: Rng;
  onStep?: (e: StepEvent) => void;
  signal?: AbortSignal;
  /**
   * Continue a run that stopped early (maxSteps): pass the `step` and `carry` it returned, its x as x,
   * and the same sigmas, rng and sampler options. The noise of step i is rng.stream(i) whoever runs it,
   * so a run continued in pieces gives the bytes of one uninterrupted run. Default: start at step 0.
   */
  from?: SamplerPosition;
  /** Run at most this many steps (>= 1), then return; the result's `step` says where to continue. Default: all. */
  maxSteps?: number;
  /**
   * Accept sigmas whose last value is above 0: the run ends at that noise level instead of at the data
   * (diffusers' DDIM with set_alpha_to_one = false stops at sigma(t = 0) > 0). Default false: sigmas
   * must end in 0, so a forgotten final 0 is an error rather than a noisy result.
   */
  openEnd?: boolean;
}

/** A sampler function of this library: (denoiser, x, sigmas, opts) -> { x, step, carry }. */
export type SamplerFn = (denoiser: Denoiser, x: Float32Array, sigmas: ArrayLike<number>, opts?: SamplerOptions & Record<string, unknown>) => SamplerResult;

/** Thrown when a step produces NaN or Infinity: names the step instead of returning a grey image. */
export class SamplingError extends Error {
  readonly step: number;
  constructor(step: number, sigma: number, what: string) {
    super(`step ${step} (sigma = ${sigma}): ${what}`);
    this.name = "SamplingError";
    this.step = step;
  }
}

/** Check a sigma sequence: finite, >= 0, strictly descending, ending in 0 (unless openEnd), at least one step. */
export function checkSigmas(sigmas: ArrayLike<number>, openEnd = false): Float64Array {
  if (!sigmas || typeof sigmas.length !== "number") throw new ArgumentError("sigmas", "must be an array of numbers");
  if (sigmas.length < 2) {
    throw new ArgumentError("sigmas", `must hold at least 2 values (steps >= 1), got ${sigmas.length}`);
  }
  const s = Float64Array.from(sigmas);
  for (let i = 0; i < s.length; i++) {
    if (!Number.isFinite(s[i]) || s[i] < 0) throw new ArgumentError(`sigmas[${i}]`, `must be finite and >= 0, got ${s[i]}`);
    if (i > 0 && !(s[i] < s[i - 1])) {
      throw new ArgumentError("sigmas", `must be strictly descending, got ${s[i - 1]} then ${s[i]} at index ${i}`);
    }
  }
  if (!openEnd && s[s.length - 1] !== 0) {
    throw new ArgumentError("sigmas", `must end in 0, got ${s[s.length - 1]}`);
  }
  return s;
}

/**
 * The loop of one sampler run: validated inputs, where to start and stop, and the per-step services.
 * A sampler writes `for (let i = loop.start; i < loop.end; i++) { ...; loop.after(i, x, denoised) }`
 * and returns `loop.finish(x, carry)`.
 */
export class Loop {
  readonly sigmas: Float64Array;
  readonly steps: number;
  readonly batch: number;
  readonly firstItem: number;
  /** Values per item. */
  readonly size: number;
  /** The first step this call runs (opts.from.step, else 0). */
  readonly start: number;
  /** One past the last step this call runs (start + maxSteps, at most steps). */
  readonly end: number;
  /** The working batch: a copy of the input; samplers update it in place or replace it. */
  readonly x: Float32Array;
  /** Denoiser evaluations so far in this call. */
  nfe = 0;
  private readonly carry: Carry;
  private readonly rng: Rng | undefined;
  private readonly sigmaBuf: Float64Array;
  private readonly onStep: SamplerOptions["onStep"];
  private readonly signal: AbortSignal | undefined;

  constructor(
    readonly name: string,
    private readonly denoiser: Denoiser,
    x: Float32Array,
    sigmas: ArrayLike<number>,
    opts: SamplerOptions,
    needsRng: boolean,
  ) {
    if (typeof denoiser !== "function") throw new ArgumentError("denoiser", "must be a function (x, sigma, batch) => x0");
    f32("x", x);
    if (opts.openEnd !== undefined && typeof opts.openEnd !== "boolean") throw new ArgumentError("openEnd", "must be a boolean");
    this.sigmas = checkSigmas(sigmas, opts.openEnd === true);
    this.steps = this.sigmas.length - 1;
    this.batch = int("batch", opts.batch ?? 1, 1);
    this.firstItem = int("firstItem", opts.firstItem ?? 0, 0);
    this.x = Float32Array.from(x);
    this.size = itemSize("x", this.x, this.batch);
    if (opts.rng !== undefined && !(opts.rng instanceof Rng)) throw new ArgumentError("rng", "must be an Rng");
    this.rng = opts.rng;
    if (needsRng && !this.rng) throw new ArgumentError("rng", `sampler "${name}" is stochastic and needs a seeded Rng (opts.rng)`);
    if (opts.onStep !== undefined && typeof opts.onStep !== "function") throw new ArgumentError("onStep", "must be a function");
    const from = opts.from;
    if (from === undefined) {
      this.start = 0;
      this.carry = {};
    } else {
      if (from === null || typeof from !== "object") throw new ArgumentError("from", "must be { step, carry } as a previous run returned");
      this.start = int("from.step", from.step, 0, this.steps);
      const c = from.carry;
      if (c === null || typeof c !== "object" || Array.isArray(c)) throw new ArgumentError("from.carry", "must be the carry object a previous run returned");
      this.carry = c;
    }
    this.end = opts.maxSteps === undefined ? this.steps : Math.min(this.steps, this.start + int("maxSteps", opts.maxSteps, 1));
    this.sigmaBuf = new Float64Array(this.batch);
    this.onStep = opts.onStep;
    this.signal = opts.signal;
    this.checkAbort();
  }

  private checkAbort(): void {
    const s = this.signal;
    if (s?.aborted) throw s.reason ?? new Error("sampling aborted");
  }

  /**
   * An array the previous piece of this run carried (e.g. the last x0 estimate), or null when starting
   * at step 0. Continuing without it would silently change the result, so it must be there.
   */
  carriedArray(key: string, length: number): Float64Array | null {
    if (this.start === 0) return null;
    const v = this.carry[key];
    if (!Array.isArray(v) || v.length !== length) {
      throw new ArgumentError(`from.carry.${key}`, `must be the array of ${length} numbers the previous run returned, got ${Array.isArray(v) ? `${v.length} values` : String(v)}`);
    }
    return Float64Array.from(v);
  }

  /** A number the previous piece of this run carried, or `initial` when starting at step 0. */
  carriedNumber(key: string, initial: number): number {
    if (this.start === 0) return initial;
    const v = this.carry[key];
    if (typeof v !== "number" || !Number.isFinite(v)) throw new ArgumentError(`from.carry.${key}`, `must be the number the previous run returned, got ${String(v)}`);
    return v;
  }

  /** D(x, sigma) with the same sigma for every item; checks the result's length. */
  denoise(x: Float32Array, sigma: number): Float32Array {
    this.sigmaBuf.fill(sigma);
    return this.denoiseEach(x, this.sigmaBuf);
  }

  /**
   * D(x, sigma) with one sigma per item, always on the whole batch: a denoiser may hold per-item state
   * lined up with it (guidance labels), so no sampler evaluates a sub-batch (dopri5.ts).
   */
  denoiseEach(x: Float32Array, sigma: Float64Array): Float32Array {
    this.checkAbort();
    const d = this.denoiser(x, sigma, this.batch);
    this.nfe++;
    if (!(d instanceof Float32Array) || d.length !== x.length) {
      throw new ArgumentError("denoiser", `must return a Float32Array of ${x.length} values, got ${d && (d as Float32Array).length}`);
    }
    return d;
  }

  /** Standard normals for step i (sub-draw `sub` of that step): rng.stream(i)[.stream(sub)], rows by item. */
  noise(i: number, sub = 0): Float32Array {
    const r = (this.rng as Rng).stream(i);
    return (sub === 0 ? r : r.stream(sub)).randn(this.batch, this.size, this.firstItem);
  }

  /** After step i: NaN check, onStep, abort. */
  after(i: number, x: Float32Array, denoised: Float32Array): void {
    for (let j = 0; j < x.length; j++) {
      if (!Number.isFinite(x[j])) {
        throw new SamplingError(i, this.sigmas[i], `x became ${x[j]} at index ${j} (item ${this.firstItem + Math.floor(j / this.size)})`);
      }
    }
    this.onStep?.({ step: i, steps: this.steps, sigma: this.sigmas[i], sigmaNext: this.sigmas[i + 1], x, denoised });
    this.checkAbort();
  }

  /** The result: x after the last step run, the step to continue from and the values to carry into it. */
  finish(x: Float32Array, carry: Carry = {}): SamplerResult {
    return { x, step: this.end, carry };
  }
}

export type { Denoiser };
