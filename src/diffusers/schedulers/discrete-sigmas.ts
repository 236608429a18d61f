// The timestep and sigma tables of diffusers' sigma-space (k-diffusion style) schedulers, with numpy's
// and PyTorch's arithmetic where diffusers uses them: timestep spacing (Lin et al. 2023, "Common Diffusion
// Noise Schedules and Sample Steps are Flawed", Table 2), sigmas interpolated from the training table,
// and the Karras (EDM eq. 5), exponential and beta ("Beta Sampling is All You Need") sigma spacings.

import { dexp, dlog, dpow } from "../../math/detmath.ts";
import { ArgumentError } from "../../validate.ts";
import { betaPpf } from "./beta-distribution.ts";
import { npArange, npInterp, npLinspace, npRound } from "./numpy.ts";

const fround = Math.fround;

export const TIMESTEP_SPACINGS = ["linspace", "leading", "trailing"] as const;
export type TimestepSpacing = (typeof TIMESTEP_SPACINGS)[number];

/**
 * diffusers' inference timesteps, descending, as float32 values: "linspace" np.linspace(0, T - 1, n);
 * "leading" round(arange(n) * (T // n)) + steps_offset; "trailing" round(arange(T, 0, -T / n)) - 1.
 */
export function spacedTimesteps(spacing: TimestepSpacing, T: number, n: number, stepsOffset: number): Float64Array {
  if (spacing === "linspace") return npLinspace(0, T - 1, n).reverse().map(fround);
  if (spacing === "leading") {
    const ratio = Math.floor(T / n);
    return npArange(0, n).map((i) => fround(fround(npRound(i * ratio)) + stepsOffset)).reverse();
  }
  const ratio = T / n;
  return npArange(T, 0, -ratio).map((v) => fround(fround(npRound(v)) - 1));
}

/** np.interp(timesteps, arange(T), table): each timestep's sigma, linear between table entries (float64). */
export function interpSigmas(timesteps: ArrayLike<number>, table: Float32Array): Float64Array {
  const xp = npArange(0, table.length);
  return Float64Array.from(timesteps, (t) => npInterp(t, xp, table));
}

/** np.log of the float32 sigma table, in float32 as numpy computes it (the table _sigma_to_t interpolates in). */
export function logSigmaTable(table: Float32Array): Float64Array {
  return Float64Array.from(table, (s) => fround(dlog(s)));
}

/**
 * diffusers' _sigma_to_t: the fractional training timestep of sigma, linear in log sigma between the two
 * table entries around it (clamped to the table's ends); `logSigmas` ascends with t.
 */
export function sigmaToTimestep(sigma: number, logSigmas: ArrayLike<number>): number {
  const ls = dlog(Math.max(sigma, 1e-10));
  let low = 0;
  for (let i = 0; i < logSigmas.length; i++) if (ls - logSigmas[i] >= 0) low = i;
  low = Math.min(low, logSigmas.length - 2);
  // numpy subtracts the two float32 table entries in float32
  const w = Math.min(1, Math.max(0, (logSigmas[low] - ls) / fround(logSigmas[low] - logSigmas[low + 1])));
  return (1 - w) * low + w * (low + 1);
}

/** Karras et al. 2022 (EDM) eq. 5 over a ramp in [0, 1]: (max^(1/rho) + ramp (min^(1/rho) - max^(1/rho)))^rho. */
export function karrasOfRamp(ramp: ArrayLike<number>, sigmaMin: number, sigmaMax: number, rho = 7): Float64Array {
  const lo = dpow(sigmaMin, 1 / rho);
  const hi = dpow(sigmaMax, 1 / rho);
  return Float64Array.from(ramp, (r) => dpow(hi + r * (lo - hi), rho));
}

/** n Karras sigmas from sigmaMax down to sigmaMin (diffusers' _convert_to_karras, ramp = np.linspace(0, 1, n)). */
export function karrasSpacing(sigmaMin: number, sigmaMax: number, n: number, rho = 7): Float64Array {
  return karrasOfRamp(npLinspace(0, 1, n), sigmaMin, sigmaMax, rho);
}

/** n sigmas uniform in log sigma from sigmaMax down to sigmaMin (diffusers' _convert_to_exponential). */
export function exponentialSpacing(sigmaMin: number, sigmaMax: number, n: number): Float64Array {
  return npLinspace(dlog(sigmaMax), dlog(sigmaMin), n).map(dexp);
}

/**
 * n sigmas at the beta(alpha, beta) distribution's quantiles of 1 - linspace(0, 1, n), scaled to
 * [sigmaMin, sigmaMax] (Lee et al. 2024, "Beta Sampling is All You Need"; diffusers' _convert_to_beta).
 */
export function betaSpacing(sigmaMin: number, sigmaMax: number, n: number, alpha = 0.6, beta = 0.6): Float64Array {
  return npLinspace(0, 1, n).map((r) => sigmaMin + betaPpf(1 - r, alpha, beta) * (sigmaMax - sigmaMin));
}

/** The three sigma spacings diffusers' use_*_sigmas flags select. */
export type SigmaSpacing = "karras" | "exponential" | "beta";

/**
 * Which of use_karras_sigmas / use_exponential_sigmas / use_beta_sigmas a config sets (null for none);
 * setting more than one is diffusers' ValueError, an ArgumentError here.
 */
export function sigmaSpacingOf(config: Readonly<Record<string, unknown>>): SigmaSpacing | null {
  const set = (["karras", "exponential", "beta"] as const).filter((k) => config[`use_${k}_sigmas`] === true);
  if (set.length > 1) {
    throw new ArgumentError(`use_${set[1]}_sigmas`, `cannot be combined with use_${set[0]}_sigmas: only one of use_beta_sigmas, use_exponential_sigmas, use_karras_sigmas can be set`);
  }
  return set[0] ?? null;
}

/** Respace interpolated sigmas (descending) with a spacing, between sigmaMin / sigmaMax or their ends. */
export function respace(spacing: SigmaSpacing, sigmas: ArrayLike<number>, n: number, range: { sigmaMin?: number | null; sigmaMax?: number | null } = {}): Float64Array {
  const lo = range.sigmaMin ?? sigmas[sigmas.length - 1];
  const hi = range.sigmaMax ?? sigmas[0];
  if (spacing === "karras") return karrasSpacing(lo, hi, n);
  if (spacing === "exponential") return exponentialSpacing(lo, hi, n);
  return betaSpacing(lo, hi, n);
}
