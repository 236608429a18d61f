// diffusers compatibility: map a scheduler config (DDPM, DDIM, Euler, Heun, DPM-Solver++ multistep) onto
// our sigma sequences, samplers and a Denoiser wrapper (src/denoiser/diffusers.ts), so a discrete network
// (x, t) -> output written for diffusers (timesteps 0..T-1) runs here and gives diffusers' results.
// Derived from diffusers' documented formulas (src/diffusers/schedulers/scheduling_*.py): betas and
// alphas_cumprod are float32 as in PyTorch, VP-space schedulers (DDPM, DDIM, DPM-Solver) are run in VE
// space (x_ve = x_vp / alpha), which is the same update divided by alpha. Plain data and functions: no
// stateful scheduler object.

import { veScale, vpFromVeSigma, type Prediction } from "../denoiser/conversions.ts";
import { diffusersDenoiser, sigmaToT, type DiffusersModel } from "../denoiser/diffusers.ts";
import { dlog, dpow } from "../math/detmath.ts";
import { cosineAlphaBar } from "../schedule/betas.ts";
import { ArgumentError, f32, finite, int, itemSize, oneOf, positive } from "../validate.ts";
import type { SamplerOptions } from "../samplers/common.ts";
import { getSampler, type SamplerName } from "../samplers/index.ts";

export const DIFFUSERS_SCHEDULERS = [
  "DDPMScheduler",
  "DDIMScheduler",
  "EulerDiscreteScheduler",
  "HeunDiscreteScheduler",
  "DPMSolverMultistepScheduler",
] as const;
export type DiffusersSchedulerName = (typeof DIFFUSERS_SCHEDULERS)[number];

/** The keys of a diffusers scheduler_config.json that this module reads (others are ignored). */
export interface DiffusersConfig {
  num_train_timesteps?: number;
  beta_start?: number;
  beta_end?: number;
  beta_schedule?: "linear" | "scaled_linear" | "squaredcos_cap_v2";
  trained_betas?: number[] | null;
  prediction_type?: "epsilon" | "sample" | "v_prediction";
  timestep_spacing?: "leading" | "trailing" | "linspace";
  steps_offset?: number;
  set_alpha_to_one?: boolean;
  clip_sample?: boolean;
  clip_sample_range?: number;
  use_karras_sigmas?: boolean;
  lower_order_final?: boolean;
  variance_type?: "fixed_small" | "fixed_large";
  algorithm_type?: "dpmsolver++" | "sde-dpmsolver++";
  solver_order?: number;
  solver_type?: "midpoint" | "heun";
  final_sigmas_type?: "zero";
  [key: string]: unknown;
}

const fround = Math.fround;

/** diffusers' alphas_cumprod (index t = 0..T-1), float32 like PyTorch's. */
export function diffusersAlphasCumprod(config: DiffusersConfig): Float64Array {
  const T = int("num_train_timesteps", config.num_train_timesteps ?? 1000, 2, 1_000_000);
  const b0 = finite("beta_start", config.beta_start ?? 0.0001);
  const b1 = finite("beta_end", config.beta_end ?? 0.02);
  const betas = new Float64Array(T);
  if (config.trained_betas) {
    if (config.trained_betas.length !== T) throw new ArgumentError("trained_betas", `must have num_train_timesteps (${T}) values`);
    for (let i = 0; i < T; i++) betas[i] = fround(finite(`trained_betas[${i}]`, config.trained_betas[i]));
  } else {
    const kind = oneOf("beta_schedule", config.beta_schedule ?? "linear", ["linear", "scaled_linear", "squaredcos_cap_v2"] as const);
    for (let i = 0; i < T; i++) {
      if (kind === "linear") betas[i] = fround(b0 + ((b1 - b0) * i) / (T - 1));
      else if (kind === "scaled_linear") {
        const r = fround(Math.sqrt(b0) + ((Math.sqrt(b1) - Math.sqrt(b0)) * i) / (T - 1));
        betas[i] = fround(r * r);
      } else betas[i] = fround(Math.min(1 - cosineAlphaBar((i + 1) / T) / cosineAlphaBar(i / T), 0.999));
    }
  }
  const ac = new Float64Array(T);
  let p = 1;
  for (let i = 0; i < T; i++) {
    p *= fround(1 - betas[i]);
    ac[i] = fround(p);
  }
  return ac;
}

/** A plan: everything needed to run a diffusers scheduler's sampling loop with our samplers. */
export interface DiffusersPlan {
  scheduler: DiffusersSchedulerName;
  sampler: SamplerName;
  samplerOptions: Record<string, unknown>;
  /** VE sigmas, descending; ends in 0 (or in sigma(t=0) for DDIM with set_alpha_to_one = false). */
  sigmas: Float64Array;
  /** The timestep diffusers passes to the model at each sigmas[i] (i < steps), 0-indexed. */
  timesteps: Float64Array;
  /** The scale diffusers multiplies the initial noise by (scheduler.init_noise_sigma). */
  initNoiseSigma: number;
  /** "vp": diffusers' sample is x_vp = alpha x (DDPM, DDIM, DPM-Solver); "ve": it is x (Euler, Heun). */
  space: "vp" | "ve";
  prediction: Prediction;
  clip?: number;
  alphasCumprod: Float64Array;
  /** Where the mapping is not exact (diffusers' own quirks), said plainly. */
  notes: string[];
}

