// The discrete samplers (src/discrete/samplers.ts) with the exact denoiser of a toy distribution
// reproduce it (Pearson chi-square within sampling error): ancestral sampling of the absorbing and the
// uniform process with many steps (where at most one token changes per step, the factorised reverse step
// is exact), and random-order one-token-per-step decoding exactly. Plus clamping (infilling draws the
// conditional distribution), the few-step schedule of the confidence sampler, and batch independence.
import { describe, expect, it } from "vitest";
import { exactDenoiser, type ToyDistribution } from "../../src/discrete/exact.ts";
import { ancestralSample, categorical, confidenceSample } from "../../src/discrete/samplers.ts";
import { COSINE, discreteAlphas, LINEAR } from "../../src/discrete/schedule.ts";
import { Rng } from "../../src/rng.ts";
import { chiSquare, chiSquareBound } from "../support/stats.ts";
import { seqIndex, toyDistribution } from "./toy.ts";

function histogram(x: Int32Array, K: number, L: number): Float64Array {
  const c = new Float64Array(K ** L);
  for (let b = 0; b < x.length / L; b++) c[seqIndex(x, b * L, K, L)]++;
  return c;
}

function expectDistribution(x: Int32Array, toy: ToyDistribution): void {
  const { stat, df } = chiSquare(histogram(x, toy.K, toy.L), toy.probs);
  expect(stat, `chi-square ${stat} on ${df} d.o.f.`).toBeLessThan(chiSquareBound(df));
}

const toy = toyDistribution(3, 3);

describe("samplers reproduce the toy distribution with its exact denoiser", () => {
  it("absorbing ancestral sampling, 400 steps, linear and cosine schedules", () => {
    const den = exactDenoiser("absorbing", toy);
    for (const [s, seed] of [[LINEAR, 1], [COSINE, 2]] as const) {
      const x = ancestralSample("absorbing", den, { K: 3, L: 3, batch: 2000, rng: new Rng(seed), alphas: discreteAlphas(s, 300), alphaFree: true });
      expectDistribution(x, toy);
    }
  });

  it("uniform ancestral sampling, 300 steps", () => {
    const t2 = toyDistribution(3, 2, 11, 0); // no impossible sequences: finite-T steps may reach them
    const x = ancestralSample("uniform", exactDenoiser("uniform", t2), { K: 3, L: 2, batch: 3000, rng: new Rng(3), alphas: discreteAlphas(LINEAR, 300) });
    expectDistribution(x, t2);
  });

  it("random-order decoding, one token per step (any-order autoregressive): exact", () => {
    const x = confidenceSample(exactDenoiser("absorbing", toy), { K: 3, L: 3, batch: 20000, rng: new Rng(4), steps: 3, order: "random" });
    expectDistribution(x, toy);
  });

  it("ancestral sampling with very few steps does NOT reproduce it (the test can fail)", () => {
    const x = ancestralSample("absorbing", exactDenoiser("absorbing", toy), { K: 3, L: 3, batch: 20000, rng: new Rng(5), alphas: discreteAlphas(LINEAR, 1) });
    const { stat, df } = chiSquare(histogram(x, 3, 3), toy.probs);
    expect(stat).toBeGreaterThan(chiSquareBound(df));
  });
});

describe("infilling: clamped tokens stay, the rest follows the conditional distribution", () => {
  it("absorbing ancestral and random-order decoding with the middle token given", () => {
    const den = exactDenoiser("absorbing", toy);
    const given = 2;
    // p(x_0, x_2 | x_1 = given) over the 9 pairs
    const cond = new Float64Array(9);
    toy.seqs.forEach((s, i) => {
      if (s[1] === given) cond[s[0] * 3 + s[2]] += toy.probs[i];
    });
    const z = cond.reduce((a, b) => a + b, 0);
    cond.forEach((v, i) => (cond[i] = v / z));
    const n = 4000;
    const init = new Int32Array(n * 3).fill(3);
    for (let b = 0; b < n; b++) init[b * 3 + 1] = given;
    const runs = [
      ancestralSample("absorbing", den, { K: 3, L: 3, batch: n, rng: new Rng(6), alphas: discreteAlphas(LINEAR, 200), init, alphaFree: true }),
      confidenceSample(den, { K: 3, L: 3, batch: n, rng: new Rng(7), steps: 2, order: "random", init }),
    ];
    for (const x of runs) {
      const c = new Float64Array(9);
      for (let b = 0; b < n; b++) {
        expect(x[b * 3 + 1]).toBe(given);
        c[x[b * 3] * 3 + x[b * 3 + 2]]++;
      }
      const { stat, df } = chiSquare(c, cond);
      expect(stat).toBeLessThan(chiSquareBound(df));
    }
  });
});

