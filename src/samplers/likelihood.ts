// The exact log-likelihood the probability-flow ODE gives (Song et al. 2021, "Score-based generative
// modeling through SDEs", sec. 4.3 and App. D.2; Chen et al. 2018 / Grathwohl et al. 2019 for the change
// of variables), integrated with the same adaptive RK45 as the rk45 sampler.

import type { Denoiser } from "../denoiser/contract.ts";
import { dexp, dlog } from "../math/detmath.ts";
import { Rng } from "../rng.ts";
import { ArgumentError, f32, int, itemSize, oneOf, positive } from "../validate.ts";
import { type BatchRhs, dopri5 } from "./dopri5.ts";

/** J v of the denoiser at (x, sigma) for a batch: J = dD/dx. */
export type Jvp = (x: Float32Array, sigma: Float64Array, batch: number, v: Float64Array) => Float64Array | Float32Array;

export interface LikelihoodOptions {
  batch?: number;
  /** Integrate from sigmaMin (the likelihood is that of the data convolved with N(0, sigmaMin^2)). Default 1e-3. */
  sigmaMin?: number;
  /** ... to sigmaMax, where the prior is evaluated. Default 80. */
  sigmaMax?: number;
  /** "exact": the trace of J from d Jacobian-vector products; "hutchinson": v^T J v with one fixed v per item. */
  divergence?: "exact" | "hutchinson";
  /** Exact J v (e.g. GaussianMixture.jvp or autograd). Default: central differences of the denoiser. */
  jvp?: Jvp;
  /** Probe vectors for Hutchinson (Rademacher, drawn from rng.stream("hutchinson") by item). */
  rng?: Rng;
  firstItem?: number;
  rtol?: number;
  atol?: number;
  /** log p_{sigmaMax}(x) of one item. Default: N(0, sigmaMax^2 I). */
  prior?: (x: Float64Array, sigmaMax: number) => number;
}

export interface LikelihoodResult {
  /** log p(x) in nats, per item. */
  logLikelihood: Float64Array;
  /** -log p(x) / (d ln 2), per item. */
  bitsPerDim: Float64Array;
  /** Denoiser-equivalent evaluations (ODE right-hand sides). */
  nfe: number;
}

/**
 * Exact log-likelihood through the probability-flow ODE (Song et al. 2021 sec. 4.3 / App. D.2):
 * log p_{sigmaMin}(x) = log p_{sigmaMax}(x_T) + int_{log sigmaMin}^{log sigmaMax} div_x (x - D) du,
 * with div_x (x - D) = d - tr(dD/dx), solved with RK45 together with x.
 */
