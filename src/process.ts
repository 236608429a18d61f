// The forward process and its posterior.
//
// Marginal (DDPM eq. 4; VDM eq. 1):   q(x_t | x_0) = N(alpha_t x_0, sigma_t^2 I)
// One step (the seed article; DDPM eq. 2): x_t = sqrt(1 - beta_t) x_{t-1} + sqrt(beta_t) eta_t
// Posterior for s < t (DDPM eq. 6-7 for s = t-1; VDM eq. 26-28 in general), written with
// lambda = log SNR so that nothing cancels catastrophically at small t:
//   q(x_s | x_t, x_0) = N(cXt x_t + cX0 x_0, var I)
//   cXt = (alpha_s / alpha_t) e^(lambda_t - lambda_s),  cX0 = -alpha_s expm1(lambda_t - lambda_s),
//   var = -sigma_s^2 expm1(lambda_t - lambda_s).
// For s = t-1 in a discrete schedule these are DDPM's sqrt(alphaBar_{t-1}) beta_t / (1 - alphaBar_t),
// sqrt(alpha_t) (1 - alphaBar_{t-1}) / (1 - alphaBar_t) and betaTilde_t.

import { dexp, dexpm1 } from "./math/detmath.ts";
import type { Rng } from "./rng.ts";
import type { DiscreteSchedule } from "./schedule/discrete.ts";
import type { Schedule } from "./schedule/types.ts";
import { ArgumentError, f32, inRange, int, itemSize, oneOf, sameLength } from "./validate.ts";

/** A per-batch-item scalar: one number for the whole batch or one per item. */
export type PerItem = number | ArrayLike<number>;

function perItem(arg: string, v: PerItem, batch: number): (b: number) => number {
  if (typeof v === "number") return () => v;
  if (v.length !== batch) throw new ArgumentError(arg, `must have one value per batch item (${batch}), got ${v.length}`);
  return (b) => v[b];
}

/**
 * x_t = alpha(t) x_0 + sigma(t) noise for a batch stored flat; t is one time or one per item.
 * Returns `out` (allocated when omitted).
 */
export function qSample(
  schedule: Schedule,
  x0: Float32Array,
  noise: Float32Array,
  t: PerItem,
  batch = 1,
  out?: Float32Array,
): Float32Array {
  f32("x0", x0);
  f32("noise", noise);
  sameLength("x0", x0, "noise", noise);
  const n = itemSize("x0", x0, batch);
  const tb = perItem("t", t, batch);
  const y = out === undefined ? new Float32Array(x0.length) : f32("out", out);
  sameLength("x0", x0, "out", y);
  for (let b = 0; b < batch; b++) {
    const tt = tb(b);
    const a = schedule.alpha(tt);
    const s = schedule.sigma(tt);
    for (let i = b * n; i < (b + 1) * n; i++) y[i] = a * x0[i] + s * noise[i];
  }
  return y;
}

/** One step of the forward chain: x_t = sqrt(1 - beta) x_{t-1} + sqrt(beta) eta (DDPM eq. 2). */
export function forwardStep(xPrev: Float32Array, eta: Float32Array, beta: number, out?: Float32Array): Float32Array {
  f32("xPrev", xPrev);
  f32("eta", eta);
  sameLength("xPrev", xPrev, "eta", eta);
  if (!(beta > 0 && beta <= 1)) throw new ArgumentError("beta", `must be in (0, 1], got ${beta}`);
  const y = out === undefined ? new Float32Array(xPrev.length) : f32("out", out);
  sameLength("xPrev", xPrev, "out", y);
  const a = Math.sqrt(1 - beta);
  const s = Math.sqrt(beta);
  for (let i = 0; i < y.length; i++) y[i] = a * xPrev[i] + s * eta[i];
  return y;
}

/**
 * Run the seed article's chain from x_0 for t steps: eta_s is drawn from rng.stream(s) at the items
 * firstItem.., so the chain of item i is the same in any batch. Computed in float64, returned as float32.
 */
export function forwardChain(
  schedule: DiscreteSchedule,
  x0: Float32Array,
  t: number,
  rng: Rng,
  batch = 1,
  firstItem = 0,
): Float32Array {
  f32("x0", x0);
  int("t", t, 0, schedule.T);
  const n = itemSize("x0", x0, batch);
  int("firstItem", firstItem, 0, Number.MAX_SAFE_INTEGER - batch);
  const x = Float64Array.from(x0);
  const eta = new Float64Array(n);
  for (let s = 1; s <= t; s++) {
    const beta = schedule.beta(s);
    const a = Math.sqrt(1 - beta);
    const sd = Math.sqrt(beta);
    const r = rng.stream(s);
    for (let b = 0; b < batch; b++) {
      r.normal(eta, firstItem + b);
      for (let i = 0; i < n; i++) x[b * n + i] = a * x[b * n + i] + sd * eta[i];
    }
  }
  return Float32Array.from(x);
}

/** Coefficients of q(x_s | x_t, x_0) = N(cXt x_t + cX0 x_0, variance). */
export interface Posterior {
  cXt: number;
  cX0: number;
  variance: number;
}

/** The posterior q(x_s | x_t, x_0) for tMin <= s < t <= tMax (formulas at the top of this file). */
export function posterior(schedule: Schedule, s: number, t: number): Posterior {
  // name the argument that is wrong (schedule methods would call either one "t")
  inRange("t", t, schedule.tMin, schedule.tMax);
  inRange("s", s, schedule.tMin, schedule.tMax);
  if (!(s < t)) throw new ArgumentError("s", `must be < t (${t}), got ${s}`);
  const ls = schedule.logSnr(s);
  const lt = schedule.logSnr(t);
  const as = schedule.alpha(s);
  const at = schedule.alpha(t);
  const ss = schedule.sigma(s);
  if (ls === Infinity) return { cXt: 0, cX0: as, variance: 0 }; // s is the data: x_s = x_0
  const d = lt - ls; // < 0
  const em1 = dexpm1(d);
  // at zero terminal SNR (alpha_t = 0, lambda_t = -inf) x_t says nothing about x_s: cXt = 0, not 0/0
  const e = dexp(d);
  return { cXt: e === 0 ? 0 : (as / at) * e, cX0: -as * em1, variance: -ss * ss * em1 };
}

/**
 * DDPM's reverse-process variance at step t (Ho et al. 2020, sec. 3.2): "beta" uses sigma_t^2 = beta_t
 * (optimal for x_0 ~ N(0, I)), "betaTilde" the posterior variance (optimal for a deterministic x_0).
 */
export function ddpmReverseVariance(schedule: DiscreteSchedule, t: number, choice: "beta" | "betaTilde"): number {
  int("t", t, 1, schedule.T);
  oneOf("choice", choice, ["beta", "betaTilde"] as const);
  return choice === "beta" ? schedule.beta(t) : posterior(schedule, t - 1, t).variance;
}

/** The posterior mean cXt x_t + cX0 x_0 for a batch with one (s, t) pair. */
export function posteriorMean(p: Posterior, xt: Float32Array, x0: Float32Array, out?: Float32Array): Float32Array {
  f32("xt", xt);
  f32("x0", x0);
  sameLength("xt", xt, "x0", x0);
  const y = out === undefined ? new Float32Array(xt.length) : f32("out", out);
  sameLength("xt", xt, "out", y);
  for (let i = 0; i < y.length; i++) y[i] = p.cXt * xt[i] + p.cX0 * x0[i];
  return y;
}
