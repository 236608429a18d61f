// The forward process of discrete diffusion over a vocabulary of K tokens, in its two D3PM forms
// (Austin et al. 2021, §3 and Appendix A.2):
//
// - absorbing ("masked"): K + 1 states, the extra one the mask m = K. One step keeps a token with
//   probability 1 − β_t and turns it into m with probability β_t; m stays m. The marginal is
//   q(x_t | x_0) = α_t δ(x_0) + (1 − α_t) δ(m) (MDLM, Sahoo et al. 2024, eq. 2).
// - uniform: K states; Q_t = (1 − β_t) I + β_t 1 1ᵀ / K (D3PM eq. 6 with the uniform stationary
//   distribution), so q(x_t | x_0) = α_t δ(x_0) + (1 − α_t) / K.
//
// Matrices are row-stochastic, row = from, column = to (D3PM's convention: q(x_t | x_{t−1}) =
// Cat(x_{t−1} Q_t)). Everything here is pure float64 math; the samplers and the ELBO are built on it.

import { ArgumentError, inRange, int } from "../validate.ts";

export type NoiseKind = "absorbing" | "uniform";
export const NOISE_KINDS: readonly NoiseKind[] = ["absorbing", "uniform"];

/** Number of states of the chain: K + 1 with the mask, K without. */
export function stateCount(kind: NoiseKind, K: number): number {
  int("K", K, 1, 1 << 20);
  return kind === "absorbing" ? K + 1 : K;
}

/** The mask token's id in the absorbing process (the last state). */
export const maskId = (K: number): number => K;

/**
 * The transition matrix from "keep with probability a" (a = 1 − β_t for one step, a = α_t for the
 * marginal Q̄_t = Q_1 ⋯ Q_t, a = α_t / α_s for Q_{s→t}): S×S row-major, row = from, column = to.
 */
export function transitionMatrix(kind: NoiseKind, K: number, a: number): Float64Array {
  inRange("a", a, 0, 1);
  const S = stateCount(kind, K);
  const Q = new Float64Array(S * S);
  for (let i = 0; i < S; i++) for (let j = 0; j < S; j++) Q[i * S + j] = transitionProb(kind, K, a, i, j);
  return Q;
}

/** One entry of transitionMatrix: q(to | from) for keep-probability a. */
export function transitionProb(kind: NoiseKind, K: number, a: number, from: number, to: number): number {
  if (kind === "absorbing") {
    if (from === K) return to === K ? 1 : 0; // the mask absorbs
    return (to === from ? a : 0) + (to === K ? 1 - a : 0);
  }
  return (to === from ? a : 0) + (1 - a) / K;
}

/**
 * The posterior q(x_s | x_t, x_0) for s < t, keep probabilities alphaS = α_s ≥ alphaT = α_t, as the
 * Bayes product q(x_t | x_s) q(x_s | x_0) / q(x_t | x_0) (D3PM eq. 3) in closed form; out gets S values.
 * For the absorbing process this is MDLM eq. 4: an unmasked x_t stays; a masked one unmasks to x_0 with
 * probability (α_s − α_t)/(1 − α_t), else stays masked.
 */
export function posterior(kind: NoiseKind, K: number, alphaS: number, alphaT: number, xt: number, x0: number, out = new Float64Array(stateCount(kind, K))): Float64Array {
  checkPair(alphaS, alphaT);
  out.fill(0);
  if (kind === "absorbing") {
    if (xt !== K) {
      out[xt] = 1;
      return out;
    }
    if (alphaT === 1) throw new ArgumentError("alphaT", "is 1: x_t cannot be masked");
    out[x0] = (alphaS - alphaT) / (1 - alphaT);
    out[K] = (1 - alphaS) / (1 - alphaT);
    return out;
  }
  // uniform: q(x_t | x_s) = a δ + (1 − a)/K with a = α_t/α_s; q(x_s | x_0) = α_s δ + (1 − α_s)/K
  const a = alphaS > 0 ? alphaT / alphaS : 1;
  let z = 0;
  for (let j = 0; j < K; j++) {
    out[j] = ((j === xt ? a : 0) + (1 - a) / K) * ((j === x0 ? alphaS : 0) + (1 - alphaS) / K);
    z += out[j];
  }
  for (let j = 0; j < K; j++) out[j] /= z;
  return out;
}

