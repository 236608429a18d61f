// Deterministic solvers of the probability-flow ODE dx/dsigma = (x - D(x, sigma)) / sigma
// (Karras et al. 2022, EDM eq. 4 with sigma(t) = t, s(t) = 1), in VE space over a given sigma sequence.

import { dexpm1, dlog } from "../math/detmath.ts";
import { finite, inRange } from "../validate.ts";
import { type Denoiser, Loop, type SamplerOptions, type SamplerResult } from "./common.ts";
import { churnGamma } from "./steps.ts";

/** EDM's stochastic churn (Alg. 2): S_churn (0 = deterministic), S_tmin, S_tmax, S_noise. */
export interface ChurnOptions extends SamplerOptions {
  sChurn?: number;
  sTmin?: number;
  sTmax?: number;
  sNoise?: number;
}

function churnOptions(opts: ChurnOptions): Record<string, number> {
  const sChurn = opts.sChurn ?? 0;
  const sTmin = opts.sTmin ?? 0;
  const sTmax = opts.sTmax ?? Number.MAX_VALUE;
  const sNoise = opts.sNoise ?? 1;
  inRange("sChurn", sChurn, 0, Infinity, "[)");
  finite("sTmin", sTmin);
  finite("sTmax", sTmax);
  inRange("sNoise", sNoise, 0, Infinity, "[)");
  return { sChurn, sTmin, sTmax, sNoise };
}

/**
 * EDM (Karras et al. 2022) Alg. 2 lines 4-6: raise sigma to sigmaHat = sigma (1 + gamma) by adding noise
 * of variance sigmaHat^2 - sigma^2. Returns [x, sigmaHat]; x is unchanged when gamma = 0.
 */
function churn(loop: Loop, i: number, x: Float32Array, o: Record<string, number>): [Float32Array, number] {
  const sigma = loop.sigmas[i];
  const gamma = churnGamma(sigma, loop.steps, o.sChurn, o.sTmin, o.sTmax);
  if (gamma === 0) return [x, sigma];
  const sigmaHat = sigma * (1 + gamma);
  const z = loop.noise(i, 1);
  const c = o.sNoise * Math.sqrt(sigmaHat * sigmaHat - sigma * sigma);
  const y = new Float32Array(x.length);
  for (let j = 0; j < x.length; j++) y[j] = x[j] + c * z[j];
  return [y, sigmaHat];
}

/**
 * One Euler step of the PF-ODE dx/dsigma = (x - D) / sigma (EDM eq. 4, k-diffusion's to_d) from sigma to
 * sigmaNext: out = x + h (x - den) / sigma, h = sigmaNext - sigma. The same step is flow matching's Euler
 * step on the rectified-flow path x_t = (1 - t) x0 + t eps with sigma = t: there x - D = t v, so
 * (x - D) / t is the velocity v = eps - x0 (Liu et al. 2023; Esser et al. 2024, SD3), and diffusers'
 * FlowMatchEulerDiscreteScheduler steps with it (src/diffusers/schedulers/flow-euler.ts).
 */
export function eulerStep(out: Float32Array, x: Float32Array, den: ArrayLike<number>, sigma: number, sigmaNext: number): void {
  const h = sigmaNext - sigma;
  for (let j = 0; j < out.length; j++) out[j] = x[j] + (h * (x[j] - den[j])) / sigma;
}

/**
 * EDM (Karras et al. 2022) Alg. 2 lines 7-8, Heun's first stage: the slope d = (x - den) / sigma (kept in
 * `d`, float64, for the correction) and the Euler point out = x + (sigmaNext - sigma) d.
 */
export function heunPredict(out: Float32Array, d: Float64Array, x: Float32Array, den: ArrayLike<number>, sigma: number, sigmaNext: number): void {
  const h = sigmaNext - sigma;
  for (let j = 0; j < out.length; j++) {
    d[j] = (x[j] - den[j]) / sigma;
    out[j] = x[j] + h * d[j];
  }
}

/**
 * EDM Alg. 2 lines 9-11, Heun's correction (trapezoidal rule): out = x + h (d + d') / 2 with the slope
 * d' = (xNext - den2) / sigmaNext at the Euler point (sigmaNext > 0). `out` may be `xNext`.
 */
