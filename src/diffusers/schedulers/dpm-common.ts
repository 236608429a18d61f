// What diffusers' DPM-Solver scheduler classes (multistep, inverse, singlestep) share: their config keys,
// the VP training tables, the conversion of a model output to what the solver integrates (x0 for the
// "++" algorithms, eps for the others, Lu et al. 2022b sec. 3), per-item thresholding, and the lookup
// of a timestep in the run's table.

import { ArgumentError } from "../../validate.ts";
import { bool, choice, integer, nullable, num, type Check, type ConfigSpec } from "./config.ts";
import { alphasOf, betaKeys, betasOf, cumprodF32, rescaleZeroTerminalSnrF32, sigmaTableF32 } from "./tables.ts";
import { dynamicThreshold } from "./threshold.ts";
import type { Shape } from "./types.ts";

const fround = Math.fround;

export const DPM_ALGORITHMS = ["dpmsolver", "dpmsolver++", "sde-dpmsolver", "sde-dpmsolver++"] as const;
export type DpmAlgorithmName = (typeof DPM_ALGORITHMS)[number];

/** true, or false with a message that the value is a diffusers option not implemented here. */
function notImplemented(what: string): Check {
  return (key, v) => {
    if (typeof v !== "boolean") throw new ArgumentError(key, `must be true or false, got ${String(v)}`);
    if (v) throw new ArgumentError(key, `true is not implemented here (${what}); allowed: false`);
    return v;
  };
}

/**
 * diffusers maps the algorithm and solver names of its sibling classes onto its own when a config is
 * switched between classes (from_config): "deis" reads as "dpmsolver++", and "logrho", "bh1", "bh2"
 * as "midpoint". The same here, so a DEIS or UniPC config loads as diffusers loads it.
 */
const algorithmType: Check = (key, v) => (v === "deis" ? "dpmsolver++" : choice(DPM_ALGORITHMS)(key, v));
const solverType: Check = (key, v) => (v === "logrho" || v === "bh1" || v === "bh2" ? "midpoint" : choice(["midpoint", "heun"])(key, v));

/** The keys DPMSolverMultistepScheduler's constructor takes (diffusers 0.3x), with its defaults. */
export function dpmMultistepKeys(): ConfigSpec {
  return {
    ...betaKeys({ schedules: ["linear", "scaled_linear", "squaredcos_cap_v2"] }),
    solver_order: { default: 2, check: integer(1, 3) },
    prediction_type: { default: "epsilon", check: choice(["epsilon", "sample", "v_prediction"]) },
    thresholding: { default: false, check: bool },
    dynamic_thresholding_ratio: { default: 0.995, check: num(0, 1) },
    sample_max_value: { default: 1.0, check: num(0, Infinity, { openLo: true }) },
    algorithm_type: { default: "dpmsolver++", check: algorithmType },
    solver_type: { default: "midpoint", check: solverType },
    lower_order_final: { default: true, check: bool },
    euler_at_final: { default: false, check: bool },
    use_karras_sigmas: { default: false, check: bool },
    use_exponential_sigmas: { default: false, check: bool },
    use_beta_sigmas: { default: false, check: bool },
    use_lu_lambdas: { default: false, check: bool },
    use_flow_sigmas: { default: false, check: notImplemented("flow-matching sigmas in the DPM-Solver scheduler; use FlowMatchEulerDiscreteScheduler or UniPCMultistepScheduler") },
    flow_shift: { default: 1.0, check: num(0, Infinity, { openLo: true }) },
    final_sigmas_type: { default: "zero", check: choice(["zero", "sigma_min"]) },
    lambda_min_clipped: { default: -Infinity, check: num(-Infinity, Infinity, { allowInfinite: true }) },
    variance_type: { default: null, check: nullable(choice(["learned", "learned_range"])) },
    timestep_spacing: { default: "linspace", check: choice(["linspace", "leading", "trailing"]) },
    steps_offset: { default: 0, check: integer(0, 100_000) },
    rescale_betas_zero_snr: { default: false, check: bool },
    use_dynamic_shifting: { default: false, check: notImplemented("dynamic shifting goes with use_flow_sigmas") },
    time_shift_type: { default: "exponential", check: choice(["exponential", "linear"]) },
  };
}

