// Deterministic solvers of the probability-flow ODE dx/dsigma = (x - D(x, sigma)) / sigma
// (Karras et al. 2022, EDM eq. 4 with sigma(t) = t, s(t) = 1), in VE space over a given sigma sequence.

import { finite, inRange } from "../validate.ts";
import { type Denoiser, Loop, type SamplerOptions, type SamplerResult } from "./common.ts";
import { dpmSolverStep, dpmStepSize } from "./dpmsolver.ts";
import { churnGamma } from "./steps.ts";

/** EDM's stochastic churn (Alg. 2): S_churn (0 = deterministic), S_tmin, S_tmax, S_noise. */
export interface ChurnOptions extends SamplerOptions {
  sChurn?: number;
  sTmin?: number;
  sTmax?: number;
  sNoise?: number;
}

/** The churn options checked, with EDM's defaults (no churn). */
export function churnOptions(opts: ChurnOptions): Record<string, number> {
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
export function churn(loop: Loop, i: number, x: Float32Array, o: Record<string, number>): [Float32Array, number] {
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
 * Heun's predictor (EDM Alg. 2 lines 7-8): the Euler step into `out`; returns the slope
 * d = (x - D) / sigma in float64 for the corrector.
 */
export function heunPredict(out: Float32Array, x: Float32Array, den: ArrayLike<number>, sigma: number, sigmaNext: number): Float64Array {
  const n = out.length;
  const d = new Float64Array(n);
  const h = sigmaNext - sigma;
  for (let j = 0; j < n; j++) {
    d[j] = (x[j] - den[j]) / sigma;
    out[j] = x[j] + h * d[j];
  }
  return d;
}

/**
 * Heun's corrector (EDM Alg. 2 lines 9-11): x' = x + h (d + d') / 2 with d' = (xPred - D(xPred,
 * sigmaNext)) / sigmaNext, into `out` (which may be xPred itself). Not defined for sigmaNext = 0, where
 * the method takes the Euler step alone.
 */
export function heunCorrect(
  out: Float32Array,
  x: Float32Array,
  d: Float64Array,
  xPred: Float32Array,
  den2: ArrayLike<number>,
  sigma: number,
  sigmaNext: number,
): void {
  const h = sigmaNext - sigma;
  for (let j = 0; j < out.length; j++) out[j] = x[j] + h * 0.5 * (d[j] + (xPred[j] - den2[j]) / sigmaNext);
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
    const next = new Float32Array(n);
    const d = heunPredict(next, xh, den, sigmaHat, sNext);
    // lines 9-11: 2nd-order correction, unless stepping to sigma = 0
    if (sNext !== 0) heunCorrect(next, xh, d, next, loop.denoise(next, sNext), sigmaHat, sNext);
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
    const order = old === null ? 1 : 2;
    dpmSolverStep(next, xc, { algorithm: "dpmsolver++", solverType: "midpoint", order, sigma: s, sigmaNext: sNext, hPrev: [hLast], outputs: old === null ? [den] : [den, old] });
    if (sNext !== 0) hLast = dpmStepSize(s, sNext);
    old = den;
    xc = next;
    loop.after(i, xc, den);
  }
  return loop.finish(xc, { old: old ? Array.from(old) : null, hLast });
}
