// The exact denoiser of a toy distribution over short sequences with known probabilities: the test bed
// of discrete diffusion, as the Gaussian mixture is for the continuous one. Given x_t, the posterior over
// whole sequences is w(x_0) ∝ p(x_0) Π_l q(x_t^l | x_0^l) (the forward process corrupts tokens
// independently), and the denoiser returns its per-position marginals: the best p̃(x_0^l | x_t) a
// network with a factorised output can give (the minimiser of the cross-entropy training loss).

import { ArgumentError, int } from "../validate.ts";
import type { DiscreteDenoiser } from "./denoiser.ts";
import { transitionProb, type NoiseKind } from "./process.ts";

/** A distribution over token sequences of one length: seqs[i] has probability probs[i]. */
export interface ToyDistribution {
  K: number;
  L: number;
  seqs: Int32Array[];
  probs: Float64Array;
}

/** Check a toy distribution: every sequence of length L over 0..K−1, probabilities summing to 1. */
export function checkToy(toy: ToyDistribution): ToyDistribution {
  int("toy.K", toy.K, 1, 4096);
  int("toy.L", toy.L, 1, 64);
  if (toy.seqs.length !== toy.probs.length || toy.seqs.length === 0) throw new ArgumentError("toy.probs", `must have one probability per sequence (${toy.seqs.length})`);
  let s = 0;
  toy.seqs.forEach((q, i) => {
    if (q.length !== toy.L || q.some((v) => !(v >= 0 && v < toy.K))) throw new ArgumentError(`toy.seqs[${i}]`, `must be ${toy.L} tokens in [0, ${toy.K - 1}]`);
    if (!(toy.probs[i] >= 0)) throw new ArgumentError(`toy.probs[${i}]`, `must be >= 0, got ${toy.probs[i]}`);
    s += toy.probs[i];
  });
  if (Math.abs(s - 1) > 1e-9) throw new ArgumentError("toy.probs", `must sum to 1, got ${s}`);
  return toy;
}

/** The exact per-position denoiser of `toy` under the `kind` process (see the file's header). */
export function exactDenoiser(kind: NoiseKind, toy: ToyDistribution): DiscreteDenoiser {
  const { K, L, seqs, probs } = checkToy(toy);
  const w = new Float64Array(seqs.length);
  return (x, batch, alpha) => {
    int("batch", batch, 1);
    if (x.length !== batch * L) throw new ArgumentError("x", `must hold ${batch} sequences of ${L} tokens, got ${x.length}`);
    const out = new Float64Array(batch * L * K);
    for (let b = 0; b < batch; b++) {
      let z = 0;
      for (let i = 0; i < seqs.length; i++) {
        let p = probs[i];
        // absorbing: every pattern of masks has the same probability α^(L−k) (1 − α)^k under every x_0 it
        // can come from, so the posterior is p(x_0) restricted to the x_0 that agree with x_t's unmasked
        // tokens, for any α in (0, 1): the denoiser is α-free (and defined at α = 0 and 1 too)
        for (let l = 0; l < L && p > 0; l++) {
          const xt = x[b * L + l];
          p *= kind === "absorbing" ? (xt === K || xt === seqs[i][l] ? 1 : 0) : transitionProb(kind, K, alpha, seqs[i][l], xt);
        }
        w[i] = p;
        z += p;
      }
      for (let l = 0; l < L; l++) {
        const row = (b * L + l) * K;
        if (z === 0) {
          out.fill(1 / K, row, row + K); // x_t impossible under the toy: nothing to prefer
          continue;
        }
        for (let i = 0; i < seqs.length; i++) out[row + seqs[i][l]] += w[i] / z;
      }
    }
    return out;
  };
}
