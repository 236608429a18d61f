// Statistics for the empirical tests: moments, correlation and distribution distances of samples, and
// the per-component statistics of samples from the 2-D Gaussian mixture test bed. Every bound is a
// z-score on the sampling distribution of the statistic, computed from n, never tuned by hand. With Z = 6
// a correct implementation fails with probability ~2e-9 per check (and never in practice: every seed is
// fixed, so a passing run stays passing), while a wrong formula moves the statistic by many standard
// errors at the sample sizes used.

import type { GaussianMixture } from "../../src/testbed/mixture.ts";

/** Two-sided z used by the statistical bounds of test/math. */
export const Z = 6;

export interface Moments {
  n: number;
  mean: number;
  /** Unbiased sample variance. */
  variance: number;
  /** Sample skewness m3 / m2^1.5. */
  skew: number;
  /** Sample excess kurtosis m4 / m2^2 - 3. */
  exKurt: number;
}

/** Moments of a sample in float64 (two-pass: mean first, then central sums). */
export function moments(x: ArrayLike<number>): Moments {
  const n = x.length;
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i];
  const mean = s / n;
  let m2 = 0;
  let m3 = 0;
  let m4 = 0;
  for (let i = 0; i < n; i++) {
    const d = x[i] - mean;
    const d2 = d * d;
    m2 += d2;
    m3 += d2 * d;
    m4 += d2 * d2;
  }
  const variance = m2 / (n - 1);
  m2 /= n;
  m3 /= n;
  m4 /= n;
  return { n, mean, variance, skew: m3 / m2 ** 1.5, exKurt: m4 / (m2 * m2) - 3 };
}

/** Standard error of the sample mean of n draws with variance v. */
export const seMean = (v: number, n: number) => Math.sqrt(v / n);
/** Standard error of the unbiased sample variance of n normal draws with variance v: v sqrt(2/(n-1)) (chi-square with n-1 d.o.f., normal approximation). */
export const seVar = (v: number, n: number) => v * Math.sqrt(2 / (n - 1));
/** Standard errors of sample skewness and excess kurtosis of normal data: sqrt(6/n), sqrt(24/n). */
export const seSkew = (n: number) => Math.sqrt(6 / n);
export const seKurt = (n: number) => Math.sqrt(24 / n);

/** Pearson correlation of two equal-length samples; under independence its standard error is 1/sqrt(n). */
export function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma;
    const db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return sab / Math.sqrt(saa * sbb);
}

/** Kolmogorov-Smirnov statistic D_n of a sample against Uniform(0, 1). */
export function ksUniform(x: ArrayLike<number>): number {
  const s = Float64Array.from(x).sort();
  const n = s.length;
  let d = 0;
  for (let i = 0; i < n; i++) d = Math.max(d, (i + 1) / n - s[i], s[i] - i / n);
  return d;
}

/**
 * Dvoretzky-Kiefer-Wolfowitz (Massart's constant): P(D_n > eps) <= 2 exp(-2 n eps^2). The eps with
 * failure probability p: sqrt(ln(2/p) / (2n)). p = 1e-9 matches Z = 6.
 */
export const dkwBound = (n: number, p = 1e-9) => Math.sqrt(Math.log(2 / p) / (2 * n));

/** Normal CDF (Abramowitz-Stegun 7.1.26 erf, |error| < 1.5e-7): for the KS test of normals. */
export function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z);
  return x >= 0 ? 0.5 * (1 + y) : 0.5 * (1 - y);
}

/** Squared energy distance (Szekely & Rizzo): 2 E|X-Y| - E|X-X'| - E|Y-Y'| (V-statistic). */
export function energyDistance(a: Float32Array, b: Float32Array, d: number): number {
  const meanDist = (p: Float32Array, q: Float32Array): number => {
    const np = p.length / d;
    const nq = q.length / d;
    let s = 0;
    for (let i = 0; i < np; i++) {
      for (let j = 0; j < nq; j++) {
        let r = 0;
        for (let k = 0; k < d; k++) {
          const t = p[i * d + k] - q[j * d + k];
          r += t * t;
        }
        s += Math.sqrt(r);
      }
    }
    return s / (np * nq);
  };
  return 2 * meanDist(a, b) - meanDist(a, a) - meanDist(b, b);
}

export interface ComponentStats {
  weight: number[];
  mean: number[][];
  cov: number[][][];
  count: number[];
}

