// Statistics for comparing sample sets from the 2-D mixture test bed.

import type { GaussianMixture } from "../../src/testbed/mixture.ts";

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