/**
 * The keys of DPMSolverMultistepInverseScheduler: the multistep keys without use_lu_lambdas,
 * final_sigmas_type (it ends at the noisiest sigma), zero-SNR rescaling and dynamic shifting.
 */
export function dpmInverseKeys(): ConfigSpec {
  const { use_lu_lambdas, final_sigmas_type, rescale_betas_zero_snr, use_dynamic_shifting, time_shift_type, ...rest } = dpmMultistepKeys();
  return rest;
}

/**
 * The keys of DPMSolverSinglestepScheduler: the multistep keys without timestep_spacing, steps_offset,
 * euler_at_final, use_lu_lambdas, zero-SNR rescaling and dynamic shifting; lower_order_final defaults
 * to false.
 */
export function dpmSinglestepKeys(): ConfigSpec {
  const { timestep_spacing, steps_offset, euler_at_final, use_lu_lambdas, rescale_betas_zero_snr, use_dynamic_shifting, time_shift_type, ...rest } = dpmMultistepKeys();
  return { ...rest, lower_order_final: { default: false, check: bool } };
}

/** The checks between keys diffusers' constructor makes (and the combinations not implemented here). */
export function checkDpmCombination(c: Readonly<Record<string, unknown>>): void {
  const alg = c.algorithm_type as string;
  if ((alg === "dpmsolver" || alg === "sde-dpmsolver") && c.final_sigmas_type === "zero") {
    throw new ArgumentError("final_sigmas_type", `"zero" is not supported with algorithm_type ${JSON.stringify(alg)} (as in diffusers); allowed: "sigma_min"`);
  }
  const schedules = ["use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas"].filter((k) => c[k] === true);
  if (schedules.length > 1) throw new ArgumentError(schedules[1], `only one of use_karras_sigmas, use_exponential_sigmas, use_beta_sigmas may be true; ${schedules[0]} is already`);
  if (alg.startsWith("sde-") && c.solver_order === 3) {
    throw new ArgumentError("solver_order", `3 has no SDE update (diffusers has none for ${alg}); allowed with it: 1, 2`);
  }
}

/** The training tables of a DPM-Solver config, float32 as PyTorch holds them. */
export interface VpTables {
  T: number;
  alphasCumprod: Float32Array;
  /** ((1 - abar) / abar) ** 0.5, index = timestep. */
  sigmas: Float32Array;
  /** lambda_t = log alpha_t - log sigma_t (float32), index = timestep. */
  lambdas: Float32Array;
}

export function vpTables(c: Readonly<Record<string, unknown>>): VpTables {
  let betas = betasOf(c);
  if (c.rescale_betas_zero_snr) betas = rescaleZeroTerminalSnrF32(betas);
  const ac = cumprodF32(alphasOf(betas));
  // diffusers: "close to 0 without being 0 so first sigma is not inf" (FP16's smallest subnormal)
  if (c.rescale_betas_zero_snr) ac[ac.length - 1] = 2 ** -24;
  const lambdas = ac.map((a) => fround(fround(Math.log(fround(Math.sqrt(a)))) - fround(Math.log(fround(Math.sqrt(fround(1 - a)))))));
  return { T: ac.length, alphasCumprod: ac, sigmas: sigmaTableF32(ac), lambdas };
}

/**
 * diffusers' _sigma_to_alpha_sigma_t in float32: alpha_t = 1 / sqrt(sigma^2 + 1), sigma_t = sigma alpha_t
 * (the VP coefficients of the VE sigma).
 */
export function alphaSigmaF32(sigma: number): [number, number] {
  const a = fround(1 / fround(Math.sqrt(fround(fround(sigma * sigma) + 1))));
  return [a, fround(sigma * a)];
}

