// What every sampler shares, written once: argument checks, the step loop's bookkeeping (seeded noise per
// step, onStep, AbortSignal, NaN stop, pause/resume), and the small formulas k-diffusion calls to_d,
// get_ancestral_step and EDM's churn. Samplers stay short and read like their papers' algorithms.

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
}

/** A JSON-serialisable snapshot of a paused sampler: enough to continue with bit-identical results. */
export interface SamplerState {
  format: "edge-diffusion/sampler-state@1";
  sampler: string;
  /** The next step to run. */
  step: number;
  batch: number;
  firstItem: number;
  sigmas: number[];
  /** The batch (float32 values, exact as JSON numbers). */
  x: number[];
  rng: [number, number] | null;
  /** The sampler's own options (eta, churn, ...), restored on resume. */
  options: Record<string, number | string | boolean>;
  /** Loop-carried values of multistep samplers (previous x0 estimate, previous step size, ...). */
  carry: Record<string, number | number[] | null>;
}

/** Thrown when a step produces NaN or Infinity: names the step instead of returning a grey image. */
export class SamplingError extends Error {
  readonly step: number;
  constructor(step: number, sigma: number, what: string) {
    super(`step ${step} (sigma = ${sigma}): ${what}`);
    this.name = "SamplingError";
    this.step = step;
  }
}

/** Internal: the pause/resume channel of the resumable form (not part of the public options). */
export const CONTROL: unique symbol = Symbol("edge-diffusion.sampler-control");
/** Internal: lets the diffusers module run a schedule whose last sigma is not 0 (set_alpha_to_one=false). */
export const OPEN_END: unique symbol = Symbol("edge-diffusion.open-end");

export interface Control {
  resume?: SamplerState;
  maxSteps?: number;
  /** Set by the sampler when it stops before the last step. */
  paused?: SamplerState;
}

type WithInternals = SamplerOptions & { [CONTROL]?: Control; [OPEN_END]?: boolean };

/** Check a sigma sequence: finite, >= 0, strictly descending, ending in 0, at least one step. */
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
  readonly start: number;
  readonly end: number;
  readonly carry: SamplerState["carry"];
  /** The working batch: a copy of the input (or of the resumed state); samplers update it in place or replace it. */
  readonly x: Float32Array;
  /** Denoiser evaluations so far in this call. */
  nfe = 0;
  private readonly rng: Rng | undefined;
  private readonly ctl: Control | undefined;
  private readonly sigmaBuf: Float64Array;

  constructor(
    readonly name: string,
    private readonly denoiser: Denoiser,
    x: Float32Array | null,
    sigmas: ArrayLike<number> | null,
    opts: SamplerOptions,
    readonly options: Record<string, number | string | boolean>,
    needsRng: boolean,
  ) {
    if (typeof denoiser !== "function") throw new ArgumentError("denoiser", "must be a function (x, sigma, batch) => x0");
    const o = opts as WithInternals;
    this.ctl = o[CONTROL];
    const resume = this.ctl?.resume;
    if (resume) {
      if (resume.sampler !== name) throw new ArgumentError("state.sampler", `is "${resume.sampler}", resumed with "${name}"`);
      this.sigmas = checkSigmas(resume.sigmas, true);
      this.batch = int("state.batch", resume.batch, 1);
      this.firstItem = int("state.firstItem", resume.firstItem, 0);
      this.x = Float32Array.from(resume.x);
      this.start = int("state.step", resume.step, 0, this.sigmas.length - 1);
      this.carry = resume.carry ?? {};
      this.rng = resume.rng ? Rng.fromState({ key: resume.rng }) : undefined;
    } else {
      f32("x", x);
      this.sigmas = checkSigmas(sigmas as ArrayLike<number>, o[OPEN_END] === true);
      this.batch = int("batch", opts.batch ?? 1, 1);
      this.firstItem = int("firstItem", opts.firstItem ?? 0, 0);
      this.x = Float32Array.from(x as Float32Array);
      this.start = 0;
      this.carry = {};
      if (opts.rng !== undefined && !(opts.rng instanceof Rng)) throw new ArgumentError("rng", "must be an Rng");
      this.rng = opts.rng;
    }
    this.size = itemSize("x", this.x, this.batch);
    if (needsRng && !this.rng) throw new ArgumentError("rng", `sampler "${name}" is stochastic and needs a seeded Rng (opts.rng)`);
    if (opts.onStep !== undefined && typeof opts.onStep !== "function") throw new ArgumentError("onStep", "must be a function");
    this.steps = this.sigmas.length - 1;
    const max = this.ctl?.maxSteps;
    this.end = max === undefined ? this.steps : Math.min(this.steps, this.start + int("maxSteps", max, 1));
    this.sigmaBuf = new Float64Array(this.batch);
    this.onStep = opts.onStep;
    this.signal = opts.signal;
    this.checkAbort();
  }

  private readonly onStep: SamplerOptions["onStep"];
  private readonly signal: AbortSignal | undefined;

  private checkAbort(): void {
    const s = this.signal;
    if (s?.aborted) throw s.reason ?? new Error("sampling aborted");
  }

  /** D(x, sigma) with the same sigma for every item; checks the result's length. */
  denoise(x: Float32Array, sigma: number): Float32Array {
    this.sigmaBuf.fill(sigma);
    return this.denoiseEach(x, this.sigmaBuf);
  }

  /** D(x, sigma) with one sigma per item. */
  denoiseEach(x: Float32Array, sigma: Float64Array): Float32Array {
    this.checkAbort();
    const d = this.denoiser(x, sigma, this.batch);
    this.nfe++;
    if (!(d instanceof Float32Array) || d.length !== x.length) {
      throw new ArgumentError("denoiser", `must return a Float32Array of ${x.length} values, got ${d && (d as Float32Array).length}`);
    }
    return d;
  }

  /** D for a sub-batch of m items (adaptive solvers evaluate only the items still stepping). */
  denoiseEachSub(x: Float32Array, sigma: Float64Array, m: number): Float32Array {
    this.checkAbort();
    const d = this.denoiser(x, sigma, m);
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

  /** Return x; when paused before the last step, hand the state to the resumable form. */
  finish(x: Float32Array, carry: SamplerState["carry"] = {}): Float32Array {
    if (this.ctl && this.end < this.steps) {
      this.ctl.paused = {
        format: "edge-diffusion/sampler-state@1",
        sampler: this.name,
        step: this.end,
        batch: this.batch,
        firstItem: this.firstItem,
        sigmas: Array.from(this.sigmas),
        x: Array.from(x),
        rng: this.rng ? [this.rng.k0, this.rng.k1] : null,
        options: this.options,
        carry,
      };
    }
    return x;
  }
}

