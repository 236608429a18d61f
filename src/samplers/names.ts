// The sampler names people type, in one table: diffusers' scheduler classes, AUTOMATIC1111's menu names
// (with their "Karras" / "Exponential" schedule suffix) and k-diffusion's function names, mapped to this
// library's names (k-diffusion's, without "sample_"). Only samplers this library has are listed as
// aliases; well-known ones it lacks are named so the error can say so instead of "unknown".

/** A sigma schedule a sampler name can imply (A1111's "DPM++ 2M Karras"). */
export type ScheduleName = "karras" | "exponential";

/** What an alias means: our sampler, the schedule it implies (if any) and sampler options it implies. */
export interface SamplerAlias {
  sampler: string;
  schedule?: ScheduleName;
  options?: Record<string, unknown>;
}

/** Compare names without case, surrounding blanks or repeated blanks ("euler  A" = "Euler a"). */
export function normalizeSamplerName(name: string): string {
  return name.trim().replace(/\s+/g, " ").toLowerCase();
}

// keys as typed (readable); looked up normalized
const ALIASES: Record<string, SamplerAlias> = {
  // diffusers scheduler classes (src/diffusers maps their configs in detail; these are their defaults)
  EulerDiscreteScheduler: { sampler: "euler" },
  HeunDiscreteScheduler: { sampler: "heun" },
  EulerAncestralDiscreteScheduler: { sampler: "euler_ancestral" },
  DDIMScheduler: { sampler: "ddim" },
  DDPMScheduler: { sampler: "ddpm" },
  // algorithm_type "dpmsolver++", solver_order 2 (diffusers' defaults)
  DPMSolverMultistepScheduler: { sampler: "dpmpp_2m" },
  DPMSolverSinglestepScheduler: { sampler: "dpm_solver_singlestep" },
  EDMDPMSolverMultistepScheduler: { sampler: "dpmpp_2m", schedule: "karras" },
  ScoreSdeVeScheduler: { sampler: "pc" },
  PNDMScheduler: { sampler: "plms" },
  IPNDMScheduler: { sampler: "ipndm" },
  LCMScheduler: { sampler: "lcm" },
  LMSDiscreteScheduler: { sampler: "lms" },
  KDPM2DiscreteScheduler: { sampler: "dpm_2" },
  KDPM2AncestralDiscreteScheduler: { sampler: "dpm_2_ancestral" },
  EDMEulerScheduler: { sampler: "euler" },
  CMStochasticIterativeScheduler: { sampler: "consistency" },
  UniPCMultistepScheduler: { sampler: "unipc" },
  DEISMultistepScheduler: { sampler: "deis" },
  SASolverScheduler: { sampler: "sa_solver" },
  // flow matching: Euler on the flow is the VE Euler step (the same samples); Heun differs by its coordinates
  FlowMatchEulerDiscreteScheduler: { sampler: "euler" },
  FlowMatchHeunDiscreteScheduler: { sampler: "heun" },
  // AUTOMATIC1111 (sd-webui) menu names
  Euler: { sampler: "euler" },
  "Euler a": { sampler: "euler_ancestral" },
  Heun: { sampler: "heun" },
  LMS: { sampler: "lms" },
  DPM2: { sampler: "dpm_2" },
  "DPM2 a": { sampler: "dpm_2_ancestral" },
  DDIM: { sampler: "ddim" },
  PLMS: { sampler: "plms" },
  LCM: { sampler: "lcm" },
  "DPM++ 2M": { sampler: "dpmpp_2m" },
  "DPM++ 2M SDE": { sampler: "dpmpp_2m_sde" },
  "DPM++ 2M SDE Heun": { sampler: "dpmpp_2m_sde", options: { solverType: "heun" } },
  "DPM++ 3M SDE": { sampler: "dpmpp_3m_sde" },
  "DPM++ 2S a": { sampler: "dpmpp_2s_ancestral" },
  UniPC: { sampler: "unipc" },
  DEIS: { sampler: "deis" },
  // k-diffusion functions, and the k_ names of the early Stable Diffusion scripts
  sample_euler: { sampler: "euler" },
  sample_euler_ancestral: { sampler: "euler_ancestral" },
  sample_heun: { sampler: "heun" },
  sample_lms: { sampler: "lms" },
  sample_dpm_2: { sampler: "dpm_2" },
  sample_dpm_2_ancestral: { sampler: "dpm_2_ancestral" },
  sample_dpmpp_2m: { sampler: "dpmpp_2m" },
  sample_dpmpp_2m_sde: { sampler: "dpmpp_2m_sde" },
  sample_dpmpp_3m_sde: { sampler: "dpmpp_3m_sde" },
  sample_dpmpp_2s_ancestral: { sampler: "dpmpp_2s_ancestral" },
  k_dpmpp_2s_ancestral: { sampler: "dpmpp_2s_ancestral" },
  k_euler: { sampler: "euler" },
  k_euler_a: { sampler: "euler_ancestral" },
  k_euler_ancestral: { sampler: "euler_ancestral" },
  k_heun: { sampler: "heun" },
  k_lms: { sampler: "lms" },
  k_dpm_2: { sampler: "dpm_2" },
  k_dpm_2_a: { sampler: "dpm_2_ancestral" },
  k_dpm_2_ancestral: { sampler: "dpm_2_ancestral" },
  k_dpmpp_2m: { sampler: "dpmpp_2m" },
  // this library's function names
  sampleEuler: { sampler: "euler" },
  sampleHeun: { sampler: "heun" },
  sampleDpmpp2m: { sampler: "dpmpp_2m" },
  sampleRk45: { sampler: "rk45" },
  sampleEulerAncestral: { sampler: "euler_ancestral" },
  sampleDdim: { sampler: "ddim" },
  sampleDdpm: { sampler: "ddpm" },
  sampleDpmpp2mSde: { sampler: "dpmpp_2m_sde" },
  sampleDpmpp3mSde: { sampler: "dpmpp_3m_sde" },
  sampleDpmpp2sAncestral: { sampler: "dpmpp_2s_ancestral" },
  sampleDpmSolverMultistep: { sampler: "dpm_solver_multistep" },
  sampleDpmSolverSinglestep: { sampler: "dpm_solver_singlestep" },
  sampleLangevin: { sampler: "langevin" },
  samplePc: { sampler: "pc" },
  samplePlms: { sampler: "plms" },
  sampleIpndm: { sampler: "ipndm" },
  sample_ipndm: { sampler: "ipndm" },
  sample_lcm: { sampler: "lcm" },
  sampleLcm: { sampler: "lcm" },
  sampleLms: { sampler: "lms" },
  sampleDpm2: { sampler: "dpm_2" },
  sampleDpm2Ancestral: { sampler: "dpm_2_ancestral" },
  sampleConsistency: { sampler: "consistency" },
  sampleUniPc: { sampler: "unipc" },
  sampleDeis: { sampler: "deis" },
  sampleSaSolver: { sampler: "sa_solver" },
};

