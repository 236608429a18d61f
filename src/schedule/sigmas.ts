// Sigma sequences for samplers: VE-space noise levels (sigma/alpha), a Float64Array in descending
// order ending in 0, so every sampler loops over (sigma_i, sigma_{i+1}) pairs and lands on the data.

import { dexp, dlog, dpow } from "../math/detmath.ts";
import { ArgumentError, finite, inRange, int, oneOf, positive } from "../validate.ts";
import type { DiscreteSchedule } from "./discrete.ts";
import { type Schedule, veSigma } from "./types.ts";

function checkRange(sigmaMin: number, sigmaMax: number): void {
  positive("sigmaMin", sigmaMin);
  finite("sigmaMax", sigmaMax);
  if (!(sigmaMax > sigmaMin)) throw new ArgumentError("sigmaMax", `must be > sigmaMin (${sigmaMin}), got ${sigmaMax}`);
}

function withZero(s: Float64Array): Float64Array {
  const out = new Float64Array(s.length + 1);
  out.set(s);
  return out;
}

/**
 * Karras et al. 2022 (EDM) eq. 5: sigma_i = (sigmaMax^(1/rho) + i/(n-1) (sigmaMin^(1/rho) -
 * sigmaMax^(1/rho)))^rho for i < n, then 0. rho = 7 spends more steps at low noise.
 */
export function karrasSigmas(n: number, sigmaMin: number, sigmaMax: number, rho = 7): Float64Array {
  int("n", n, 1);
  checkRange(sigmaMin, sigmaMax);
  positive("rho", rho);
  const a = dpow(sigmaMax, 1 / rho);
  const b = dpow(sigmaMin, 1 / rho);
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) s[i] = n === 1 ? sigmaMax : dpow(a + (i / (n - 1)) * (b - a), rho);
  return withZero(s);
}

/** Log-uniform sigmas from sigmaMax down to sigmaMin (n of them), then 0 (k-diffusion's "exponential"). */
export function exponentialSigmas(n: number, sigmaMin: number, sigmaMax: number): Float64Array {
  int("n", n, 1);
  checkRange(sigmaMin, sigmaMax);
  const la = dlog(sigmaMax);
  const lb = dlog(sigmaMin);
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) s[i] = n === 1 ? sigmaMax : dexp(la + (i / (n - 1)) * (lb - la));
  return withZero(s);
}

/**
 * Sigmas at n times uniform in t from tStart down to tEnd (score SDE's samplers step uniformly in t),
 * then 0. The defaults are the schedule's tMax and, for tEnd, the smallest t with a non-zero sigma that
 * score_sde uses: 1e-3 for a continuous VP schedule (sigma(0) = 0), t = 1 for a discrete one, tMin else.
 */
export function uniformTimeSigmas(
  schedule: Schedule,
  n: number,
  opts: { tStart?: number; tEnd?: number } = {},
): Float64Array {
  int("n", n, 1);
  const defEnd = schedule.discrete ? 1 : schedule.variancePreserving ? schedule.tMin + 1e-3 : schedule.tMin;
  const t0 = inRange("tStart", opts.tStart ?? schedule.tMax, schedule.tMin, schedule.tMax);
  const t1 = inRange("tEnd", opts.tEnd ?? defEnd, schedule.tMin, t0);
  if (veSigma(schedule, t1) === 0) throw new ArgumentError("tEnd", `must have sigma > 0 in ${schedule.name}, got t = ${t1}`);
  if (n > 1 && !(t0 > t1)) throw new ArgumentError("tStart", `must be > tEnd (${t1}) for n > 1, got ${t0}`);
  const s = new Float64Array(n);
  // the last time is t1 itself: t0 + (t1 - t0) can round below t1, out of the schedule's domain at tMin
  for (let i = 0; i < n; i++) s[i] = veSigma(schedule, n === 1 ? t0 : i === n - 1 ? t1 : t0 + (i / (n - 1)) * (t1 - t0));
  return withZero(s);
}

export type TimestepSpacing = "leading" | "trailing" | "linspace";

/**
 * The timesteps a discrete model is evaluated at for an n-step sampler, following diffusers' spacings
 * (Lin et al. 2023, Table 2): "linspace" rounds linspace(0, T-1, n); "leading" takes multiples of T//n
 * (+ stepsOffset); "trailing" counts down from T-1 in steps of T/n. diffusers numbers steps 0..T-1; we
 * number them 1..T (t = 0 is the data), so each is returned + 1. Descending.
 */
export function discreteTimesteps(
  schedule: DiscreteSchedule,
  n: number,
  spacing: TimestepSpacing = "leading",
  stepsOffset = 0,
): Float64Array {
  if (!schedule || schedule.discrete !== true || typeof schedule.T !== "number") {
    throw new ArgumentError("schedule", `must be a discrete schedule (DiscreteSchedule), got ${schedule ? (schedule as Schedule).name : schedule}`);
  }
  const T = schedule.T;
  int("n", n, 1, T);
  oneOf("spacing", spacing, ["leading", "trailing", "linspace"] as const);
  int("stepsOffset", stepsOffset, 0, T - 1);
  const k = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let v: number;
    if (spacing === "linspace") v = n === 1 ? 0 : roundHalfEven(((T - 1) * i) / (n - 1));
    else if (spacing === "leading") v = i * Math.floor(T / n) + stepsOffset;
    else v = roundHalfEven(T - (i * T) / n) - 1;
    k[i] = v;
  }
  if (spacing !== "trailing") k.reverse();
  for (let i = 0; i < n; i++) {
    if (k[i] > T - 1) throw new ArgumentError("stepsOffset", `puts timestep ${k[i]} past T-1 = ${T - 1}`);
    k[i] += 1;
  }
  return k;
}

/** numpy's round: half to even, so timesteps match diffusers exactly. */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** The VE sigmas at a discrete schedule's timesteps (descending), then 0. */
export function sigmasAtTimesteps(schedule: Schedule, timesteps: ArrayLike<number>): Float64Array {
  if (!timesteps || !(timesteps.length >= 1)) throw new ArgumentError("timesteps", "must have at least one timestep, got 0");
  const s = new Float64Array(timesteps.length + 1);
  for (let i = 0; i < timesteps.length; i++) {
    s[i] = veSigma(schedule, timesteps[i]);
    // a timestep with sigma = 0 (the data, t = 0) would repeat the closing 0
    if (!(s[i] > 0)) throw new ArgumentError("timesteps", `must each have sigma > 0 in ${schedule.name}, got t = ${timesteps[i]}`);
    if (i > 0 && !(s[i] < s[i - 1])) throw new ArgumentError("timesteps", `must be strictly decreasing, got ${timesteps[i - 1]} then ${timesteps[i]}`);
  }
  return s;
}