/** Resolve a sampler option: from the resumed state if any, else from opts with a default. */
export function opt<T extends number | string | boolean>(opts: SamplerOptions, key: string, def: T): T {
  const resume = (opts as WithInternals)[CONTROL]?.resume;
  if (resume && key in resume.options) return resume.options[key] as T;
  const v = (opts as unknown as Record<string, unknown>)[key];
  return (v === undefined ? def : v) as T;
}

/** A float32 carry (e.g. the previous x0 estimate) back from a state. */
export function carried(c: SamplerState["carry"], key: string): Float32Array | null {
  const v = c[key];
  return Array.isArray(v) ? Float32Array.from(v) : null;
}

/**
 * k-diffusion's get_ancestral_step: split a step sigma -> sigmaNext into a deterministic move to
 * sigmaDown and fresh noise of scale sigmaUp, with sigmaDown^2 + sigmaUp^2 = sigmaNext^2. eta = 1 adds
 * the DDPM posterior's noise (its variance is sigmaNext^2 (sigma^2 - sigmaNext^2) / sigma^2), eta = 0 none.
 */
export function ancestralStep(sigma: number, sigmaNext: number, eta = 1): { sigmaDown: number; sigmaUp: number } {
  if (eta === 0 || sigmaNext === 0) return { sigmaDown: sigmaNext, sigmaUp: 0 };
  const up = Math.min(sigmaNext, eta * Math.sqrt((sigmaNext * sigmaNext * (sigma * sigma - sigmaNext * sigmaNext)) / (sigma * sigma)));
  return { sigmaDown: Math.sqrt(sigmaNext * sigmaNext - up * up), sigmaUp: up };
}

/** EDM (Karras et al. 2022) Alg. 2 lines 4-6: gamma_i = min(S_churn / N, sqrt 2 - 1) inside [S_tmin, S_tmax]. */
export function churnGamma(sigma: number, steps: number, sChurn: number, sTmin: number, sTmax: number): number {
  return sChurn > 0 && sigma >= sTmin && sigma <= sTmax ? Math.min(sChurn / steps, Math.SQRT2 - 1) : 0;
}

/** y = a x + b z elementwise (float64 arithmetic, float32 storage); returns out. */
export function axpby(a: number, x: Float32Array, b: number, z: Float32Array, out = new Float32Array(x.length)): Float32Array {
  for (let j = 0; j < x.length; j++) out[j] = a * x[j] + b * z[j];
  return out;
}

/** The Karras ODE derivative d = (x - D) / sigma (k-diffusion's to_d; EDM eq. 4 with sigma(t) = t). */
export function toD(x: Float32Array, denoised: Float32Array, sigma: number, out = new Float32Array(x.length)): Float32Array {
  for (let j = 0; j < x.length; j++) out[j] = (x[j] - denoised[j]) / sigma;
  return out;
}

export type { Denoiser };
export { Rng };