/** Per-component weights, means and covariances, each sample assigned to its most responsible component. */
export function componentStats(gm: GaussianMixture, x: Float32Array): ComponentStats {
  const d = gm.dim;
  const K = gm.components;
  const a = gm.assign(x);
  const n = a.length;
  const count = new Array(K).fill(0);
  const mean = Array.from({ length: K }, () => new Array(d).fill(0));
  const cov = Array.from({ length: K }, () => Array.from({ length: d }, () => new Array(d).fill(0)));
  for (let i = 0; i < n; i++) {
    count[a[i]]++;
    for (let p = 0; p < d; p++) mean[a[i]][p] += x[i * d + p];
  }
  for (let k = 0; k < K; k++) for (let p = 0; p < d; p++) mean[k][p] /= Math.max(1, count[k]);
  for (let i = 0; i < n; i++) {
    const k = a[i];
    for (let p = 0; p < d; p++) for (let q = 0; q < d; q++) cov[k][p][q] += (x[i * d + p] - mean[k][p]) * (x[i * d + q] - mean[k][q]);
  }
  for (let k = 0; k < K; k++) for (let p = 0; p < d; p++) for (let q = 0; q < d; q++) cov[k][p][q] /= Math.max(1, count[k] - 1);
  return { weight: count.map((c) => c / n), mean, cov, count };
}

/**
 * Compare a sample's component statistics with the mixture's parameters, with bounds from the sample
 * size: z = |estimate - truth| / standard error must stay below `zMax` for every weight, mean entry and
 * covariance entry. Standard errors: weight sqrt(w(1-w)/n); mean entry sqrt(S_pp / n_k); covariance
 * entry sqrt((S_pq^2 + S_pp S_qq) / n_k) (Gaussian). Returns the largest z and where it occurred.
 */
export function worstZ(gm: GaussianMixture, x: Float32Array): { z: number; where: string } {
  const st = componentStats(gm, x);
  const d = gm.dim;
  const n = x.length / d;
  let worst = { z: 0, where: "" };
  const upd = (z: number, where: string) => {
    if (!(z <= worst.z)) worst = { z, where };
  };
  for (let k = 0; k < gm.components; k++) {
    const w = gm.weights[k];
    upd(Math.abs(st.weight[k] - w) / Math.sqrt((w * (1 - w)) / n), `weight[${k}] ${st.weight[k].toFixed(4)} vs ${w}`);
    const nk = Math.max(1, st.count[k]);
    for (let p = 0; p < d; p++) {
      const S = (pp: number, qq: number) => gm.covariances[(k * d + pp) * d + qq];
      upd(Math.abs(st.mean[k][p] - gm.means[k * d + p]) / Math.sqrt(S(p, p) / nk), `mean[${k}][${p}] ${st.mean[k][p].toFixed(4)}`);
      for (let q = p; q < d; q++) {
        const se = Math.sqrt((S(p, q) * S(p, q) + S(p, p) * S(q, q)) / nk);
        upd(Math.abs(st.cov[k][p][q] - S(p, q)) / se, `cov[${k}][${p}][${q}] ${st.cov[k][p][q].toFixed(4)} vs ${S(p, q)}`);
      }
    }
  }
  return worst;
}

/**
 * Pearson's chi-square statistic of observed counts against cell probabilities (cells with probability 0
 * must be empty: a count there returns Infinity), and its degrees of freedom (non-empty cells − 1). Under
 * the null the statistic has mean df and standard deviation sqrt(2 df); chiSquareBound is df + Z sqrt(2 df)
 * (normal approximation, fine for the dozens of cells with expected counts in the hundreds used here).
 */
export function chiSquare(counts: ArrayLike<number>, probs: ArrayLike<number>): { stat: number; df: number } {
  let n = 0;
  for (let i = 0; i < counts.length; i++) n += counts[i];
  let stat = 0;
  let cells = 0;
  for (let i = 0; i < counts.length; i++) {
    if (probs[i] === 0) {
      if (counts[i] > 0) return { stat: Infinity, df: 0 };
      continue;
    }
    cells++;
    const e = n * probs[i];
    stat += (counts[i] - e) ** 2 / e;
  }
  return { stat, df: cells - 1 };
}

export const chiSquareBound = (df: number) => df + Z * Math.sqrt(2 * df);
