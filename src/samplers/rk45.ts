// The probability-flow ODE with an adaptive Runge-Kutta 4(5) solver (Dormand & Prince 1980), and the
// exact log-likelihood it gives (Song et al. 2021, "Score-based generative modeling through SDEs",
// sec. 4.3 and App. D.2; Chen et al. 2018 / Grathwohl et al. 2019 for the change of variables).
//
// In u = log sigma the ODE of EDM eq. 4 reads dx/du = x - D(x, e^u): smooth and non-stiff from
// sigma_min to sigma_max. Each batch item has its own step-size controller, so an item's path does not
// depend on which batch it is in.

import type { Denoiser } from "../denoiser/contract.ts";
import { dexp, dlog, dpow } from "../math/detmath.ts";
import { Rng } from "../rng.ts";
import { ArgumentError, f32, int, itemSize, oneOf, positive } from "../validate.ts";
import { Loop, opt, type SamplerOptions } from "./common.ts";

// Dormand-Prince 5(4) tableau.
const C = [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1];
const A = [
  [],
  [1 / 5],
  [3 / 40, 9 / 40],
  [44 / 45, -56 / 15, 32 / 9],
  [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
  [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
  [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
];
// error weights b5 - b4
const E = [71 / 57600, 0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40];

/** The right-hand side for the active items: y is m x dim, u and items have m entries; returns m x dim. */
export type BatchRhs = (y: Float64Array, u: Float64Array, items: Int32Array) => Float64Array;

/**
 * Integrate dy/du = f(y, u) for every item from u0 to u1 (either direction) with per-item adaptive
 * DOPRI5 steps. y (batch x dim) is updated in place; h holds each item's step size (in: initial guess,
 * out: the last accepted proposal). Returns the number of f calls.
 */
export function dopri5(
  f: BatchRhs,
  y: Float64Array,
  dim: number,
  batch: number,
  u0: number,
  u1: number,
  h: Float64Array,
  rtol: number,
  atol: number,
  maxRounds = 100_000,
): number {
  const dir = u1 >= u0 ? 1 : -1;
  const u = new Float64Array(batch).fill(u0);
  const done = new Uint8Array(batch);
  const k1 = new Float64Array(batch * dim);
  const hasK1 = new Uint8Array(batch);
  let calls = 0;
  if (u0 === u1) return 0;
  for (let b = 0; b < batch; b++) if (!(Math.abs(h[b]) > 0)) h[b] = 0.05 * (u1 - u0);
  for (let round = 0; round < maxRounds; round++) {
    const act: number[] = [];
    for (let b = 0; b < batch; b++) if (!done[b]) act.push(b);
    if (act.length === 0) return calls;
    const m = act.length;
    const items = Int32Array.from(act);
    // step sizes, clamped to land on u1
    const hs = new Float64Array(m);
    for (let a = 0; a < m; a++) {
      const b = act[a];
      let hb = dir * Math.abs(h[b]);
      if (dir * (u[b] + hb - u1) > 0) hb = u1 - u[b];
      hs[a] = hb;
    }
    // k1 for items without a cached one (first step)
    const need = act.filter((b) => !hasK1[b]);
    if (need.length > 0) {
      const yy = new Float64Array(need.length * dim);
      const uu = new Float64Array(need.length);
      need.forEach((b, a) => {
        yy.set(y.subarray(b * dim, (b + 1) * dim), a * dim);
        uu[a] = u[b];
      });
      const kk = f(yy, uu, Int32Array.from(need));
      calls++;
      need.forEach((b, a) => {
        k1.set(kk.subarray(a * dim, (a + 1) * dim), b * dim);
        hasK1[b] = 1;
      });
    }
    const K: Float64Array[] = [new Float64Array(m * dim)];
    for (let a = 0; a < m; a++) K[0].set(k1.subarray(act[a] * dim, (act[a] + 1) * dim), a * dim);
    let y5 = new Float64Array(0);
    for (let s = 1; s < 7; s++) {
      const ys = new Float64Array(m * dim);
      const us = new Float64Array(m);
      for (let a = 0; a < m; a++) {
        const b = act[a];
        us[a] = s === 6 ? u[b] + hs[a] : u[b] + C[s] * hs[a];
        for (let i = 0; i < dim; i++) {
          let acc = 0;
          for (let r = 0; r < s; r++) acc += A[s][r] * K[r][a * dim + i];
          ys[a * dim + i] = y[b * dim + i] + hs[a] * acc;
        }
      }
      if (s === 6) y5 = ys;
      K.push(f(ys, us, items));
      calls++;
    }
    for (let a = 0; a < m; a++) {
      const b = act[a];
      let err = 0;
      for (let i = 0; i < dim; i++) {
        let e = 0;
        for (let r = 0; r < 7; r++) e += E[r] * K[r][a * dim + i];
        e *= hs[a];
        const sc = atol + rtol * Math.max(Math.abs(y[b * dim + i]), Math.abs(y5[a * dim + i]));
        err += (e / sc) * (e / sc);
      }
      err = Math.sqrt(err / dim);
      if (!Number.isFinite(err)) throw new ArgumentError("denoiser", `returned a non-finite value at sigma = ${dexp(u[b])}`);
      const fac = err === 0 ? 5 : Math.min(5, Math.max(0.2, 0.9 * dpow(err, -0.2)));
      if (err <= 1) {
        const landed = u[b] + hs[a];
        u[b] = dir * (landed - u1) >= 0 ? u1 : landed;
        y.set(y5.subarray(a * dim, (a + 1) * dim), b * dim);
        k1.set(K[6].subarray(a * dim, (a + 1) * dim), b * dim);
        if (u[b] === u1) done[b] = 1;
        h[b] = hs[a] * fac;
      } else {
        h[b] = hs[a] * fac;
      }
    }
  }
  throw new ArgumentError("rtol", `the ODE needed more than ${maxRounds} steps; loosen rtol/atol`);
}

export interface Rk45Options extends SamplerOptions {
  rtol?: number;
  atol?: number;
}

/**
 * The probability-flow ODE (Song et al. 2021 eq. 13; EDM eq. 4) solved adaptively with RK45 between
 * consecutive sigmas (one sampler step per interval, so onStep/resume see the given grid); the step to
 * sigma = 0 is the Tweedie estimate D(x, sigma). A short grid suffices: e.g. [sigmaMax, sigmaMin, 0].
 */
export function sampleRk45(denoiser: Denoiser, x: Float32Array, sigmas: ArrayLike<number>, opts: Rk45Options = {}): Float32Array {
  const rtol = positive("rtol", opt(opts, "rtol", 1e-4));
  const atol = positive("atol", opt(opts, "atol", 1e-4));
  const loop = new Loop("rk45", denoiser, x, sigmas, opts, { rtol, atol }, false);
  const B = loop.batch;
  const d = loop.size;
  const hc = loop.carry.h;
  const h = Array.isArray(hc) ? Float64Array.from(hc) : new Float64Array(B);
  let xc = loop.x;
  const f: BatchRhs = (y, u, items) => {
    const m = items.length;
    const x32 = Float32Array.from(y);
    const sig = new Float64Array(m);
    for (let a = 0; a < m; a++) sig[a] = dexp(u[a]);
    const den = loop.denoiseEachSub(x32, sig, m);
    const out = new Float64Array(y.length);
    for (let j = 0; j < y.length; j++) out[j] = y[j] - den[j];
    return out;
  };
  for (let i = loop.start; i < loop.end; i++) {
    const s = loop.sigmas[i];
    const sn = loop.sigmas[i + 1];
    let den: Float32Array;
    if (sn === 0) {
      den = loop.denoise(xc, s);
      xc = Float32Array.from(den);
    } else {
      const y = Float64Array.from(xc);
      dopri5(f, y, d, B, dlog(s), dlog(sn), h, rtol, atol);
      xc = Float32Array.from(y);
      den = xc;
    }
    loop.after(i, xc, den);
  }
  return loop.finish(xc, { h: Array.from(h) });
}

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