/** numpy's round (half to even). */
function npRound(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Build the plan of `scheduler` with `config` for `steps` inference steps. */
export function diffusersPlan(scheduler: DiffusersSchedulerName, config: DiffusersConfig, steps: number): DiffusersPlan {
  oneOf("scheduler", scheduler, DIFFUSERS_SCHEDULERS);
  if (!config || typeof config !== "object") throw new ArgumentError("config", "must be a scheduler config object");
  const ac = diffusersAlphasCumprod(config);
  const T = ac.length;
  int("steps", steps, 1, T);
  const predType = oneOf("prediction_type", config.prediction_type ?? "epsilon", ["epsilon", "sample", "v_prediction"] as const);
  const prediction: Prediction = predType === "epsilon" ? "eps" : predType === "sample" ? "x0" : "v";
  const isK = scheduler === "EulerDiscreteScheduler" || scheduler === "HeunDiscreteScheduler";
  const isDpm = scheduler === "DPMSolverMultistepScheduler";
  const spacing = oneOf("timestep_spacing", config.timestep_spacing ?? (isK || isDpm ? "linspace" : "leading"), ["leading", "trailing", "linspace"] as const);
  const offset = int("steps_offset", config.steps_offset ?? 0, 0, T - 1);
  const notes: string[] = [];
  // the float32 sigma table ((1 - ac) / ac) ** 0.5, as diffusers computes it in PyTorch
  const table = new Float64Array(T);
  for (let t = 0; t < T; t++) table[t] = fround(Math.sqrt(fround(fround(1 - ac[t]) / ac[t])));
  const veOf = (t: number) => Math.sqrt((1 - ac[t]) / ac[t]); // exact VE sigma of a VP timestep
  let ts: number[];
  if (isDpm) {
    if (spacing === "linspace") ts = Array.from({ length: steps + 1 }, (_, i) => npRound(((T - 1) * i) / steps)).reverse().slice(0, steps);
    else if (spacing === "leading") {
      const r = Math.floor(T / (steps + 1));
      ts = Array.from({ length: steps + 1 }, (_, i) => i * r).reverse().slice(0, steps).map((v) => v + offset);
    } else ts = arangeDown(T, T / steps).map((v) => npRound(v) - 1);
  } else if (isK) {
    if (spacing === "linspace") ts = Array.from({ length: steps }, (_, i) => fround(steps === 1 ? 0 : ((T - 1) * i) / (steps - 1))).reverse();
    else if (spacing === "leading") {
      const r = Math.floor(T / steps);
      ts = Array.from({ length: steps }, (_, i) => npRound(i * r) + offset).reverse();
    } else ts = arangeDown(T, T / steps).map((v) => npRound(v) - 1);
  } else {
    if (spacing === "linspace") ts = Array.from({ length: steps }, (_, i) => npRound(steps === 1 ? 0 : ((T - 1) * i) / (steps - 1))).reverse();
    else if (spacing === "leading") {
      const r = Math.floor(T / steps);
      ts = Array.from({ length: steps }, (_, i) => i * r + offset).reverse();
    } else ts = arangeDown(T, T / steps).map((v) => npRound(v) - 1);
  }
  for (const t of ts) if (t < 0 || t > T - 1) throw new ArgumentError("steps_offset", `puts timestep ${t} outside [0, ${T - 1}]`);
  let sig: number[];
  let sampler: SamplerName;
  const samplerOptions: Record<string, unknown> = {};
  let initNoiseSigma = 1;
  let space: "vp" | "ve" = "vp";
  const clip = config.clip_sample ? positive("clip_sample_range", config.clip_sample_range ?? 1) : undefined;
  if (isK || (isDpm && config.use_karras_sigmas)) {
    // np.interp(timesteps, arange(T), table), float64 on the float32 table
    let s = ts.map((t) => {
      const lo = Math.floor(t);
      return lo >= T - 1 ? table[T - 1] : table[lo] + (t - lo) * (table[lo + 1] - table[lo]);
    });
    if (isDpm) s = ts.map((t) => table[t]);
    if (config.use_karras_sigmas) {
      const logTable = table.map((v) => dlog(v));
      const smin = s[s.length - 1];
      const smax = s[0];
      const a = dpow(smax, 1 / 7);
      const b = dpow(smin, 1 / 7);
      s = Array.from({ length: steps }, (_, i) => dpow(a + (steps === 1 ? 0 : i / (steps - 1)) * (b - a), 7));
      ts = s.map((v) => sigmaToT(v, logTable));
      if (isDpm) ts = ts.map(npRound);
    }
    sig = s.map((v) => fround(v));
    if (isK) ts = ts.map((v) => fround(v));
  } else if (isDpm) {
    sig = ts.map((t) => table[t]);
  } else {
    sig = ts.map((t) => veOf(t));
  }
  if (isK) {
    space = "ve";
    sampler = scheduler === "EulerDiscreteScheduler" ? "euler" : "heun";
    initNoiseSigma = spacing === "leading" ? Math.sqrt(sig[0] * sig[0] + 1) : sig[0];
    initNoiseSigma = fround(initNoiseSigma);
    if (clip !== undefined) notes.push("clip_sample is not a k-diffusion scheduler option; the x0 estimate is clipped anyway");
  } else if (isDpm) {
    const alg = oneOf("algorithm_type", config.algorithm_type ?? "dpmsolver++", ["dpmsolver++", "sde-dpmsolver++"] as const);
    const order = int("solver_order", config.solver_order ?? 2, 1, 2);
    const solverType = oneOf("solver_type", config.solver_type ?? "midpoint", ["midpoint", "heun"] as const);
    if (order === 1) sampler = alg === "dpmsolver++" ? "ddim" : "dpmpp_2m_sde";
    else sampler = alg === "dpmsolver++" ? "dpmpp_2m" : "dpmpp_2m_sde";
    if (alg === "sde-dpmsolver++") Object.assign(samplerOptions, { eta: 1, solverType });
    if (alg === "dpmsolver++" && solverType === "heun") notes.push('solver_type "heun" of the ODE solver is run as "midpoint"');
    if (config.lower_order_final === false) notes.push("the step to sigma = 0 is always first order (as diffusers does with final_sigmas_type \"zero\")");
    if (order === 1 && alg === "sde-dpmsolver++") notes.push("solver_order 1 SDE is run as 2M SDE");
  } else if (scheduler === "DDIMScheduler") {
    sampler = "ddim";
    const r = Math.floor(T / steps);
    for (let i = 0; i + 1 < ts.length; i++) {
      if (ts[i] - r !== ts[i + 1]) {
        notes.push(`diffusers' DDIM steps from t to t - ${r}, not to the next timestep, with this spacing; we step to the next timestep`);
        break;
      }
    }
  } else {
    sampler = "ddpm";
    const vt = oneOf("variance_type", config.variance_type ?? "fixed_small", ["fixed_small", "fixed_large"] as const);
    samplerOptions.variance = vt === "fixed_small" ? "betaTilde" : "beta";
  }
  // the final sigma
  if (scheduler === "DDIMScheduler" && config.set_alpha_to_one === false) sig.push(veOf(0));
  else sig.push(0);
  return {
    scheduler,
    sampler,
    samplerOptions,
    sigmas: Float64Array.from(sig),
    timesteps: Float64Array.from(ts),
    initNoiseSigma,
    space,
    prediction,
    clip,
    alphasCumprod: ac,
    notes,
  };
}

function arangeDown(start: number, step: number): number[] {
  const out: number[] = [];
  for (let i = 0; start - i * step > 0; i++) out.push(start - i * step);
  return out;
}

/**
 * Run a plan: `latents` as diffusers' pipeline would pass them (noise times initNoiseSigma), returned in
 * diffusers' output space. The stochastic schedulers draw their noise from opts.rng (not torch's), so
 * they match diffusers in distribution, and exactly given the same noise. The whole loop runs in one
 * call (for a run in pieces, call plan.sampler's function on plan.sigmas with `from`).
 */
export function sampleDiffusers(
  plan: DiffusersPlan,
  model: DiffusersModel,
  latents: Float32Array,
  opts: Omit<SamplerOptions, "from" | "maxSteps" | "openEnd"> & Record<string, unknown> = {},
): Float32Array {
  f32("latents", latents);
  itemSize("latents", latents, opts.batch ?? 1);
  if (opts.from !== undefined || opts.maxSteps !== undefined) throw new ArgumentError(opts.from !== undefined ? "from" : "maxSteps", "sampleDiffusers runs the whole loop");
  const s0 = plan.sigmas[0];
  const toVe = plan.space === "vp" ? veScale(s0) : 1;
  const x = new Float32Array(latents.length);
  for (let j = 0; j < x.length; j++) x[j] = latents[j] * toVe;
  const last = plan.sigmas[plan.sigmas.length - 1];
  // DDIM with set_alpha_to_one = false ends at sigma(t = 0) > 0: an open-ended schedule
  const { x: y } = getSampler(plan.sampler)(diffusersDenoiser(plan, model), x, plan.sigmas, { ...plan.samplerOptions, ...opts, openEnd: last > 0 });
  if (plan.space === "vp" && last > 0) {
    const a = vpFromVeSigma(last).alpha;
    for (let j = 0; j < y.length; j++) y[j] *= a;
  }
  return y;
}