/** The batch size a step works per item with (opts.shape[0], else one item). */
export function batchOf(shape: Shape | undefined, n: number): number {
  if (shape === undefined) return 1;
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== n) throw new ArgumentError("shape", `must describe the ${n} values of the sample, got [${shape.join(", ")}]`);
  return shape[0];
}

/**
 * With variance_type "learned"/"learned_range" the model returns its variance after the mean channels;
 * diffusers keeps model_output[:, :3]. Here: an output as long as the sample is all mean; one twice as
 * long keeps each item's first half (its first C of 2C channels, = [:, :3] for 3-channel images).
 */
function meanChannels(modelOutput: Float32Array, n: number, batch: number, learned: boolean): Float32Array {
  if (modelOutput.length === n) return modelOutput;
  if (learned && modelOutput.length === 2 * n) {
    const size = n / batch;
    const out = new Float32Array(n);
    for (let b = 0; b < batch; b++) out.set(modelOutput.subarray(2 * b * size, (2 * b + 1) * size), b * size);
    return out;
  }
  throw new ArgumentError("modelOutput", `must hold ${n} values (the sample's)${learned ? ` or ${2 * n} (mean and learned variance)` : ""}, got ${modelOutput.length}`);
}

/**
 * diffusers' convert_model_output: the x0 estimate (for dpmsolver++ and sde-dpmsolver++, thresholded
 * when asked) or the eps estimate (dpmsolver, sde-dpmsolver; thresholding goes through x0 and back), in
 * float32 at the VE sigma of the current step.
 */
export function convertModelOutput(c: Readonly<Record<string, unknown>>, modelOutput: Float32Array, sample: Float32Array, sigma: number, batch: number): Float32Array {
  const n = sample.length;
  const pred = c.prediction_type as string;
  const mo = meanChannels(modelOutput, n, batch, c.variance_type !== null && pred === "epsilon");
  const [at, st] = alphaSigmaF32(sigma);
  const wantX0 = c.algorithm_type === "dpmsolver++" || c.algorithm_type === "sde-dpmsolver++";
  const x0 = new Float32Array(n);
  const eps = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    const x = sample[j];
    const m = mo[j];
    if (pred === "epsilon") {
      eps[j] = m;
      x0[j] = fround(fround(x - fround(st * m)) / at);
    } else if (pred === "sample") {
      x0[j] = m;
      eps[j] = fround(fround(x - fround(at * m)) / st);
    } else {
      x0[j] = fround(fround(at * x) - fround(st * m));
      eps[j] = fround(fround(at * m) + fround(st * x));
    }
  }
  if (wantX0) return c.thresholding ? dynamicThreshold(x0, batch, c.dynamic_thresholding_ratio as number, c.sample_max_value as number) : x0;
  if (!c.thresholding) return eps;
  const t = dynamicThreshold(x0, batch, c.dynamic_thresholding_ratio as number, c.sample_max_value as number);
  for (let j = 0; j < n; j++) eps[j] = fround(fround(sample[j] - fround(at * t[j])) / st);
  return eps;
}

/**
 * diffusers' index_for_timestep: where t is in the run's timesteps, the second match when t repeats (so
 * an img2img run that starts inside the schedule does not skip a sigma). diffusers falls back to the
 * last index for a t that is not there; here that is an error naming t, since it is always a caller's
 * mistake (a timestep from another schedule).
 */
export function indexForTimestep(timesteps: ArrayLike<number>, t: number, name = "t"): number {
  const hits: number[] = [];
  for (let i = 0; i < timesteps.length; i++) if (timesteps[i] === t) hits.push(i);
  if (hits.length === 0) {
    throw new ArgumentError(name, `${t} is not one of this run's timesteps (${Array.from(timesteps).slice(0, 12).join(", ")}${timesteps.length > 12 ? ", ..." : ""})`);
  }
  return hits.length > 1 ? hits[1] : hits[0];
}
