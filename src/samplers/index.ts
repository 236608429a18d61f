// Samplers: plain functions (denoiser, x, sigmas, opts) -> { x, step, carry } over the one Denoiser
// contract, and a registry by name (k-diffusion's names). Every sampler resumes by argument: run k steps
// with maxSteps, keep the returned step and carry (JSON-safe), continue with `from`.

import type { Rng } from "../rng.ts";
import { ArgumentError, oneOf } from "../validate.ts";
import { sampleDdim, sampleDdpm, sampleDpmpp2mSde, sampleEulerAncestral } from "./ancestral.ts";
import type { SamplerFn } from "./common.ts";
import { sampleDpmpp2sAncestral, sampleDpmpp3mSde, sampleDpmSolverMultistep, sampleDpmSolverSinglestep } from "./dpm.ts";
import { sampleConsistency } from "./consistency.ts";
import { sampleDpm2, sampleDpm2Ancestral } from "./dpm2.ts";
import { sampleLangevin, samplePc } from "./langevin.ts";
import { sampleLms } from "./lms.ts";
import { sampleDpmpp2m, sampleEuler, sampleHeun } from "./ode.ts";
import { lookupSamplerName, type ScheduleName } from "./names.ts";
import { sampleLcm } from "./lcm.ts";
import { sampleIpndm, samplePlms } from "./plms.ts";
import { sampleRk45 } from "./rk45.ts";
import { sampleUniPc } from "./unipc.ts";
import { sampleDeis } from "./deis.ts";
import { sampleSaSolver } from "./sa-solver.ts";

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
export * from "./dpm.ts";
export * from "./dpmsolver.ts";
export * from "./langevin.ts";
export * from "./rk45.ts";
export { sampleIpndm, samplePlms } from "./plms.ts";
export { sampleLcm } from "./lcm.ts";
export * from "./lms.ts";
export * from "./dpm2.ts";
export * from "./consistency.ts";
export * from "./unipc.ts";
export * from "./deis.ts";
export * from "./sa-solver.ts";
export { History, lambdaOf, veNode, type Node } from "./exp-integrator.ts";
export { dopri5, type BatchRhs } from "./dopri5.ts";
export * from "./likelihood.ts";
export * from "./inpaint.ts";
export * from "./img2img.ts";
export * from "./augment.ts";
export { normalizeSamplerName, SAMPLER_ALIASES, type SamplerAlias, type ScheduleName } from "./names.ts";

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
  dpmpp_3m_sde: sampleDpmpp3mSde,
  dpmpp_2s_ancestral: sampleDpmpp2sAncestral,
  dpm_solver_multistep: sampleDpmSolverMultistep,
  dpm_solver_singlestep: sampleDpmSolverSinglestep,
  langevin: sampleLangevin,
  pc: samplePc,
  plms: samplePlms,
  ipndm: sampleIpndm,
  lcm: sampleLcm,
  lms: sampleLms,
  dpm_2: sampleDpm2,
  dpm_2_ancestral: sampleDpm2Ancestral,
  consistency: sampleConsistency,
  unipc: sampleUniPc,
  deis: sampleDeis,
  sa_solver: sampleSaSolver,
} as const satisfies Record<string, SamplerFn>;

export type SamplerName = keyof typeof SAMPLERS;
export const SAMPLER_NAMES = Object.keys(SAMPLERS) as SamplerName[];

/** What a sampler name resolves to (resolveSampler). */
export interface ResolvedSampler {
  /** This library's name for it. */
  name: SamplerName;
  /** The sampler, with any options the name implies applied as defaults (e.g. "DPM++ 2M SDE Heun"). */
  sampler: SamplerFn;
  /** The sigma schedule the name implies ("DPM++ 2M Karras"); undefined when it names none. */
  schedule?: ScheduleName;
  /** Sampler options the name implies ({} for most). */
  options: Record<string, unknown>;
}

/**
 * Resolve a sampler name as people type it: ours ("dpmpp_2m"), a diffusers scheduler class
 * ("DPMSolverMultistepScheduler"), an AUTOMATIC1111 menu name ("DPM++ 2M Karras", "Euler a"; case and
 * blanks do not matter) or a k-diffusion function ("sample_dpmpp_2m"); the table is names.ts. A name with
 * a schedule suffix also returns the schedule, for the caller to build its sigmas with. Unknown names
 * throw an ArgumentError listing the valid ones; a known sampler this library lacks (e.g. "LMS") says so.
 */
export function resolveSampler(name: string): ResolvedSampler {
  if (typeof name !== "string") oneOf("sampler", name, SAMPLER_NAMES);
  const found = lookupSamplerName(name, SAMPLER_NAMES);
  const valid = `${SAMPLER_NAMES.map((a) => JSON.stringify(a)).join(", ")} (or a diffusers, A1111 or k-diffusion name for one of them, e.g. "DPM++ 2M Karras")`;
  if (found === null) throw new ArgumentError("sampler", `unknown sampler ${JSON.stringify(name)}: must be one of ${valid}`);
  if ("missing" in found) throw new ArgumentError("sampler", `${JSON.stringify(name)} is ${found.missing}, which this library does not implement; use one of ${valid}`);
  const key = found.sampler as SamplerName;
  const fn = SAMPLERS[key] as SamplerFn;
  const options = found.options ?? {};
  const sampler: SamplerFn = Object.keys(options).length === 0 ? fn : (d, x, s, o) => fn(d, x, s, { ...options, ...o });
  return { name: key, sampler, schedule: found.schedule, options };
}

/** The sampler called `name` (any name resolveSampler takes); unknown names throw an ArgumentError listing the valid ones. */
export function getSampler(name: string): SamplerFn {
  return resolveSampler(name).sampler;
}

/** The starting batch x = sigmaMax z, z from rng.stream("init") (row b = item firstItem + b). */
export function initialNoise(rng: Rng, batch: number, size: number, sigmaMax: number, firstItem = 0): Float32Array {
  const x = rng.stream("init").randn(batch, size, firstItem);
  if (!(sigmaMax > 0 && Number.isFinite(sigmaMax))) throw new ArgumentError("sigmaMax", `must be finite and > 0, got ${sigmaMax}`);
  for (let j = 0; j < x.length; j++) x[j] *= sigmaMax;
  return x;
}
