// A toy distribution over short token sequences with known probabilities and strong dependence between
// positions (so a sampler that draws positions independently, or a bound that ignores the joint, shows).
import type { ToyDistribution } from "../../src/discrete/exact.ts";
import { Rng } from "../../src/rng.ts";

/** Every sequence of length L over K tokens, probabilities ∝ u^3 of seeded uniforms, a few set to 0. */
export function toyDistribution(K: number, L: number, seed = 7, zeros = 2): ToyDistribution {
  const n = K ** L;
  const u = new Rng(seed).uniform(new Float64Array(n));
  const w = Float64Array.from(u, (v, i) => (i % 7 === 3 && i / 7 < zeros ? 0 : 0.05 + v ** 3));
  const z = w.reduce((a, b) => a + b, 0);
  const seqs: Int32Array[] = [];
  for (let i = 0; i < n; i++) seqs.push(Int32Array.from({ length: L }, (_, l) => Math.floor(i / K ** (L - 1 - l)) % K));
  return { K, L, seqs, probs: Float64Array.from(w, (v) => v / z) };
}

/** The index of a sequence in toyDistribution's order (base-K digits, first position most significant). */
export function seqIndex(x: ArrayLike<number>, offset: number, K: number, L: number): number {
  let i = 0;
  for (let l = 0; l < L; l++) i = i * K + x[offset + l];
  return i;
}

/** Entropy of the toy in nats: E[−log p(x_0)]. */
export function entropy(toy: ToyDistribution): number {
  let h = 0;
  for (const p of toy.probs) if (p > 0) h -= p * Math.log(p);
  return h;
}
