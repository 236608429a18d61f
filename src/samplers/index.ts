// Samplers: plain functions (denoiser, x, sigmas, opts) -> x over the one Denoiser contract, a registry
// by name (k-diffusion's names), and the resumable form: run k steps, keep a JSON state, continue.

import type { Denoiser } from "../denoiser/contract.ts";
import type { Rng } from "../rng.ts";
import { ArgumentError, int, oneOf } from "../validate.ts";
import { sampleDdim, sampleDdpm, sampleDpmpp2mSde, sampleEulerAncestral } from "./ancestral.ts";
import { CONTROL, type Control, type SamplerOptions, type SamplerState } from "./common.ts";
import { inpaint, type SamplerFn } from "./guidance.ts";
import { sampleLangevin, samplePc } from "./langevin.ts";
import { sampleDpmpp2m, sampleEuler, sampleHeun } from "./ode.ts";
import { sampleRk45 } from "./rk45.ts";

export * from "./common.ts";
export * from "./ode.ts";
export * from "./ancestral.ts";
export * from "./langevin.ts";
export * from "./rk45.ts";
export * from "./guidance.ts";

/** Every sampler by name. */
export const SAMPLERS = {
  euler: sampleEuler,
  heun: sampleHeun,
  dpmpp_2m: sampleDpmpp2m,
  rk45: sampleRk45,
  euler_ancestral: sampleEulerAncestral,
  ddim: sampleDdim,
  ddpm: sampleDdpm,
  dpmpp_2m_sde: sampleDpmpp2mSde,
  langevin: sampleLangevin,
  pc: samplePc,
} as const satisfies Record<string, SamplerFn>;

export type SamplerName = keyof typeof SAMPLERS;
export const SAMPLER_NAMES = Object.keys(SAMPLERS) as SamplerName[];

/** The sampler called `name`; unknown names throw an ArgumentError listing the valid ones. */
export function getSampler(name: string): SamplerFn {
  return SAMPLERS[oneOf("sampler", name, SAMPLER_NAMES)] as SamplerFn;
}

/** The starting batch x = sigmaMax z, z from rng.stream("init") (row b = item firstItem + b). */
export function initialNoise(rng: Rng, batch: number, size: number, sigmaMax: number, firstItem = 0): Float32Array {
  const x = rng.stream("init").randn(batch, size, firstItem);
  if (!(sigmaMax > 0 && Number.isFinite(sigmaMax))) throw new ArgumentError("sigmaMax", `must be finite and > 0, got ${sigmaMax}`);
  for (let j = 0; j < x.length; j++) x[j] *= sigmaMax;
  return x;
}

export interface Resumable {
  /** The batch after the steps run so far. */
  x: Float32Array;
  /** null when finished; otherwise a JSON-serialisable state for resumeSampling. */
  state: SamplerState | null;
}

const RESUMABLE: Record<string, SamplerFn> = { ...SAMPLERS, inpaint: inpaint as unknown as SamplerFn };

/**
 * The resumable form: run at most `maxSteps` steps of sampler `name` and return x with the state to
 * continue from (null when done). Continuing with resumeSampling gives bit-identical results to one
 * uninterrupted run: the state carries x, the step, the sigmas, the Rng key, the sampler's options and
 * its loop-carried values.
 */
export function startSampling(
  name: string,
  denoiser: Denoiser,
  x: Float32Array,
  sigmas: ArrayLike<number>,
  opts: SamplerOptions & Record<string, unknown> & { maxSteps: number },
): Resumable {
  const fn = name === "inpaint" ? RESUMABLE.inpaint : getSampler(name);
  const ctl: Control = { maxSteps: int("maxSteps", opts.maxSteps, 1) };
  const y = fn(denoiser, x, sigmas, { ...opts, [CONTROL]: ctl } as SamplerOptions & Record<string, unknown>);
  return { x: y, state: ctl.paused ?? null };
}

/**
 * Continue a paused run for at most `maxSteps` more steps (all remaining by default). Options that are
 * not serialisable (onStep, signal) and inpainting's known/mask are passed again; everything else comes
 * from the state.
 */
export function resumeSampling(
  state: SamplerState,
  denoiser: Denoiser,
  opts: SamplerOptions & Record<string, unknown> & { maxSteps?: number } = {},
): Resumable {
  if (!state || state.format !== "edge-diffusion/sampler-state@1") {
    throw new ArgumentError("state", 'must be a sampler state (format "edge-diffusion/sampler-state@1")');
  }
  const fn = state.sampler === "inpaint" ? RESUMABLE.inpaint : getSampler(state.sampler);
  const ctl: Control = { resume: state };
  if (opts.maxSteps !== undefined) ctl.maxSteps = int("maxSteps", opts.maxSteps, 1);
  const y = fn(denoiser, new Float32Array(0), [], { ...opts, [CONTROL]: ctl } as SamplerOptions & Record<string, unknown>);
  return { x: y, state: ctl.paused ?? null };
}
