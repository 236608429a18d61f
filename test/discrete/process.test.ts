// The laws of the discrete forward process (src/discrete/process.ts, schedule.ts): the marginal
// Q̄_t = Q_1 Q_2 ⋯ Q_t is the step-by-step composition of the one-step matrices (D3PM, Austin et al.
// 2021, §3.1), for both processes and every schedule; the closed-form posterior equals the Bayes product
// q(x_t | x_s) q(x_s | x_0) / q(x_t | x_0) (D3PM eq. 3) from the dense matrices; the model's reverse step
// with a one-hot x_0 prediction is the posterior, and it is linear in p̃(x_0) for the absorbing process.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { corrupt, posterior, reverseStep, stateCount, transitionMatrix, type NoiseKind } from "../../src/discrete/process.ts";
import { alphasFromBetas, betasFromAlphas, COSINE, d3pmBetas, discreteAlphas, LINEAR, maskSchedule } from "../../src/discrete/schedule.ts";
import { Rng } from "../../src/rng.ts";
import { Z } from "../support/stats.ts";

const KINDS: NoiseKind[] = ["absorbing", "uniform"];
const FC = { seed: 20261203, numRuns: 40 };

function matmul(A: Float64Array, B: Float64Array, S: number): Float64Array {
  const C = new Float64Array(S * S);
  for (let i = 0; i < S; i++) for (let k = 0; k < S; k++) for (let j = 0; j < S; j++) C[i * S + j] += A[i * S + k] * B[k * S + j];
  return C;
}

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) if (!(Math.abs(a[i] - b[i]) <= tol)) throw new Error(`${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

const alphaSets = (T: number): [string, Float64Array][] => [
  ["linear", discreteAlphas(LINEAR, T)],
  ["cosine", discreteAlphas(COSINE, T)],
  ["d3pm 1/(T-t+1)", alphasFromBetas(d3pmBetas(T))],
];

describe("schedules", () => {
  it("run from α(0) = 1 to α(1) = 0, non-increasing, and α' is the derivative (central difference)", () => {
    for (const s of [LINEAR, COSINE]) {
      expect(s.alpha(0)).toBeCloseTo(1, 14);
      expect(s.alpha(1)).toBeCloseTo(0, 14);
      for (let t = 0.01; t < 1; t += 0.01) {
        expect(s.alpha(t + 0.005)).toBeLessThan(s.alpha(t));
        expect(s.dalpha(t)).toBeCloseTo((s.alpha(t + 1e-6) - s.alpha(t - 1e-6)) / 2e-6, 6);
      }
    }
    expect(() => maskSchedule("quadratic")).toThrow(/schedule: must be one of "linear", "cosine", got "quadratic"/);
  });

  it("D3PM's β_t = 1/(T − t + 1) gives ᾱ_t = 1 − t/T, so its mutual information falls linearly", () => {
    for (const T of [1, 2, 7, 100]) expectClose(alphasFromBetas(d3pmBetas(T)), discreteAlphas(LINEAR, T), 1e-12, `T=${T}`);
    const a = discreteAlphas(COSINE, 9);
    expectClose(alphasFromBetas(betasFromAlphas(a)), a, 1e-12, "betas round trip");
  });
});

describe.each(KINDS)("%s process", (kind) => {
  it("the marginal Q̄_t equals the product Q_1 ⋯ Q_t of one-step matrices, at every t", () => {
    for (const K of [1, 3, 5]) {
      const S = stateCount(kind, K);
      for (const [name, alphas] of alphaSets(8)) {
        const betas = betasFromAlphas(alphas);
        let P = transitionMatrix(kind, K, 1);
        for (let t = 1; t < alphas.length; t++) {
          P = matmul(P, transitionMatrix(kind, K, 1 - betas[t]), S);
          expectClose(P, transitionMatrix(kind, K, alphas[t]), 1e-12, `${name} K=${K} t=${t}`);
        }
      }
    }
  });

  it("the matrices are row-stochastic", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.double({ min: 0, max: 1, noNaN: true }), (K, a) => {
        const S = stateCount(kind, K);
        const Q = transitionMatrix(kind, K, a);
        for (let i = 0; i < S; i++) {
          let s = 0;
          for (let j = 0; j < S; j++) {
            expect(Q[i * S + j]).toBeGreaterThanOrEqual(0);
            s += Q[i * S + j];
          }
          expect(s).toBeCloseTo(1, 12);
        }
      }),
      FC,
    );
  });

  it("posterior(x_s | x_t, x_0) equals the Bayes product of the dense matrices, for every reachable x_t", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.double({ min: 0.01, max: 0.99, noNaN: true }), fc.double({ min: 0.01, max: 0.99, noNaN: true }), (K, a1, a2) => {
        const [aT, aS] = a1 < a2 ? [a1, a2] : [a2, a1];
        const S = stateCount(kind, K);
        const Qst = transitionMatrix(kind, K, aT / aS); // q(x_t | x_s)
        const Qs = transitionMatrix(kind, K, aS); // q(x_s | x_0)
        const Qt = transitionMatrix(kind, K, aT); // q(x_t | x_0)
        for (let x0 = 0; x0 < K; x0++) {
          for (let xt = 0; xt < S; xt++) {
            const z = Qt[x0 * S + xt];
            if (z === 0) continue;
            const want = Float64Array.from({ length: S }, (_, xs) => (Qst[xs * S + xt] * Qs[x0 * S + xs]) / z);
            expectClose(posterior(kind, K, aS, aT, xt, x0), want, 1e-12, `K=${K} x0=${x0} xt=${xt}`);
            // the model's step with p̃ = δ(x_0) is the posterior (D3PM eq. 4 with a one-hot prediction)
            const onehot = Float64Array.from({ length: K }, (_, j) => (j === x0 ? 1 : 0));
            expectClose(reverseStep(kind, K, aS, aT, xt, onehot), want, 1e-12, `reverseStep K=${K} x0=${x0} xt=${xt}`);
          }
        }
      }),
      FC,
    );
  });

  it("reverseStep is the mixture Σ_x0 q(x_s | x_t, x_0) p̃(x_0) of Bayes products for a spread-out prediction", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 5 }), fc.integer({ min: 0, max: 1e6 }), (K, seed) => {
        const S = stateCount(kind, K);
        const p = new Rng(seed).uniform(new Float64Array(K));
        const sum = p.reduce((a, b) => a + b, 0);
        p.forEach((v, i) => (p[i] = v / sum));
        const [aS, aT] = [0.7, 0.4];
        const Qst = transitionMatrix(kind, K, aT / aS);
        const Qs = transitionMatrix(kind, K, aS);
        const Qt = transitionMatrix(kind, K, aT);
        for (let xt = 0; xt < S; xt++) {
          const want = Float64Array.from({ length: S }, (_, xs) => {
            let s = 0;
            for (let x0 = 0; x0 < K; x0++) if (Qt[x0 * S + xt] > 0) s += (Qst[xs * S + xt] * Qs[x0 * S + xs] * p[x0]) / Qt[x0 * S + xt];
            return s;
          });
          // p̃ is a prediction of x_0 given x_t: only the x_0 that can reach x_t count (an unmasked x_t
          // of the absorbing process is x_0 itself)
          let consistent = 0;
          for (let x0 = 0; x0 < K; x0++) if (Qt[x0 * S + xt] > 0) consistent += p[x0];
          want.forEach((v, i) => (want[i] = v / consistent));
          expectClose(reverseStep(kind, K, aS, aT, xt, p), want, 1e-12, `xt=${xt}`);
        }
      }),
      FC,
    );
  });

  it("corrupt draws q(x_t | x_0): the kept share is α within sampling error", () => {
    const K = 4;
    const n = 40000;
    const x0 = Int32Array.from({ length: n }, (_, i) => i % K);
    const alpha = 0.3;
    const per = kind === "absorbing" ? 1 : 2;
    const xt = corrupt(kind, K, x0, alpha, new Rng(1).uniform(new Float64Array(per * n)));
    // P(x_t = x_0) = α + (1 − α)/K for the uniform process (a redraw can land on x_0)
    const p = kind === "absorbing" ? alpha : alpha + (1 - alpha) / K;
    const same = x0.reduce((s, v, i) => s + (xt[i] === v ? 1 : 0), 0) / n;
    expect(Math.abs(same - p)).toBeLessThan(Z * Math.sqrt((p * (1 - p)) / n));
  });
});