/**
 * The model's reverse step p(x_s | x_t) = Σ_{x_0} q(x_s | x_t, x_0) p̃(x_0 | x_t) from a predicted
 * distribution p̃ over the K tokens (the x_0-parameterisation; D3PM, Austin et al. 2021, §3.4). With the
 * true per-position posterior q(x_0^l | x_t) as p̃ it is the true reverse marginal q(x_s^l | x_t). D3PM's
 * eq. 4 writes Σ q(x_s, x_t | x_0) p̃(x_0) instead, which weights each x_0 by q(x_t | x_0) as well: the
 * same for the absorbing process (q(m | x_0) = 1 − α_t for every x_0), not for the uniform one. For the
 * absorbing process this is MDLM's SUBS step (Sahoo et al. 2024, eq. 7): an unmasked x_t is carried
 * over, a masked one unmasks to x_0 ~ p̃ with probability (α_s − α_t)/(1 − α_t). x0probs has K values
 * summing to 1; out gets S values.
 */
export function reverseStep(kind: NoiseKind, K: number, alphaS: number, alphaT: number, xt: number, x0probs: ArrayLike<number>, out = new Float64Array(stateCount(kind, K))): Float64Array {
  checkPair(alphaS, alphaT);
  out.fill(0);
  if (kind === "absorbing") {
    if (xt !== K) {
      out[xt] = 1;
      return out;
    }
    const u = (alphaS - alphaT) / (1 - alphaT);
    for (let j = 0; j < K; j++) out[j] = u * x0probs[j];
    out[K] = (1 - alphaS) / (1 - alphaT);
    return out;
  }
  // uniform: q(x_s = j | x_t, x_0) = f_j (α_s δ(j, x_0) + (1 − α_s)/K) / Z(x_0), f_j = q(x_t | x_s = j),
  // Z(x_0) = q(x_t | x_0) = α_t δ(x_t, x_0) + (1 − α_t)/K; the mixture over x_0 needs Σ p̃(x_0)/Z(x_0)
  // (every x_0 ≠ x_t shares one Z) and p̃(j)/Z(j)
  const a = alphaS > 0 ? alphaT / alphaS : 1;
  const zOther = (1 - alphaT) / K;
  const zSame = alphaT + zOther;
  let c = 0; // Σ_{x_0} p̃(x_0) / Z(x_0)
  for (let x0 = 0; x0 < K; x0++) c += x0probs[x0] / (x0 === xt ? zSame : zOther);
  for (let j = 0; j < K; j++) {
    const f = (j === xt ? a : 0) + (1 - a) / K;
    out[j] = f * ((alphaS * x0probs[j]) / (j === xt ? zSame : zOther) + ((1 - alphaS) / K) * c);
  }
  return out;
}

function checkPair(alphaS: number, alphaT: number): void {
  inRange("alphaS", alphaS, 0, 1);
  inRange("alphaT", alphaT, 0, 1);
  if (alphaT > alphaS) throw new ArgumentError("alphaT", `must be <= alphaS (${alphaS}): s comes before t, got ${alphaT}`);
}

/**
 * Corrupt token sequences to time t in one draw from q(x_t | x_0): each token independently survives
 * with probability alpha, else becomes the mask (absorbing) or a uniform token (uniform). u holds one
 * uniform in (0, 1) per token (two per token for the uniform process: keep?, which token).
 */
export function corrupt(kind: NoiseKind, K: number, x0: Int32Array, alpha: number, u: Float64Array, out = new Int32Array(x0.length)): Int32Array {
  inRange("alpha", alpha, 0, 1);
  const per = kind === "absorbing" ? 1 : 2;
  if (u.length < per * x0.length) throw new ArgumentError("u", `needs ${per * x0.length} uniforms, got ${u.length}`);
  for (let i = 0; i < x0.length; i++) {
    if (u[per * i] < alpha) out[i] = x0[i];
    else out[i] = kind === "absorbing" ? K : Math.min(K - 1, Math.floor(u[per * i + 1] * K));
  }
  return out;
}

/** Index j with cumulative probability crossing u·Σp (the last positive entry if rounding runs out). */
export function categorical(p: ArrayLike<number>, offset: number, n: number, u: number): number {
  let total = 0;
  for (let j = 0; j < n; j++) total += p[offset + j];
  let c = 0;
  const target = u * total;
  let last = 0;
  for (let j = 0; j < n; j++) {
    const v = p[offset + j];
    if (v > 0) last = j;
    c += v;
    if (c > target && v > 0) return j;
  }
  return last;
}
