// An exact-score test bed: a Gaussian mixture p(x0) = sum_k w_k N(mu_k, S_k). Noised to level sigma
// (x = x0 + sigma n) it stays a mixture with covariances C_k = S_k + sigma^2 I, so the ideal denoiser
// E[x0 | x] has a closed form at every sigma:
//   D(x) = sum_k r_k(x) (mu_k + S_k C_k^{-1} (x - mu_k)),  r_k = softmax_k(log w_k + log N(x; mu_k, C_k)).
// Samplers can be explored and tested against it without training anything. Scalar math is float64 with
// the deterministic exp/log (same bytes in every engine); outputs are float32 like any Denoiser's.

import type { Denoiser, LabelledDenoiser } from "../denoiser/contract.ts";
import { dexp, dlog } from "../math/detmath.ts";
import type { Rng } from "../rng.ts";
import { ArgumentError, finite, int, itemSize } from "../validate.ts";

const LOG_2PI = 1.8378770664093453;

export interface MixtureSpec {
  /** Component weights (normalised for you), each > 0. */
  weights: number[];
  /** Component means, K x d. */
  means: number[][];
  /** Component covariances, K x d x d, symmetric positive definite. */
  covariances: number[][][];
}

/** In-place Cholesky of a d x d SPD matrix (row-major, lower triangle); returns false if not PD. */
function cholesky(a: Float64Array, d: number): boolean {
  for (let j = 0; j < d; j++) {
    let s = a[j * d + j];
    for (let k = 0; k < j; k++) s -= a[j * d + k] * a[j * d + k];
    if (!(s > 0)) return false;
    const l = Math.sqrt(s);
    a[j * d + j] = l;
    for (let i = j + 1; i < d; i++) {
      let t = a[i * d + j];
      for (let k = 0; k < j; k++) t -= a[i * d + k] * a[j * d + k];
      a[i * d + j] = t / l;
    }
  }
  return true;
}

/** Solve (L L^T) out = b with L from cholesky. */
function cholSolve(L: Float64Array, d: number, b: ArrayLike<number>, out: Float64Array): void {
  for (let i = 0; i < d; i++) {
    let t = b[i];
    for (let k = 0; k < i; k++) t -= L[i * d + k] * out[k];
    out[i] = t / L[i * d + i];
  }
  for (let i = d - 1; i >= 0; i--) {
    let t = out[i];
    for (let k = i + 1; k < d; k++) t -= L[k * d + i] * out[k];
    out[i] = t / L[i * d + i];
  }
}

/** The per-item quantities of the noised mixture at (x, sigma). */
interface Posterior {
  /** responsibilities r_k */
  r: Float64Array;
  /** log p_sigma(x) */
  logp: number;
  /** C_k^{-1} (x - mu_k), K x d */
  w: Float64Array;
  /** per-component posterior means m_k = mu_k + S_k w_k, K x d */
  m: Float64Array;
  /** Cholesky factors of C_k, K x d x d */
  L: Float64Array;
}

export class GaussianMixture {
  readonly dim: number;
  readonly components: number;
  readonly weights: Float64Array;
  /** K x d */
  readonly means: Float64Array;
  /** K x d x d */
  readonly covariances: Float64Array;
  private readonly logW: Float64Array;
  private readonly chol0: Float64Array;

  constructor(spec: MixtureSpec) {
    if (!spec || !Array.isArray(spec.weights) || spec.weights.length < 1) {
      throw new ArgumentError("weights", "must be a non-empty array of positive numbers");
    }
    const K = spec.weights.length;
    if (!Array.isArray(spec.means) || spec.means.length !== K) throw new ArgumentError("means", `must hold ${K} means (one per weight)`);
    if (!Array.isArray(spec.covariances) || spec.covariances.length !== K) {
      throw new ArgumentError("covariances", `must hold ${K} matrices (one per weight)`);
    }
    const d = spec.means[0]?.length ?? 0;
    int("means[0].length", d, 1, 4096);
    this.dim = d;
    this.components = K;
    this.weights = new Float64Array(K);
    this.means = new Float64Array(K * d);
    this.covariances = new Float64Array(K * d * d);
    this.chol0 = new Float64Array(K * d * d);
    let total = 0;
    for (let k = 0; k < K; k++) {
      const w = finite(`weights[${k}]`, spec.weights[k]);
      if (!(w > 0)) throw new ArgumentError(`weights[${k}]`, `must be > 0, got ${w}`);
      total += w;
      if (spec.means[k]?.length !== d) throw new ArgumentError(`means[${k}]`, `must have length ${d}`);
      for (let i = 0; i < d; i++) this.means[k * d + i] = finite(`means[${k}][${i}]`, spec.means[k][i]);
      const S = spec.covariances[k];
      if (!Array.isArray(S) || S.length !== d) throw new ArgumentError(`covariances[${k}]`, `must be ${d} x ${d}`);
      for (let i = 0; i < d; i++) {
        if (!Array.isArray(S[i]) || S[i].length !== d) throw new ArgumentError(`covariances[${k}]`, `must be ${d} x ${d}`);
        for (let j = 0; j < d; j++) {
          const v = finite(`covariances[${k}][${i}][${j}]`, S[i][j]);
          if (v !== S[j][i]) throw new ArgumentError(`covariances[${k}]`, "must be symmetric");
          this.covariances[(k * d + i) * d + j] = v;
        }
      }
      const L = this.covariances.slice(k * d * d, (k + 1) * d * d);
      if (!cholesky(L, d)) throw new ArgumentError(`covariances[${k}]`, "must be positive definite");
      this.chol0.set(L, k * d * d);
    }
    this.logW = new Float64Array(K);
    for (let k = 0; k < K; k++) {
      this.weights[k] = spec.weights[k] / total;
      this.logW[k] = dlog(this.weights[k]);
    }
  }

