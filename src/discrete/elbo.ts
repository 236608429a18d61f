// The negative ELBO of discrete diffusion, an upper bound on −log p_θ(x_0), in nats per sequence:
//
// - discrete time (D3PM, Austin et al. 2021, eq. 5): L_T = KL(q(x_T | x_0) ‖ p(x_T))
//   + Σ_{t=1..T} E_{q(x_t | x_0)} KL(q(x_{t−1} | x_t, x_0) ‖ p_θ(x_{t−1} | x_t)), where with α_0 = 1 the
//   t = 1 term is D3PM's reconstruction term −log p_θ(x_0 | x_1). Both distributions factorise over
//   positions, so the KL is a sum of per-position KLs (of process.posterior and process.reverseStep).
// - continuous time, absorbing process (MDLM, Sahoo et al. 2024, eq. 10):
//   L_∞ = ∫_0^1 −α'(t)/(1 − α(t)) E_{q(x_t | x_0)} Σ_{l masked} −log p̃_θ(x_0^l | x_t) dt.
//   Substituting a = α(t) shows it does not depend on the schedule (MDLM §3.2.2): for an α-free
//   denoiser it is a finite sum over mask patterns m with k = |m| masked positions, each weighted by
//   ∫_0^1 a^(L−k) (1 − a)^(k−1) da = (L − k)! (k − 1)! / L! (elboAbsorbingExact), the expected loss of
//   decoding the positions in a uniformly random order (Ou et al. 2024; Shi et al. 2024, MD4). With the
//   exact conditionals it therefore equals −log p(x_0) by the chain rule.
//
// elboAbsorbingExact and elboDiscreteExact enumerate (for toys and tests); elboMonteCarlo draws t and
// the mask (for networks: training loss and benchmarks).

import type { Rng } from "../rng.ts";
import { ArgumentError, int } from "../validate.ts";
import type { DiscreteDenoiser } from "./denoiser.ts";
import { posterior, reverseStep, stateCount, transitionProb, type NoiseKind } from "./process.ts";
import { checkAlphas, type MaskSchedule } from "./schedule.ts";

const LN_TINY = 1e-300;

function logFactorial(n: number): number {
  let s = 0;
  for (let i = 2; i <= n; i++) s += Math.log(i);
  return s;
}

function checkSeq(x0: Int32Array, K: number): number {
  const L = x0.length;
  int("x0.length", L, 1, 20);
  x0.forEach((v, l) => {
    if (!(v >= 0 && v < K)) throw new ArgumentError(`x0[${l}]`, `must be a token in [0, ${K - 1}], got ${v}`);
  });
  return L;
}

/**
 * MDLM's continuous-time negative ELBO of one sequence x0 under an α-free absorbing denoiser, exactly,
 * by enumerating the 2^L − 1 non-empty mask patterns (see the header). The denoiser is called with
 * α = 1/2 (it must not depend on α). L ≤ 20.
 */
export function elboAbsorbingExact(denoiser: DiscreteDenoiser, K: number, x0: Int32Array): number {
  const L = checkSeq(x0, K);
  const patterns = (1 << L) - 1;
  const xt = new Int32Array(patterns * L);
  for (let m = 1; m <= patterns; m++) for (let l = 0; l < L; l++) xt[(m - 1) * L + l] = (m >> l) & 1 ? K : x0[l];
  const p = denoiser(xt, patterns, 0.5);
  const lfL = logFactorial(L);
  let total = 0;
  for (let m = 1; m <= patterns; m++) {
    let k = 0;
    let nll = 0;
    for (let l = 0; l < L; l++) {
      if ((m >> l) & 1) {
        k++;
        nll -= Math.log(Math.max(p[((m - 1) * L + l) * K + x0[l]], LN_TINY));
      }
    }
    total += Math.exp(logFactorial(L - k) + logFactorial(k - 1) - lfL) * nll;
  }
  return total;
}

/** KL(q ‖ p) of two distributions over S states, in nats (0 log 0 = 0). */
function kl(q: Float64Array, p: Float64Array): number {
  let s = 0;
  for (let j = 0; j < q.length; j++) if (q[j] > 0) s += q[j] * (Math.log(q[j]) - Math.log(Math.max(p[j], LN_TINY)));
  return s;
}

/**
 * D3PM's discrete-time negative ELBO (eq. 5) of one sequence x0, exactly: every x_t the process can
 * reach is enumerated with its probability Π_l q(x_t^l | x_0^l) (2^L patterns for the absorbing process,
 * K^L sequences for the uniform one). alphas = α_0 = 1, ..., α_T; the prior p(x_T) is the stationary
 * distribution (all masks; uniform tokens).
 */
