// Samplers of discrete diffusion: plain functions over one DiscreteDenoiser, like src/samplers/.
//
// - ancestralSample: the reverse chain x_T → x_0 of D3PM (Austin et al. 2021, eq. 4) / MDLM (Sahoo et
//   al. 2024, eq. 7), one draw from p_θ(x_{t−1} | x_t) = Σ q(x_{t−1} | x_t, x_0) p̃_θ(x_0 | x_t) per step,
//   for the absorbing and the uniform process.
// - confidenceSample: MaskGIT's iterative decoding (Chang et al. 2022, §3.2) / LLaDA's low-confidence
//   remasking (Nie et al. 2025, Alg. 5): every step draws a token at every masked position, keeps the k
//   most confident and re-masks the rest, k set by a masking schedule so few steps unmask many tokens.
//   With order "random" and one token per step it is exact any-order autoregressive sampling.
//
// Both clamp the tokens the caller gives (`init` with masks only where to generate): infilling, the
// thing masked diffusion does that a left-to-right model cannot. Every draw of sequence b at step s comes
// from rng.stream(s) at item b, so a sequence's tokens do not depend on the batch it was drawn in.

import type { Rng } from "../rng.ts";
import { ArgumentError, int } from "../validate.ts";
import type { DiscreteDenoiser } from "./denoiser.ts";
import { categorical, reverseStep, stateCount, type NoiseKind } from "./process.ts";
import { checkAlphas, LINEAR, type MaskSchedule } from "./schedule.ts";

export { categorical };

export interface DiscreteSampleOptions {
  /** Real tokens (ids 0..K−1; the absorbing mask is K). */
  K: number;
  /** Positions per sequence. */
  L: number;
  batch: number;
  rng: Rng;
  /**
   * The starting sequences [batch, L]: tokens to keep (clamped) and the mask K where to generate
   * (absorbing). Default: all masks (absorbing), uniform random tokens (uniform, nothing clamped).
   */
  init?: Int32Array;
  /** Called after each step with the step index (counting up from 1) and the current tokens. */
  onStep?: (step: number, x: Int32Array) => void;
  signal?: AbortSignal;
}

function start(kind: NoiseKind, o: DiscreteSampleOptions): { x: Int32Array; known: Uint8Array } {
  const K = int("K", o.K, 1, 1 << 20);
  const L = int("L", o.L, 1, 1 << 16);
  const B = int("batch", o.batch, 1, 1 << 20);
  const x = new Int32Array(B * L);
  const known = new Uint8Array(B * L);
  if (o.init) {
    if (o.init.length !== B * L) throw new ArgumentError("init", `must hold ${B} sequences of ${L} tokens, got ${o.init.length}`);
    const hi = kind === "absorbing" ? K : K - 1;
    o.init.forEach((v, i) => {
      if (!(v >= 0 && v <= hi)) throw new ArgumentError(`init[${i}]`, `must be a token in [0, ${hi}], got ${v}`);
      x[i] = v;
      known[i] = kind === "absorbing" ? (v !== K ? 1 : 0) : 1;
    });
    if (kind === "uniform") {
      // nothing is masked in the uniform process: init marks what is known; the rest starts uniform
      return { x, known };
    }
  } else if (kind === "absorbing") x.fill(K);
  else {
    const u = new Float64Array(L);
    for (let b = 0; b < B; b++) {
      o.rng.stream("init").uniform(u, b);
      for (let l = 0; l < L; l++) x[b * L + l] = Math.min(K - 1, Math.floor(u[l] * K));
    }
  }
  return { x, known };
}

export interface AncestralOptions extends DiscreteSampleOptions {
  /** Survival probabilities α_0 = 1, ..., α_T (schedule.ts); T steps. */
  alphas: Float64Array;
  /**
   * The denoiser ignores α (MDLM's SUBS network): a step in which no token changed reuses the last
   * prediction (MDLM §3.3, "caching"), same draws, fewer network calls. Default false.
   */
  alphaFree?: boolean;
}