  /** A standard 2-D test mixture: three well-separated, correlated components with unequal weights. */
  static example2d(): GaussianMixture {
    return new GaussianMixture({
      weights: [0.5, 0.3, 0.2],
      means: [
        [-2, 0],
        [2, 1],
        [0.5, -2.5],
      ],
      covariances: [
        [
          [0.3, 0.12],
          [0.12, 0.2],
        ],
        [
          [0.15, -0.05],
          [-0.05, 0.25],
        ],
        [
          [0.1, 0],
          [0, 0.1],
        ],
      ],
    });
  }

  /**
   * `count` exact samples; item i is a pure function of (rng, firstItem + i): its component from a
   * uniform of rng.stream("component"), its value mu + L z with z from rng.stream("value").
   */
  sample(count: number, rng: Rng, firstItem = 0): Float32Array {
    int("count", count, 1);
    int("firstItem", firstItem, 0);
    const d = this.dim;
    const out = new Float32Array(count * d);
    const u = new Float64Array(1);
    const z = new Float64Array(d);
    const rc = rng.stream("component");
    const rv = rng.stream("value");
    for (let b = 0; b < count; b++) {
      rc.uniform(u, firstItem + b);
      let k = 0;
      let c = this.weights[0];
      while (u[0] > c && k < this.components - 1) c += this.weights[++k];
      rv.normal(z, firstItem + b);
      for (let i = 0; i < d; i++) {
        let v = this.means[k * d + i];
        for (let j = 0; j <= i; j++) v += this.chol0[(k * d + i) * d + j] * z[j];
        out[b * d + i] = v;
      }
    }
    return out;
  }

  private posterior(x: ArrayLike<number>, off: number, sigma: number): Posterior {
    const d = this.dim;
    const K = this.components;
    const L = new Float64Array(K * d * d);
    const w = new Float64Array(K * d);
    const m = new Float64Array(K * d);
    const lp = new Float64Array(K);
    const diff = new Float64Array(d);
    const sol = new Float64Array(d);
    const s2 = sigma * sigma;
    let mx = -Infinity;
    for (let k = 0; k < K; k++) {
      const C = this.covariances.slice(k * d * d, (k + 1) * d * d);
      for (let i = 0; i < d; i++) C[i * d + i] += s2;
      cholesky(C, d);
      L.set(C, k * d * d);
      for (let i = 0; i < d; i++) diff[i] = x[off + i] - this.means[k * d + i];
      cholSolve(C, d, diff, sol);
      let quad = 0;
      let logdet = 0;
      for (let i = 0; i < d; i++) {
        quad += diff[i] * sol[i];
        logdet += dlog(C[i * d + i]);
        w[k * d + i] = sol[i];
      }
      for (let i = 0; i < d; i++) {
        let v = this.means[k * d + i];
        for (let j = 0; j < d; j++) v += this.covariances[(k * d + i) * d + j] * sol[j];
        m[k * d + i] = v;
      }
      lp[k] = this.logW[k] - 0.5 * quad - logdet - 0.5 * d * LOG_2PI;
      if (lp[k] > mx) mx = lp[k];
    }
    let z = 0;
    const r = new Float64Array(K);
    for (let k = 0; k < K; k++) {
      r[k] = dexp(lp[k] - mx);
      z += r[k];
    }
    for (let k = 0; k < K; k++) r[k] /= z;
    return { r, logp: mx + dlog(z), w, m, L };
  }

  /** The exact denoiser E[x0 | x0 + sigma n = x], a Denoiser (bound: pass it around freely). */
  readonly denoiser: Denoiser = (x, sigma, batch) => this.denoise(x, sigma, batch);