describe("confidence sampler", () => {
  it("unmasks ⌊M (1 − α(1 − i/N))⌋-many per the schedule, most confident first, all by the last step", () => {
    const L = 10;
    const K = 4;
    // position l puts 1 − ε_l on token l % K, ε_l falling with l: the drawn token is the favourite and
    // the most confident positions are the last ones
    const den = (x: Int32Array, B: number) => {
      const p = new Float64Array(B * L * K);
      for (let b = 0; b < B; b++) {
        for (let l = 0; l < L; l++) {
          const eps = 1e-9 * (L - l);
          for (let k = 0; k < K; k++) p[(b * L + l) * K + k] = k === l % K ? 1 - eps : eps / (K - 1);
        }
      }
      return p;
    };
    for (const sched of [LINEAR, COSINE]) {
      const masked: number[] = [];
      const unmaskedAt: number[][] = [];
      let prev = new Int32Array(L).fill(K);
      const x = confidenceSample(den, {
        K, L, batch: 1, rng: new Rng(8), steps: 4, schedule: sched,
        onStep: (_, cur) => {
          masked.push(cur.filter((v) => v === K).length);
          unmaskedAt.push([...cur.keys()].filter((l) => cur[l] !== K && prev[l] === K));
          prev = Int32Array.from(cur);
        },
      });
      const want = [1, 2, 3, 4].map((i) => (i === 4 ? 0 : Math.floor(L * (1 - sched.alpha(1 - i / 4)))));
      expect(masked).toEqual(want);
      expect([...x]).toEqual([...Array(L).keys()].map((l) => l % K));
      // most confident first: step 1 takes the last L − want[0] positions, and so on down
      let hi = L;
      unmaskedAt.forEach((ls, i) => {
        expect(ls).toEqual([...Array(hi - want[i]).keys()].map((j) => want[i] + j));
        hi = want[i];
      });
    }
  });

  it("a sequence's tokens do not depend on the batch it is drawn in", () => {
    const den = exactDenoiser("absorbing", toy);
    const a = confidenceSample(den, { K: 3, L: 3, batch: 3, rng: new Rng(9), steps: 2 });
    const b = confidenceSample(den, { K: 3, L: 3, batch: 7, rng: new Rng(9), steps: 2 });
    expect([...b.subarray(0, 9)]).toEqual([...a]);
  });

  it("bad arguments name themselves", () => {
    const den = exactDenoiser("absorbing", toy);
    expect(() => confidenceSample(den, { K: 3, L: 3, batch: 1, rng: new Rng(0), steps: 0 })).toThrow(/steps: must be an integer in \[1,/);
    expect(() => confidenceSample(den, { K: 3, L: 3, batch: 1, rng: new Rng(0), steps: 2, init: Int32Array.of(0, 4, 1) })).toThrow(/init\[1\]: must be a token in \[0, 3\], got 4/);
    expect(() => ancestralSample("absorbing", den, { K: 3, L: 3, batch: 1, rng: new Rng(0), alphas: Float64Array.of(0.5, 0) })).toThrow(/alphas: must start at α_0 = 1/);
  });
});

describe("categorical", () => {
  it("picks the index whose cumulative probability crosses u, never a zero-probability one", () => {
    const p = Float64Array.of(0.2, 0, 0.5, 0.3, 0);
    expect(categorical(p, 0, 5, 0.1)).toBe(0);
    expect(categorical(p, 0, 5, 0.2)).toBe(2);
    expect(categorical(p, 0, 5, 0.69)).toBe(2);
    expect(categorical(p, 0, 5, 0.71)).toBe(3);
    expect(categorical(p, 0, 5, 1)).toBe(3);
  });
});
