// The ELBO of discrete diffusion (src/discrete/elbo.ts) on a toy distribution with known probabilities:
// it upper-bounds the exact negative log-likelihood, is tight in continuous time for the absorbing
// process with the exact denoiser (the any-order chain rule), tightens as T grows, and the Monte-Carlo
// estimator used for networks agrees with the exact sum within sampling error, for every schedule.
import { describe, expect, it } from "vitest";
import type { DiscreteDenoiser } from "../../src/discrete/denoiser.ts";
import { elboAbsorbingExact, elboDiscreteExact, elboMonteCarlo } from "../../src/discrete/elbo.ts";
import { exactDenoiser, type ToyDistribution } from "../../src/discrete/exact.ts";
import type { NoiseKind } from "../../src/discrete/process.ts";
import { alphasFromBetas, COSINE, d3pmBetas, discreteAlphas, LINEAR } from "../../src/discrete/schedule.ts";
import { Rng } from "../../src/rng.ts";
import { moments, Z } from "../support/stats.ts";
import { entropy, toyDistribution } from "./toy.ts";

const toy = toyDistribution(3, 3);
const H = entropy(toy);

/** E_{x_0 ~ toy}[f(x_0)]. */
function expectation(t: ToyDistribution, f: (x0: Int32Array) => number): number {
  let s = 0;
  t.seqs.forEach((x, i) => {
    if (t.probs[i] > 0) s += t.probs[i] * f(x);
  });
  return s;
}

/** A denoiser that knows nothing: p̃ = 1/K everywhere. */
const uniformGuess = (K: number): DiscreteDenoiser => (x, B) => new Float64Array(x.length * K).fill(1 / K);

describe("continuous-time ELBO of the absorbing process (MDLM eq. 10)", () => {
  const exact = exactDenoiser("absorbing", toy);

  it("equals −log p(x_0) for every x_0 with the exact denoiser (tight: the any-order chain rule)", () => {
    toy.seqs.forEach((x, i) => {
      if (toy.probs[i] > 0) expect(elboAbsorbingExact(exact, 3, x)).toBeCloseTo(-Math.log(toy.probs[i]), 10);
    });
  });

  it("upper-bounds the entropy for a wrong denoiser, strictly; a know-nothing denoiser pays L log K", () => {
    const other = exactDenoiser("absorbing", toyDistribution(3, 3, 99));
    const wrong = expectation(toy, (x) => elboAbsorbingExact(other, 3, x));
    expect(wrong).toBeGreaterThan(H + 0.01);
    toy.seqs.forEach((x) => expect(elboAbsorbingExact(uniformGuess(3), 3, x)).toBeCloseTo(3 * Math.log(3), 12));
  });

  it("the Monte-Carlo estimate agrees with the exact sum within sampling error, linear and cosine schedules", () => {
    const x0 = toy.seqs[5];
    const want = elboAbsorbingExact(exact, 3, x0);
    const n = 4000;
    const batch = new Int32Array(n * 3);
    for (let b = 0; b < n; b++) batch.set(x0, b * 3);
    for (const [s, seed] of [[LINEAR, 1], [COSINE, 2]] as const) {
      const est = elboMonteCarlo(exact, s, 3, batch, n, new Rng(seed), { alphaFree: true });
      const m = moments(est);
      // stratified t makes the draws negatively correlated: the iid standard error is conservative
      expect(Math.abs(m.mean - want)).toBeLessThan(Z * Math.sqrt(m.variance / n));
    }
  });
});

describe.each([
  ["absorbing", toy],
  ["uniform", toyDistribution(3, 2, 11)],
] as const)("discrete-time ELBO (D3PM eq. 5), %s process", (kind: NoiseKind, t) => {
  const exact = exactDenoiser(kind, t);
  const Ht = entropy(t);

  it("upper-bounds the exact negative log-likelihood for every schedule and T, and the gap closes as T grows", () => {
    for (const [name, make] of [
      ["linear", (T: number) => discreteAlphas(LINEAR, T)],
      ["cosine", (T: number) => discreteAlphas(COSINE, T)],
      ["d3pm", (T: number) => alphasFromBetas(d3pmBetas(T))],
    ] as const) {
      const gaps = [1, 4, 16, 64].map((T) => expectation(t, (x) => elboDiscreteExact(kind, exact, t.K, make(T), x)) - Ht);
      for (const g of gaps) expect(g, `${name}: gaps ${gaps}`).toBeGreaterThan(-1e-10);
      for (let i = 1; i < gaps.length; i++) expect(gaps[i], `${name}: gaps ${gaps}`).toBeLessThan(gaps[i - 1]);
      expect(gaps[3], `${name}: gaps ${gaps}`).toBeLessThan(0.25 * gaps[0]);
    }
  });

  it("T = 1 is one step from the prior: Σ_l −log p̃(x_0^l | x_1) with x_1 all masks / uniform", () => {
    const x0 = t.seqs[4];
    const got = elboDiscreteExact(kind, exact, t.K, Float64Array.of(1, 0), x0);
    // with α_1 = 0, x_1 carries no information: p̃ is the per-position marginal of the toy
    let want = 0;
    for (let l = 0; l < t.L; l++) {
      let m = 0;
      t.seqs.forEach((s, i) => {
        if (s[l] === x0[l]) m += t.probs[i];
      });
      want -= Math.log(m);
    }
    expect(got).toBeCloseTo(want, 10);
  });

  it("a know-nothing denoiser pays more than the exact one", () => {
    const alphas = discreteAlphas(LINEAR, 8);
    const a = expectation(t, (x) => elboDiscreteExact(kind, uniformGuess(t.K), t.K, alphas, x));
    const b = expectation(t, (x) => elboDiscreteExact(kind, exact, t.K, alphas, x));
    expect(a).toBeGreaterThan(b + 0.01);
  });
});
