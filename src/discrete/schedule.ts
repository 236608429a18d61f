// Masking schedules of discrete (masked) diffusion: α(t) is the probability that a token of x_0 is still
// itself at time t ∈ [0, 1], falling from α(0) = 1 to α(1) = 0 (MDLM, Sahoo et al. 2024, §3.1; D3PM,
// Austin et al. 2021, writes ᾱ_t for the same product of (1 − β_s)). Scalar math in float64 with the
// deterministic cos/sin of src/math, so a seed gives the same tokens in every runtime.

import { dcos, dsin } from "../math/detmath.ts";
import { ArgumentError, int } from "../validate.ts";

/** A continuous-time masking schedule: α(t) and its derivative α'(t) on [0, 1]. */
export interface MaskSchedule {
  readonly name: MaskScheduleName;
  alpha(t: number): number;
  dalpha(t: number): number;
}

export const MASK_SCHEDULE_NAMES = ["linear", "cosine"] as const;
export type MaskScheduleName = (typeof MASK_SCHEDULE_NAMES)[number];

/** MDLM's linear schedule α_t = 1 − t: its ELBO weight −α'/(1 − α) is 1/t (MDLM eq. 11). */
export const LINEAR: MaskSchedule = {
  name: "linear",
  alpha: (t) => 1 - t,
  dalpha: () => -1,
};

/**
 * The cosine schedule α_t = 1 − cos(π/2 (1 − t)) (MDLM Table 8; MaskGIT's mask ratio cos(π r / 2),
 * Chang et al. 2022, eq. 4, read as a function of time): masks slowly at first, fast at the end.
 */
export const COSINE: MaskSchedule = {
  name: "cosine",
  alpha: (t) => 1 - dcos((Math.PI / 2) * (1 - t)),
  dalpha: (t) => -(Math.PI / 2) * dsin((Math.PI / 2) * (1 - t)),
};

export function maskSchedule(name: string): MaskSchedule {
  if (name === "linear") return LINEAR;
  if (name === "cosine") return COSINE;
  throw new ArgumentError("schedule", `must be one of ${MASK_SCHEDULE_NAMES.map((n) => JSON.stringify(n)).join(", ")}, got ${JSON.stringify(name)}`);
}

/**
 * A discrete-time process of T steps as its survival probabilities α_0 = 1 ≥ α_1 ≥ ... ≥ α_T = 0
 * (length T + 1): step t keeps a token with probability α_t / α_{t−1}.
 */
export function discreteAlphas(schedule: MaskSchedule, T: number): Float64Array {
  int("T", T, 1, 1e7);
  const a = new Float64Array(T + 1);
  for (let t = 0; t <= T; t++) a[t] = t === 0 ? 1 : t === T ? 0 : Math.min(1, Math.max(0, schedule.alpha(t / T)));
  return a;
}

/**
 * D3PM's schedule for absorbing-state diffusion, β_t = 1/(T − t + 1) for t = 1..T (Austin et al. 2021,
 * §4, after Sohl-Dickstein et al. 2015): every step removes the same share 1/T of the mutual information
 * between x_t and x_0. Returned as the betas (index 0 unused, 0).
 */
export function d3pmBetas(T: number): Float64Array {
  int("T", T, 1, 1e7);
  const b = new Float64Array(T + 1);
  for (let t = 1; t <= T; t++) b[t] = 1 / (T - t + 1);
  return b;
}

/** ᾱ_t = Π_{s ≤ t} (1 − β_s) (D3PM §3.1), length T + 1 with ᾱ_0 = 1. For d3pmBetas this is 1 − t/T. */
export function alphasFromBetas(betas: Float64Array): Float64Array {
  const a = new Float64Array(betas.length);
  a[0] = 1;
  for (let t = 1; t < betas.length; t++) a[t] = a[t - 1] * (1 - betas[t]);
  return a;
}

/** β_t = 1 − α_t / α_{t−1}, the one-step corruption probability (β_t = 1 once α_{t−1} = 0). */
export function betasFromAlphas(alphas: Float64Array): Float64Array {
  const b = new Float64Array(alphas.length);
  for (let t = 1; t < alphas.length; t++) b[t] = alphas[t - 1] > 0 ? 1 - alphas[t] / alphas[t - 1] : 1;
  return b;
}

/** Check a survival sequence: starts at 1, non-increasing, in [0, 1]. */
export function checkAlphas(alphas: Float64Array, arg = "alphas"): Float64Array {
  if (!(alphas instanceof Float64Array) || alphas.length < 2) throw new ArgumentError(arg, "must be a Float64Array of at least 2 values (α_0 .. α_T)");
  if (alphas[0] !== 1) throw new ArgumentError(arg, `must start at α_0 = 1, got ${alphas[0]}`);
  for (let t = 1; t < alphas.length; t++) {
    if (!(alphas[t] >= 0 && alphas[t] <= alphas[t - 1])) throw new ArgumentError(`${arg}[${t}]`, `must be in [0, α_${t - 1} = ${alphas[t - 1]}], got ${alphas[t]}`);
  }
  return alphas;
}
