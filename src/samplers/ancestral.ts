// Stochastic samplers that add fresh noise each step, in VE space (x = x0 + sigma n). With a VP model
// wrapped as a Denoiser, each equals its paper's VP update divided by alpha (the same sample, rescaled).

import { dexp, dexpm1, dlog } from "../math/detmath.ts";
import { inRange, oneOf } from "../validate.ts";
import { ancestralStep, carried, type Denoiser, Loop, opt, type SamplerOptions } from "./common.ts";

export interface AncestralOptions extends SamplerOptions {
  /** Noise scale: 1 = the DDPM posterior's noise, 0 = deterministic. */
  eta?: number;
  sNoise?: number;
}

/** Euler ancestral (k-diffusion sample_euler_ancestral): an Euler step to sigmaDown, then noise sigmaUp. */
export function sampleEulerAncestral(
  denoiser: Denoiser,
  x: Float32Array,
  sigmas: ArrayLike<number>,
  opts: AncestralOptions = {},
): Float32Array {
  const eta = inRange("eta", opt(opts, "eta", 1), 0, Infinity, "[)");
  const sNoise = inRange("sNoise", opt(opts, "sNoise", 1), 0, Infinity, "[)");
  const loop = new Loop("euler_ancestral", denoiser, x, sigmas, opts, { eta, sNoise }, eta > 0);
  let xc = loop.x;
  for (let i = loop.start; i < loop.end; i++) {
    const s = loop.sigmas[i];
    const den = loop.denoise(xc, s);
    const { sigmaDown, sigmaUp } = ancestralStep(s, loop.sigmas[i + 1], eta);
    const next = new Float32Array(xc.length);
    for (let j = 0; j < next.length; j++) next[j] = xc[j] + ((sigmaDown - s) * (xc[j] - den[j])) / s;
    if (sigmaUp > 0) {
      const z = loop.noise(i);
      for (let j = 0; j < next.length; j++) next[j] += sNoise * sigmaUp * z[j];
    }
    xc = next;
    loop.after(i, xc, den);
  }
  return loop.finish(xc);
}

/**
 * DDIM (Song et al. 2021) eq. 12 with sigma_t(eta) of eq. 16, divided by sqrt(alphaBar_prev) to VE
 * space: x' = x0 + sqrt(sigma'^2 - c^2) eps + c z, eps = (x - x0) / sigma,
 * c = eta sigma' sqrt(1 - sigma'^2 / sigma^2). eta = 0 is the deterministic DDIM (= Euler on the same
 * sigmas), eta = 1 the DDPM posterior (betaTilde variance).
 */
export function sampleDdim(denoiser: Denoiser, x: Float32Array, sigmas: ArrayLike<number>, opts: AncestralOptions = {}): Float32Array {
  const eta = inRange("eta", opt(opts, "eta", 0), 0, 1);
  const loop = new Loop("ddim", denoiser, x, sigmas, opts, { eta }, eta > 0);
  let xc = loop.x;
  for (let i = loop.start; i < loop.end; i++) {
    const s = loop.sigmas[i];
    const sn = loop.sigmas[i + 1];
    const den = loop.denoise(xc, s);
    const c = eta * sn * Math.sqrt(1 - (sn * sn) / (s * s));
    const dir = Math.sqrt(Math.max(0, sn * sn - c * c)) / s;
    const next = new Float32Array(xc.length);
    for (let j = 0; j < next.length; j++) next[j] = den[j] + dir * (xc[j] - den[j]);
    if (c > 0) {
      const z = loop.noise(i);
      for (let j = 0; j < next.length; j++) next[j] += c * z[j];
    }
    xc = next;
    loop.after(i, xc, den);
  }
  return loop.finish(xc);
}

export interface DdpmOptions extends SamplerOptions {
  /**
   * DDPM (Ho et al. 2020, sec. 3.2) reverse variance: "betaTilde" (posterior, diffusers' fixed_small,
   * default) or "beta" (diffusers' fixed_large). Both are VP quantities: beta = 1 - alphaBar_t /
   * alphaBar_s with alphaBar = 1 / (1 + sigma^2).
   */
  variance?: "beta" | "betaTilde";
}

/**
 * DDPM ancestral sampling (Ho et al. 2020) Alg. 2 / eq. 11 on any sigma sequence: x' ~ N(posterior mean
 * of q(x_s | x_t, x0 = D), variance), no noise on the step to sigma = 0. In VE space the posterior mean
 * is x0 + (sigma'^2 / sigma^2)(x - x0); the variance is divided by alphaBar_s.
 */
