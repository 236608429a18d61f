// The config keys and the set_timesteps table of diffusers' discrete sigma-space schedulers (LMS, Euler,
// Euler ancestral, Heun, KDPM2, KDPM2 ancestral): timesteps by spacing (or given), their sigmas
// interpolated from the training table, optionally respaced (Karras / exponential / beta) with the
// timesteps mapped back by log-sigma interpolation.

import { ArgumentError } from "../../validate.ts";
import { bool, choice, integer, nullable, num, type ConfigSpec } from "./config.ts";
import { interpSigmas, respace, sigmaSpacingOf, sigmaToTimestep, spacedTimesteps, TIMESTEP_SPACINGS, type TimestepSpacing } from "./discrete-sigmas.ts";
import { PREDICTION_TYPES } from "./sigma-base.ts";

/** prediction_type with the values a class implements; the others are rejected naming why. */
export function predictionKey(implemented: readonly string[] = PREDICTION_TYPES): ConfigSpec[string] {
  return {
    default: "epsilon",
    check: (key, v) => {
      if (PREDICTION_TYPES.includes(v as never) && !implemented.includes(v as string)) {
        throw new ArgumentError(key, `${JSON.stringify(v)} is not implemented by this scheduler in diffusers either; use one of ${implemented.map((s) => JSON.stringify(s)).join(", ")}`);
      }
      return choice(implemented)(key, v);
    },
  };
}

export const SPACING_FLAG_KEYS: ConfigSpec = {
  use_karras_sigmas: { default: false, check: bool },
  use_exponential_sigmas: { default: false, check: bool },
  use_beta_sigmas: { default: false, check: bool },
};

export const TIMESTEP_KEYS: ConfigSpec = {
  timestep_spacing: { default: "linspace", check: choice(TIMESTEP_SPACINGS) },
  steps_offset: { default: 0, check: integer(0, 100_000) },
};

export const SIGMA_RANGE_KEYS: ConfigSpec = {
  sigma_min: { default: null, check: nullable(num(0, Infinity, { openLo: true })) },
  sigma_max: { default: null, check: nullable(num(0, Infinity, { openLo: true })) },
};

export const FINAL_SIGMAS_KEY: ConfigSpec = {
  final_sigmas_type: { default: "zero", check: choice(["zero", "sigma_min"]) },
};

/**
 * set_timesteps' table before the final sigma: the timesteps (float32 values, or float64 where a
 * respacing maps sigmas back to fractional timesteps) and their float64 sigmas.
 */
export function discreteSchedule(
  config: Readonly<Record<string, unknown>>,
  table: Float32Array,
  logSigmas: Float64Array,
  n: number,
  customTimesteps?: ArrayLike<number>,
  numTrain = config.num_train_timesteps as number,
): { timesteps: Float64Array; sigmas: Float64Array } {
  const timesteps = customTimesteps
    ? Float64Array.from(customTimesteps, Math.fround)
    : spacedTimesteps(config.timestep_spacing as TimestepSpacing, numTrain, n, config.steps_offset as number);
  return respaced(config, timesteps, interpSigmas(timesteps, table), logSigmas, n);
}

/**
 * The use_karras_sigmas / use_exponential_sigmas / use_beta_sigmas step of set_timesteps: respace the
 * sigmas (between config sigma_min / sigma_max where the class has them, else their ends) and map them
 * back to fractional timesteps; unchanged when no flag is set.
 */
export function respaced(
  config: Readonly<Record<string, unknown>>,
  timesteps: Float64Array,
  sigmas: Float64Array,
  logSigmas: Float64Array,
  n: number,
): { timesteps: Float64Array; sigmas: Float64Array } {
  const spacing = sigmaSpacingOf(config);
  if (spacing === null) return { timesteps, sigmas };
  const s = respace(spacing, sigmas, n, { sigmaMin: config.sigma_min as number | null, sigmaMax: config.sigma_max as number | null });
  return { timesteps: s.map((v) => sigmaToTimestep(v, logSigmas)), sigmas: s };
}

/** Custom timesteps are diffusers' ValueError with a respacing flag set. */
export function refuseCustomWithSpacing(config: Readonly<Record<string, unknown>>, custom: unknown): void {
  const spacing = sigmaSpacingOf(config);
  if (custom !== undefined && spacing !== null) throw new ArgumentError("timesteps", `cannot be set with use_${spacing}_sigmas`);
}