// Samplers people ask for that this library does not have, with where the name comes from.
const MISSING: Record<string, string> = {
  "DPM++ SDE": "A1111's DPM++ SDE (k-diffusion sample_dpmpp_sde)",
  DPMSolverSDEScheduler: "diffusers' DPM++ SDE",
  "DPM fast": "A1111's DPM fast",
  "DPM adaptive": "A1111's DPM adaptive (closest here: rk45)",
};

const byKey = <T>(t: Record<string, T>) => new Map(Object.entries(t).map(([k, v]) => [normalizeSamplerName(k), v]));
const ALIAS = byKey(ALIASES);
const MISSING_BY = byKey(MISSING);

/** Every alias as typed in the table above (for docs and completion), with what it resolves to. */
export const SAMPLER_ALIASES: Readonly<Record<string, SamplerAlias>> = ALIASES;

/**
 * What a typed name means: one of `names` itself, an alias, or an A1111-style "<name> Karras" /
 * "<name> Exponential" (the schedule suffix on any name that resolves). `{ missing }` for a well-known
 * sampler this library lacks; null for a name nobody uses.
 */
export function lookupSamplerName(name: string, names: readonly string[]): SamplerAlias | { missing: string } | null {
  if (names.includes(name)) return { sampler: name };
  const n = normalizeSamplerName(name);
  const own = names.find((k) => k === n);
  if (own) return { sampler: own };
  const alias = ALIAS.get(n);
  if (alias) return { ...alias };
  const missing = MISSING_BY.get(n);
  if (missing) return { missing };
  const m = /^(.+) (karras|exponential)$/.exec(n);
  if (m) {
    const base = lookupSamplerName(m[1], names);
    if (base && "missing" in base) return base;
    if (base && base.schedule === undefined) return { ...base, schedule: m[2] as ScheduleName };
  }
  return null;
}