export function sampleDdpm(denoiser: Denoiser, x: Float32Array, sigmas: ArrayLike<number>, opts: DdpmOptions = {}): Float32Array {
  const variance = oneOf("variance", opt(opts, "variance", "betaTilde"), ["beta", "betaTilde"] as const);
  const loop = new Loop("ddpm", denoiser, x, sigmas, opts, { variance }, true);
  let xc = loop.x;
  for (let i = loop.start; i < loop.end; i++) {
    const s = loop.sigmas[i];
    const sn = loop.sigmas[i + 1];
    const den = loop.denoise(xc, s);
    const k = (sn * sn) / (s * s);
    const next = new Float32Array(xc.length);
    for (let j = 0; j < next.length; j++) next[j] = den[j] + k * (xc[j] - den[j]);
    if (sn > 0) {
      // VP: betaTilde = (1 - ab_s)/(1 - ab_t) beta, beta = 1 - ab_t/ab_s; VE variance = VP variance / ab_s
      const v = variance === "betaTilde" ? sn * sn * (1 - k) : ((s * s - sn * sn) * (1 + sn * sn)) / (1 + s * s);
      const sd = Math.sqrt(v);
      const z = loop.noise(i);
      for (let j = 0; j < next.length; j++) next[j] += sd * z[j];
    }
    xc = next;
    loop.after(i, xc, den);
  }
  return loop.finish(xc);
}

export interface Dpmpp2mSdeOptions extends SamplerOptions {
  /** 1 = the SDE variant of Lu et al. (default), 0 = the ODE solver 2M. */
  eta?: number;
  sNoise?: number;
  /** How the 2nd-order term is formed: "midpoint" (diffusers' default) or "heun". */
  solverType?: "midpoint" | "heun";
}

/**
 * DPM-Solver++(2M) SDE (Lu et al. 2022, "DPM-Solver++", sec. 5 / App. for the SDE variant; k-diffusion
 * sample_dpmpp_2m_sde): the data-prediction multistep update of the reverse SDE in lambda = -log sigma,
 * with fresh noise sigma' sqrt(1 - e^{-2 eta h}) each step.
 */
export function sampleDpmpp2mSde(
  denoiser: Denoiser,
  x: Float32Array,
  sigmas: ArrayLike<number>,
  opts: Dpmpp2mSdeOptions = {},
): Float32Array {
  const eta = inRange("eta", opt(opts, "eta", 1), 0, Infinity, "[)");
  const sNoise = inRange("sNoise", opt(opts, "sNoise", 1), 0, Infinity, "[)");
  const solverType = oneOf("solverType", opt(opts, "solverType", "midpoint"), ["midpoint", "heun"] as const);
  const loop = new Loop("dpmpp_2m_sde", denoiser, x, sigmas, opts, { eta, sNoise, solverType }, eta > 0);
  let xc = loop.x;
  let old = carried(loop.carry, "old");
  let hLast = (loop.carry.hLast as number) ?? 0;
  for (let i = loop.start; i < loop.end; i++) {
    const s = loop.sigmas[i];
    const sn = loop.sigmas[i + 1];
    const den = loop.denoise(xc, s);
    const next = new Float32Array(xc.length);
    if (sn === 0) {
      next.set(den);
    } else {
      const h = dlog(s) - dlog(sn);
      const etaH = eta * h;
      const a = (sn / s) * dexp(-etaH);
      const b = -dexpm1(-h - etaH);
      for (let j = 0; j < next.length; j++) next[j] = a * xc[j] + b * den[j];
      if (old !== null) {
        const invR = h / hLast;
        const c = solverType === "heun" ? (b / (-h - etaH) + 1) * invR : 0.5 * b * invR;
        for (let j = 0; j < next.length; j++) next[j] += c * (den[j] - old[j]);
      }
      if (eta > 0) {
        const z = loop.noise(i);
        const sd = sn * Math.sqrt(-dexpm1(-2 * etaH)) * sNoise;
        for (let j = 0; j < next.length; j++) next[j] += sd * z[j];
      }
      hLast = h;
    }
    old = den;
    xc = next;
    loop.after(i, xc, den);
  }
  return loop.finish(xc, { old: old ? Array.from(old) : null, hLast });
}