  denoise(x: Float32Array, sigma: Float64Array, batch: number): Float32Array {
    const d = this.dim;
    if (itemSize("x", x, batch) !== d) throw new ArgumentError("x", `items must have ${d} values, got ${x.length / batch}`);
    if (sigma.length !== batch) throw new ArgumentError("sigma", `must have one value per item (${batch}), got ${sigma.length}`);
    const out = new Float32Array(x.length);
    for (let b = 0; b < batch; b++) {
      const p = this.posterior(x, b * d, sigma[b]);
      for (let i = 0; i < d; i++) {
        let v = 0;
        for (let k = 0; k < this.components; k++) v += p.r[k] * p.m[k * d + i];
        out[b * d + i] = v;
      }
    }
    return out;
  }

  /**
   * The class-conditional exact denoiser: label k in 0..K-1 denoises under component k alone, label -1
   * (or no labels) under the whole mixture (the null class of classifier-free guidance).
   */
  readonly conditionalDenoiser: LabelledDenoiser = (x, sigma, batch, labels) => {
    if (labels === undefined) return this.denoise(x, sigma, batch);
    const d = this.dim;
    if (itemSize("x", x, batch) !== d) throw new ArgumentError("x", `items must have ${d} values`);
    if (labels.length !== batch) throw new ArgumentError("labels", `must have one label per item (${batch})`);
    const out = new Float32Array(x.length);
    for (let b = 0; b < batch; b++) {
      const p = this.posterior(x, b * d, sigma[b]);
      const k = labels[b];
      if (!(Number.isInteger(k) && k >= -1 && k < this.components)) throw new ArgumentError(`labels[${b}]`, `must be in [-1, ${this.components - 1}], got ${k}`);
      for (let i = 0; i < d; i++) {
        let v = 0;
        if (k >= 0) v = p.m[k * d + i];
        else for (let c = 0; c < this.components; c++) v += p.r[c] * p.m[c * d + i];
        out[b * d + i] = v;
      }
    }
    return out;
  };

  /** log p_sigma(x) in nats for one item (x of length dim): the density of the mixture noised to sigma. */
  logDensity(x: ArrayLike<number>, sigma = 0): number {
    if (x.length !== this.dim) throw new ArgumentError("x", `must have ${this.dim} values, got ${x.length}`);
    if (!(sigma >= 0)) throw new ArgumentError("sigma", `must be >= 0, got ${sigma}`);
    return this.posterior(x, 0, sigma).logp;
  }

  /**
   * The exact Jacobian-vector product J v of the denoiser, J = dD/dx, in float64 (for the likelihood's
   * divergence): J = sum_k r_k S_k C_k^{-1} + sum_k m_k (grad r_k)^T, grad r_k = r_k (g_k - sum_j r_j g_j),
   * g_k = -C_k^{-1}(x - mu_k).
   */
  readonly jvp = (x: Float32Array | Float64Array, sigma: Float64Array, batch: number, v: Float64Array): Float64Array => {
    const d = this.dim;
    const K = this.components;
    const out = new Float64Array(batch * d);
    const cv = new Float64Array(d);
    for (let b = 0; b < batch; b++) {
      const p = this.posterior(x, b * d, sigma[b]);
      const vb = v.subarray(b * d, (b + 1) * d);
      // gbar . v with g_k = -w_k
      let gbarV = 0;
      for (let k = 0; k < K; k++) {
        let gv = 0;
        for (let i = 0; i < d; i++) gv -= p.w[k * d + i] * vb[i];
        gbarV += p.r[k] * gv;
      }
      for (let k = 0; k < K; k++) {
        const Lk = p.L.subarray(k * d * d, (k + 1) * d * d);
        cholSolve(Lk, d, vb, cv);
        let gv = 0;
        for (let i = 0; i < d; i++) gv -= p.w[k * d + i] * vb[i];
        const coef = p.r[k] * (gv - gbarV);
        for (let i = 0; i < d; i++) {
          let sv = 0;
          for (let j = 0; j < d; j++) sv += this.covariances[(k * d + i) * d + j] * cv[j];
          out[b * d + i] += p.r[k] * sv + coef * p.m[k * d + i];
        }
      }
    }
    return out;
  };

  /** The most responsible component of each item of x at sigma = 0 (for per-component statistics). */
  assign(x: Float32Array): Int32Array {
    const d = this.dim;
    const n = itemSize("x", x, 1) / d;
    const out = new Int32Array(n);
    for (let b = 0; b < n; b++) {
      const p = this.posterior(x, b * d, 0);
      let best = 0;
      for (let k = 1; k < this.components; k++) if (p.r[k] > p.r[best]) best = k;
      out[b] = best;
    }
    return out;
  }
}