export function elboDiscreteExact(kind: NoiseKind, denoiser: DiscreteDenoiser, K: number, alphas: Float64Array, x0: Int32Array): number {
  checkAlphas(alphas);
  const L = checkSeq(x0, K);
  const S = stateCount(kind, K);
  const T = alphas.length - 1;
  // the reachable x_t: for each position, the states with q(x_t^l | x_0^l) > 0 at some t < 1
  const choices = kind === "absorbing" ? (l: number) => [x0[l], K] : () => [...Array(K).keys()];
  const all: Int32Array[] = [];
  const rec = (l: number, cur: number[]) => {
    if (l === L) return void all.push(Int32Array.from(cur));
    for (const c of choices(l)) rec(l + 1, [...cur, c]);
  };
  rec(0, []);
  if (all.length > 200000) throw new ArgumentError("x0", `too many states to enumerate (${all.length})`);
  const flat = new Int32Array(all.length * L);
  all.forEach((s, i) => flat.set(s, i * L));
  const q = new Float64Array(S);
  const p = new Float64Array(S);
  let total = 0;
  // prior term: KL(q(x_T | x_0) ‖ stationary), per position
  const aT = alphas[T];
  for (let l = 0; l < L; l++) {
    for (let j = 0; j < S; j++) q[j] = transitionProb(kind, K, aT, x0[l], j);
    p.fill(0);
    if (kind === "absorbing") p[K] = 1;
    else p.fill(1 / K);
    total += kl(q, p);
  }
  for (let t = 1; t <= T; t++) {
    const aS = alphas[t - 1];
    const aT2 = alphas[t];
    const pred = denoiser(flat, all.length, aT2);
    for (let i = 0; i < all.length; i++) {
      let w = 1;
      for (let l = 0; l < L && w > 0; l++) w *= transitionProb(kind, K, aT2, x0[l], all[i][l]);
      if (w === 0) continue;
      let term = 0;
      for (let l = 0; l < L; l++) {
        const xt = all[i][l];
        if (kind === "absorbing" && xt !== K) continue; // carried over: q and p agree, KL 0
        posterior(kind, K, aS, aT2, xt, x0[l], q);
        reverseStep(kind, K, aS, aT2, xt, pred.subarray((i * L + l) * K, (i * L + l + 1) * K), p);
        term += kl(q, p);
      }
      total += w * term;
    }
  }
  return total;
}

/** Options of elboMonteCarlo. */
export interface MonteCarloOptions {
  /** Independent (t, mask) draws averaged per sequence (default 1). */
  draws?: number;
  /** Smallest t drawn, against the variance of the 1/t weight (default 1e-4). */
  tMin?: number;
  /**
   * The denoiser ignores α (MDLM's SUBS network): the whole batch goes through it in one call, with α
   * of the first sequence passed along. Else one call per sequence with its own α (default false).
   */
  alphaFree?: boolean;
}

/**
 * An unbiased Monte-Carlo estimate of MDLM's continuous-time negative ELBO (eq. 10) for a batch of
 * sequences x0 [B, L] of the absorbing process, one t per sequence, drawn stratified (t_b = (u + b)/B,
 * MDLM's low-discrepancy sampler, App. B.1). Returns nats per sequence.
 */
export function elboMonteCarlo(denoiser: DiscreteDenoiser, schedule: MaskSchedule, K: number, x0: Int32Array, batch: number, rng: Rng, o: MonteCarloOptions = {}): Float64Array {
  int("batch", batch, 1);
  const draws = int("draws", o.draws ?? 1, 1);
  const tMin = o.tMin ?? 1e-4;
  const L = x0.length / batch;
  if (!Number.isInteger(L) || L < 1) throw new ArgumentError("x0", `length ${x0.length} is not a multiple of batch ${batch}`);
  const out = new Float64Array(batch);
  const xt = new Int32Array(x0.length);
  const u = new Float64Array(x0.length);
  const u0 = new Float64Array(1);
  const alpha = new Float64Array(batch);
  const weight = new Float64Array(batch);
  for (let d = 0; d < draws; d++) {
    const r = rng.stream(d);
    r.stream("t").uniform(u0);
    r.stream("mask").uniform(u);
    for (let b = 0; b < batch; b++) {
      const t = tMin + (1 - tMin) * ((u0[0] + b / batch) % 1);
      alpha[b] = schedule.alpha(t);
      weight[b] = -schedule.dalpha(t) / (1 - alpha[b]);
      for (let l = 0; l < L; l++) xt[b * L + l] = u[b * L + l] < alpha[b] ? x0[b * L + l] : K;
    }
    const whole = o.alphaFree ? denoiser(xt, batch, alpha[0]) : null;
    for (let b = 0; b < batch; b++) {
      const p = whole ? whole.subarray(b * L * K, (b + 1) * L * K) : denoiser(xt.subarray(b * L, (b + 1) * L), 1, alpha[b]);
      let nll = 0;
      for (let l = 0; l < L; l++) if (xt[b * L + l] === K) nll -= Math.log(Math.max(p[l * K + x0[b * L + l]], LN_TINY));
      out[b] += (weight[b] * nll) / draws;
    }
  }
  return out;
}
