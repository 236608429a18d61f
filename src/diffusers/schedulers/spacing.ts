// diffusers' integer timestep tables for n inference steps out of T training steps (Lin et al. 2023,
// "Common Diffusion Noise Schedules and Sample Steps are Flawed", Table 2), with numpy's float64
// arithmetic: "leading" (arange(n) * (T // n) + steps_offset), "trailing" (round(arange(T, 0, -T / n)) - 1)
// and "linspace" (round(linspace(0, T - 1, n))). Descending, as diffusers returns them.

import { ArgumentError } from "../../validate.ts";
import { npArange, npLinspace, npRound } from "./numpy.ts";

export type Spacing = "leading" | "trailing" | "linspace";

export function integerTimesteps(spacing: Spacing, T: number, n: number, stepsOffset: number): Float64Array {
  let ts: number[];
  if (spacing === "linspace") ts = Array.from(npLinspace(0, T - 1, n), npRound).reverse();
  else if (spacing === "leading") {
    const ratio = Math.floor(T / n);
    ts = Array.from({ length: n }, (_, i) => i * ratio + stepsOffset).reverse();
  } else ts = Array.from(npArange(T, 0, -T / n), (v) => npRound(v) - 1);
  for (const t of ts) {
    if (t < 0 || t > T - 1) throw new ArgumentError("steps_offset", `puts timestep ${t} outside [0, ${T - 1}] with ${n} steps`);
  }
  return Float64Array.from(ts);
}

/** The step count of setTimesteps: an integer in [1, T]. */
export function checkStepCount(n: unknown, T: number): number {
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > T) {
    throw new ArgumentError("numInferenceSteps", `must be an integer in [1, ${T}] (num_train_timesteps), got ${String(n)}`);
  }
  return n;
}

/** Custom integer timesteps (diffusers' `timesteps=`): strictly descending integers in [0, T). */
export function checkCustomTimesteps(ts: ArrayLike<number>, T: number): Float64Array {
  if (!ts || typeof ts.length !== "number" || ts.length < 1) throw new ArgumentError("timesteps", "must be a non-empty array of integers");
  const out = Float64Array.from(ts);
  for (let i = 0; i < out.length; i++) {
    if (!Number.isInteger(out[i]) || out[i] < 0) throw new ArgumentError(`timesteps[${i}]`, `must be an integer >= 0, got ${out[i]}`);
    if (i > 0 && out[i] >= out[i - 1]) throw new ArgumentError("timesteps", `must be in descending order, got ${out[i - 1]} then ${out[i]}`);
  }
  if (out[0] >= T) throw new ArgumentError("timesteps", `must start below num_train_timesteps (${T}), got ${out[0]}`);
  return out;
}