/** The absorbing or uniform process's ancestral sampler; returns x_0 [batch, L]. */
export function ancestralSample(kind: NoiseKind, denoiser: DiscreteDenoiser, o: AncestralOptions): Int32Array {
  const alphas = checkAlphas(o.alphas);
  const { K, L, batch: B, rng } = o;
  const { x, known } = start(kind, o);
  const T = alphas.length - 1;
  const S = stateCount(kind, K);
  const ps = new Float64Array(S);
  const u = new Float64Array(2 * L);
  let pred: Float32Array | Float64Array | null = null;
  let changed = true;
  for (let t = T; t >= 1; t--) {
    if (o.signal?.aborted) throw o.signal.reason ?? new Error("aborted");
    const aS = alphas[t - 1];
    const aT = alphas[t];
    const r = rng.stream(T - t);
    const anyMasked = kind === "uniform" || x.some((v) => v === K);
    if (anyMasked) {
      if (changed || !o.alphaFree || pred === null) pred = denoiser(x, B, aT);
      changed = false;
      for (let b = 0; b < B; b++) {
        r.uniform(u, b);
        for (let l = 0; l < L; l++) {
          const i = b * L + l;
          if (known[i]) continue;
          if (kind === "absorbing") {
            if (x[i] !== K) continue;
            // unmask with probability (α_s − α_t)/(1 − α_t) (MDLM eq. 7), to x_0 ~ p̃(x_0 | x_t)
            if (u[2 * l] * (1 - aT) < aS - aT) {
              x[i] = categorical(pred, i * K, K, u[2 * l + 1]);
              changed = true;
            }
          } else {
            reverseStep(kind, K, aS, aT, x[i], pred.subarray(i * K, (i + 1) * K), ps);
            const v = categorical(ps, 0, S, u[2 * l]);
            if (v !== x[i]) changed = true;
            x[i] = v;
          }
        }
      }
    }
    o.onStep?.(T - t + 1, x);
  }
  return x;
}

export interface ConfidenceOptions extends DiscreteSampleOptions {
  /** Network calls (steps), 1..: each unmasks about masked/steps tokens (or per the schedule). */
  steps: number;
  /**
   * How many stay masked after step i of N: ⌊M (1 − α(1 − i/N))⌋ of the M masked at the start, α a
   * masking schedule (default linear: the same number per step; MaskGIT uses cosine).
   */
  schedule?: MaskSchedule;
  /** Which drawn tokens to keep: the most probable ("confidence", MaskGIT / LLaDA) or random ones. */
  order?: "confidence" | "random";
}

/** MaskGIT / LLaDA few-step decoding of the absorbing process; returns x_0 [batch, L]. */
export function confidenceSample(denoiser: DiscreteDenoiser, o: ConfidenceOptions): Int32Array {
  const N = int("steps", o.steps, 1, 1 << 20);
  const sched = o.schedule ?? LINEAR;
  const order = o.order ?? "confidence";
  if (order !== "confidence" && order !== "random") throw new ArgumentError("order", `must be "confidence" or "random", got ${JSON.stringify(order)}`);
  const { K, L, batch: B, rng } = o;
  const { x } = start("absorbing", o);
  const M0 = new Int32Array(B);
  for (let b = 0; b < B; b++) for (let l = 0; l < L; l++) if (x[b * L + l] === K) M0[b]++;
  const u = new Float64Array(2 * L);
  const tok = new Int32Array(L);
  const conf = new Float64Array(L);
  const idx: number[] = [];
  for (let i = 1; i <= N; i++) {
    if (o.signal?.aborted) throw o.signal.reason ?? new Error("aborted");
    if (!x.some((v) => v === K)) break;
    const t = 1 - (i - 1) / N;
    const pred = denoiser(x, B, sched.alpha(t));
    const r = rng.stream(i - 1);
    for (let b = 0; b < B; b++) {
      let masked = 0;
      for (let l = 0; l < L; l++) if (x[b * L + l] === K) masked++;
      if (masked === 0) continue;
      const keepMasked = i === N ? 0 : Math.floor(M0[b] * (1 - sched.alpha(1 - i / N)));
      const k = Math.max(1, masked - keepMasked);
      r.uniform(u, b);
      idx.length = 0;
      for (let l = 0; l < L; l++) {
        const j = b * L + l;
        if (x[j] !== K) continue;
        tok[l] = categorical(pred, j * K, K, u[2 * l]);
        conf[l] = order === "confidence" ? pred[j * K + tok[l]] : u[2 * l + 1];
        idx.push(l);
      }
      idx.sort((p, q) => conf[q] - conf[p] || p - q); // most confident first; ties by position
      for (let n = 0; n < Math.min(k, idx.length); n++) x[b * L + idx[n]] = tok[idx[n]];
    }
    o.onStep?.(i, x);
  }
  return x;
}
