// diffusers' timestep_spacing (Lin et al. 2023, "Common Diffusion Noise Schedules and Sample Steps are
// Flawed", Table 2): which integer training timesteps n inference steps visit, descending, in numpy's
// float64 arithmetic (np.linspace / np.arange, then round half to even).

import { ArgumentError } from "../../validate.ts";
import { npArange, npLinspace, npRound } from "./numpy.ts";

export const TIMESTEP_SPACINGS = ["linspace", "leading", "trailing"] as const;
export type TimestepSpacing = (typeof TIMESTEP_SPACINGS)[number];

/**
 * The n timesteps of `spacing` over [0, lastTimestep) (lastTimestep = num_train_timesteps unless a class
 * clips it): linspace rounds linspace(0, last - 1, n + 1) and drops t = 0; leading takes multiples of
 * last // (n + 1) plus stepsOffset; trailing counts down from last by last / n and subtracts 1. `stepRatioBase`
 * is what trailing divides (diffusers' SA-Solver divides num_train_timesteps even when clipped).
 */
export function spacedTimesteps(spacing: TimestepSpacing, n: number, lastTimestep: number, stepsOffset: number, stepRatioBase = lastTimestep): Float64Array {
  if (!Number.isInteger(n) || n < 1) throw new ArgumentError("numInferenceSteps", `must be an integer >= 1, got ${n}`);
  if (n > lastTimestep) throw new ArgumentError("numInferenceSteps", `must be at most num_train_timesteps (${lastTimestep}), got ${n}`);
  switch (spacing) {
    case "linspace": {
      const l = npLinspace(0, lastTimestep - 1, n + 1);
      return Float64Array.from({ length: n }, (_, i) => npRound(l[n - i]));
    }
    case "leading": {
      const ratio = Math.floor(lastTimestep / (n + 1));
      return Float64Array.from({ length: n }, (_, i) => npRound((n - i) * ratio) + stepsOffset);
    }
    case "trailing": {
      const a = npArange(lastTimestep, 0, -(stepRatioBase / n));
      return a.map((v) => npRound(v) - 1);
    }
    default:
      throw new ArgumentError("timestep_spacing", `must be one of ${TIMESTEP_SPACINGS.join(", ")}, got ${String(spacing)}`);
  }
}
