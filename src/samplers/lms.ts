// Linear multistep (Adams–Bashforth in sigma) on the PF-ODE dx/dsigma = (x - D) / sigma, as k-diffusion's
// sample_lms and diffusers' LMSDiscreteScheduler run it: the step from sigma_i to sigma_{i+1} integrates
// the Lagrange polynomial through the last `order` slopes d_{i-k} at sigma_{i-k}. diffusers integrates
// with scipy.integrate.quad; the integrand is a polynomial in sigma, so here it is integrated exactly.

import { ArgumentError, int } from "../validate.ts";
import { type Denoiser, Loop, type SamplerOptions, type SamplerResult } from "./common.ts";

/**
 * The coefficient of slope d_{i-j} in the order-`order` step from sigmas[i] to sigmas[i+1]:
 * integral over [sigma_i, sigma_{i+1}] of prod_{k != j} (tau - sigma_{i-k}) / (sigma_{i-j} - sigma_{i-k}),
 * the j-th Lagrange basis polynomial (k-diffusion's linear_multistep_coeff). The polynomial is expanded in
 * u = tau - sigma_i (so the large common part of the sigmas cancels exactly) and integrated term by term.
 */
export function lmsCoefficient(sigmas: ArrayLike<number>, i: number, order: number, j: number): number {
  int("order", order, 1, i + 1);
  int("j", j, 0, order - 1);
  if (i + 1 >= sigmas.length) throw new ArgumentError("i", `must leave a next sigma: i = ${i}, ${sigmas.length} sigmas`);
  const si = sigmas[i];
  const sj = sigmas[i - j];
  let poly = [1]; // coefficients of u^0, u^1, ...
  for (let k = 0; k < order; k++) {
    if (k === j) continue;
    const sk = sigmas[i - k];
    const denom = sj - sk;
    // multiply by (u + (sigma_i - sigma_{i-k})) / denom
    const c = (si - sk) / denom;
    const next = new Array<number>(poly.length + 1).fill(0);
    for (let m = 0; m < poly.length; m++) {
      next[m] += poly[m] * c;
      next[m + 1] += poly[m] / denom;
    }
    poly = next;
  }
  const h = sigmas[i + 1] - si;
  let sum = 0;
  let hp = h;
  for (let m = 0; m < poly.length; m++) {
    sum += (poly[m] * hp) / (m + 1);
    hp *= h;
  }
  return sum;
}

/** The `order` coefficients of the step from sigmas[i], newest slope first. */
export function lmsCoefficients(sigmas: ArrayLike<number>, i: number, order: number): Float64Array {
  const c = new Float64Array(order);
  for (let j = 0; j < order; j++) c[j] = lmsCoefficient(sigmas, i, order, j);
  return c;
}

/** The LMS update x' = x + sum_j coeffs[j] ds[j] (ds newest first), in float64, rounded once into `out`. */
export function lmsStep(out: Float32Array, x: Float32Array, ds: readonly ArrayLike<number>[], coeffs: ArrayLike<number>): void {
  if (ds.length < coeffs.length) throw new ArgumentError("ds", `must hold ${coeffs.length} slopes, got ${ds.length}`);
  for (let j = 0; j < out.length; j++) {
    let acc = x[j];
    for (let k = 0; k < coeffs.length; k++) acc += coeffs[k] * ds[k][j];
    out[j] = acc;
  }
}

export interface LmsOptions extends SamplerOptions {
  /** Slopes the multistep step uses (k-diffusion's and diffusers' default 4); fewer at the start. */
  order?: number;
}

/**
 * k-diffusion sample_lms: each step evaluates D once, keeps the last `order` slopes d = (x - D) / sigma
 * and takes the Adams–Bashforth step through them (order min(i + 1, order)). Carries the previous slopes.
 */
export function sampleLms(denoiser: Denoiser, x: Float32Array, sigmas: ArrayLike<number>, opts: LmsOptions = {}): SamplerResult {
  const order = int("order", opts.order ?? 4, 1, 16);
  const loop = new Loop("lms", denoiser, x, sigmas, opts, false);
  let xc = loop.x;
  const n = xc.length;
  // the slopes of earlier steps, newest first: min(start, order - 1) of them, carried flat
  const kept = Math.min(loop.start, order - 1);
  const flat = loop.carriedArray("ds", kept * n);
  const ds: Float64Array[] = [];
  for (let k = 0; k < kept; k++) ds.push((flat as Float64Array).slice(k * n, (k + 1) * n));
  for (let i = loop.start; i < loop.end; i++) {
    const s = loop.sigmas[i];
    const den = loop.denoise(xc, s);
    const d = new Float64Array(n);
    for (let j = 0; j < n; j++) d[j] = (xc[j] - den[j]) / s;
    ds.unshift(d);
    if (ds.length > order) ds.pop();
    const next = new Float32Array(n);
    lmsStep(next, xc, ds, lmsCoefficients(loop.sigmas, i, Math.min(i + 1, order)));
    xc = next;
    loop.after(i, xc, den);
  }
  // carry what the next step needs: the newest order - 1 slopes
  const carryDs: number[] = [];
  for (const d of ds.slice(0, Math.min(ds.length, order - 1))) for (let j = 0; j < n; j++) carryDs.push(d[j]);
  return loop.finish(xc, { ds: carryDs });
}
