// Samplers: plain functions (denoiser, x, sigmas, opts) -> { x, step, carry } over the one Denoiser
// contract, and a registry by name (k-diffusion's names). Every sampler resumes by argument: run k steps
// with maxSteps, keep the returned step and carry (JSON-safe), continue with `from`.

import type { Rng } from "../rng.ts";
import { ArgumentError, oneOf } from "../validate.ts";
import { sampleDdim, sampleDdpm, sampleDpmpp2mSde, sampleEulerAncestral } from "./ancestral.ts";
import type { SamplerFn } from "./common.ts";
import { sampleLangevin, samplePc } from "./langevin.ts";
import { sampleDpmpp2m, sampleEuler, sampleHeun } from "./ode.ts";
import { sampleRk45 } from "./rk45.ts";

export {
  checkSigmas,
  SamplingError,
  type Carry,
  type SamplerFn,
  type SamplerOptions,
  type SamplerPosition,
  type SamplerResult,
  type StepEvent,
} from "./common.ts";
export { ancestralStep, ancestralUpdate, churnGamma, type AncestralSplit } from "./steps.ts";
export * from "./ode.ts";
export * from "./ancestral.ts";
export * from "./langevin.ts";
export * from "./rk45.ts";
export { dopri5, type BatchRhs } from "./dopri5.ts";
export * from "./likelihood.ts";
export * from "./inpaint.ts";
export * from "./img2img.ts";
export * from "./augment.ts";

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