export function heunCorrect(out: Float32Array, x: Float32Array, d: Float64Array, xNext: Float32Array, den2: ArrayLike<number>, h: number, sigmaNext: number): void {
  for (let j = 0; j < out.length; j++) out[j] = x[j] + h * 0.5 * (d[j] + (xNext[j] - den2[j]) / sigmaNext);
}

/** Euler's method on the PF-ODE, with EDM churn (Karras et al. 2022, Alg. 2 without the correction). */
export function sampleEuler(denoiser: Denoiser, x: Float32Array, sigmas: ArrayLike<number>, opts: ChurnOptions = {}): SamplerResult {
  const o = churnOptions(opts);
  const loop = new Loop("euler", denoiser, x, sigmas, opts, o.sChurn > 0);
  let xc = loop.x;
  for (let i = loop.start; i < loop.end; i++) {
    const [xh, sigmaHat] = churn(loop, i, xc, o);
    const den = loop.denoise(xh, sigmaHat);
    const next = new Float32Array(xc.length);
    eulerStep(next, xh, den, sigmaHat, loop.sigmas[i + 1]);
    xc = next;
    loop.after(i, xc, den);
  }
  return loop.finish(xc);
}

/** EDM (Karras et al. 2022) Alg. 2: Heun's 2nd-order method with churn; the step to sigma = 0 is Euler. */
export function sampleHeun(denoiser: Denoiser, x: Float32Array, sigmas: ArrayLike<number>, opts: ChurnOptions = {}): SamplerResult {
  const o = churnOptions(opts);
  const loop = new Loop("heun", denoiser, x, sigmas, opts, o.sChurn > 0);
  let xc = loop.x;
  const n = xc.length;
  for (let i = loop.start; i < loop.end; i++) {
    // lines 4-6: churn
    const [xh, sigmaHat] = churn(loop, i, xc, o);
    const sNext = loop.sigmas[i + 1];
    // line 7-8: Euler step
    const den = loop.denoise(xh, sigmaHat);
    const d = new Float64Array(n);
    const next = new Float32Array(n);
    heunPredict(next, d, xh, den, sigmaHat, sNext);
    // lines 9-11: 2nd-order correction, unless stepping to sigma = 0
    if (sNext !== 0) heunCorrect(next, xh, d, next, loop.denoise(next, sNext), sNext - sigmaHat, sNext);
    xc = next;
    loop.after(i, xc, den);
  }
  return loop.finish(xc);
}

/**
 * DPM-Solver++ (Lu et al. 2022) Alg. 2, "2M": a 2nd-order multistep solver in lambda = -log sigma on
 * the x0 estimates; the first step and the step to sigma = 0 are 1st order. Carries the previous x0
 * estimate and step.
 */
export function sampleDpmpp2m(denoiser: Denoiser, x: Float32Array, sigmas: ArrayLike<number>, opts: SamplerOptions = {}): SamplerResult {
  const loop = new Loop("dpmpp_2m", denoiser, x, sigmas, opts, false);
  let xc = loop.x;
  let old: Float32Array | Float64Array | null = loop.carriedArray("old", xc.length);
  let hLast = loop.carriedNumber("hLast", 0);
  for (let i = loop.start; i < loop.end; i++) {
    const s = loop.sigmas[i];
    const sNext = loop.sigmas[i + 1];
    const den = loop.denoise(xc, s);
    const next = new Float32Array(xc.length);
    if (sNext === 0) {
      next.set(den);
    } else {
      const h = dlog(s) - dlog(sNext); // lambda_{i+1} - lambda_i
      const ratio = sNext / s; // e^-h
      const c = -dexpm1(-h); // 1 - e^-h
      if (old === null) {
        for (let j = 0; j < next.length; j++) next[j] = ratio * xc[j] + c * den[j];
      } else {
        const b = h / (2 * hLast); // 1 / (2 r), r = h_{i-1} / h_i
        const a = 1 + b;
        for (let j = 0; j < next.length; j++) next[j] = ratio * xc[j] + c * (a * den[j] - b * old[j]);
      }
      hLast = h;
    }
    old = den;
    xc = next;
    loop.after(i, xc, den);
  }
  return loop.finish(xc, { old: old ? Array.from(old) : null, hLast });
}