export function logLikelihood(denoiser: Denoiser, x: Float32Array, opts: LikelihoodOptions = {}): LikelihoodResult {
  if (typeof denoiser !== "function") throw new ArgumentError("denoiser", "must be a function (x, sigma, batch) => x0");
  f32("x", x);
  const B = int("batch", opts.batch ?? 1, 1);
  const d = itemSize("x", x, B);
  const sigmaMin = positive("sigmaMin", opts.sigmaMin ?? 1e-3);
  const sigmaMax = positive("sigmaMax", opts.sigmaMax ?? 80);
  if (!(sigmaMax > sigmaMin)) throw new ArgumentError("sigmaMax", `must be > sigmaMin (${sigmaMin}), got ${sigmaMax}`);
  const method = oneOf("divergence", opts.divergence ?? "exact", ["exact", "hutchinson"] as const);
  const rtol = positive("rtol", opts.rtol ?? 1e-5);
  const atol = positive("atol", opts.atol ?? 1e-5);
  const firstItem = int("firstItem", opts.firstItem ?? 0, 0);
  if (method === "hutchinson" && !(opts.rng instanceof Rng)) throw new ArgumentError("rng", "is needed for the Hutchinson estimator");
  if (opts.jvp !== undefined && typeof opts.jvp !== "function") throw new ArgumentError("jvp", "must be a function");
  let nfe = 0;
  const D = (x32: Float32Array, sig: Float64Array, m: number): Float32Array => {
    nfe++;
    const r = denoiser(x32, sig, m);
    if (!(r instanceof Float32Array) || r.length !== x32.length) throw new ArgumentError("denoiser", `must return a Float32Array of ${x32.length} values`);
    return r;
  };
  const jvp: Jvp =
    opts.jvp ??
    ((x32, sig, m, v) => {
      // central differences, step relative to the scale of x at this noise level
      const out = new Float64Array(x32.length);
      const xp = new Float32Array(x32.length);
      const xm = new Float32Array(x32.length);
      const del = new Float64Array(m);
      for (let b = 0; b < m; b++) {
        del[b] = 1e-3 * Math.max(1, sig[b]);
        for (let j = b * d; j < (b + 1) * d; j++) {
          xp[j] = x32[j] + del[b] * v[j];
          xm[j] = x32[j] - del[b] * v[j];
        }
      }
      const dp = D(xp, sig, m);
      const dm = D(xm, sig, m);
      for (let b = 0; b < m; b++) {
        for (let j = b * d; j < (b + 1) * d; j++) out[j] = (dp[j] - dm[j]) / (2 * del[b]);
      }
      return out;
    });
  // Hutchinson probes, fixed per item for the whole solve
  let probes: Float64Array | null = null;
  if (method === "hutchinson") {
    // Rademacher probes (Hutchinson 1990): lower variance than Gaussian ones when J is near diagonal
    probes = new Float64Array(B * d);
    const r = (opts.rng as Rng).stream("hutchinson");
    for (let b = 0; b < B; b++) r.uniform(probes.subarray(b * d, (b + 1) * d), firstItem + b);
    for (let j = 0; j < probes.length; j++) probes[j] = probes[j] < 0.5 ? -1 : 1;
  }
  const dim = d + 1;
  const f: BatchRhs = (y, u, items) => {
    const m = items.length;
    const x32 = new Float32Array(m * d);
    const sig = new Float64Array(m);
    for (let a = 0; a < m; a++) {
      sig[a] = dexp(u[a]);
      for (let i = 0; i < d; i++) x32[a * d + i] = y[a * dim + i];
    }
    const den = D(x32, sig, m);
    const tr = new Float64Array(m);
    if (probes) {
      const v = new Float64Array(m * d);
      for (let a = 0; a < m; a++) v.set(probes.subarray(items[a] * d, (items[a] + 1) * d), a * d);
      const jv = jvp(x32, sig, m, v);
      for (let a = 0; a < m; a++) for (let i = 0; i < d; i++) tr[a] += v[a * d + i] * jv[a * d + i];
    } else {
      for (let i = 0; i < d; i++) {
        const v = new Float64Array(m * d);
        for (let a = 0; a < m; a++) v[a * d + i] = 1;
        const jv = jvp(x32, sig, m, v);
        for (let a = 0; a < m; a++) tr[a] += jv[a * d + i];
      }
    }
    const out = new Float64Array(m * dim);
    for (let a = 0; a < m; a++) {
      for (let i = 0; i < d; i++) out[a * dim + i] = y[a * dim + i] - den[a * d + i];
      out[a * dim + d] = d - tr[a];
    }
    return out;
  };
  const y = new Float64Array(B * dim);
  for (let b = 0; b < B; b++) for (let i = 0; i < d; i++) y[b * dim + i] = x[b * d + i];
  const h = new Float64Array(B);
  dopri5(f, y, dim, B, dlog(sigmaMin), dlog(sigmaMax), h, rtol, atol);
  const ll = new Float64Array(B);
  const bpd = new Float64Array(B);
  const prior =
    opts.prior ??
    ((xT: Float64Array, s: number) => {
      let q = 0;
      for (let i = 0; i < xT.length; i++) q += xT[i] * xT[i];
      return -0.5 * q / (s * s) - xT.length * dlog(s) - 0.5 * xT.length * 1.8378770664093453;
    });
  for (let b = 0; b < B; b++) {
    const xT = y.slice(b * dim, b * dim + d);
    ll[b] = prior(xT, sigmaMax) + y[b * dim + d];
    bpd[b] = -ll[b] / (d * Math.LN2);
  }
  return { logLikelihood: ll, bitsPerDim: bpd, nfe };
}
