// Stochastic samplers that add fresh noise each step, in VE space (x = x0 + sigma n). With a VP model
// wrapped as a Denoiser, each equals its paper's VP update divided by alpha (the same sample, rescaled).

import { inRange, oneOf } from "../validate.ts";
import { type Denoiser, Loop, type SamplerOptions, type SamplerResult } from "./common.ts";
import { dpmSolverStep, dpmStepSize } from "./dpmsolver.ts";
import { ancestralStep, ancestralUpdate } from "./steps.ts";

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
): SamplerResult {
  const eta = inRange("eta", opts.eta ?? 1, 0, Infinity, "[)");
  const sNoise = inRange("sNoise", opts.sNoise ?? 1, 0, Infinity, "[)");
  const loop = new Loop("euler_ancestral", denoiser, x, sigmas, opts, eta > 0);
  let xc = loop.x;
  for (let i = loop.start; i < loop.end; i++) {
    const s = loop.sigmas[i];
    const den = loop.denoise(xc, s);
    const { sigmaDown, sigmaUp } = ancestralStep(s, loop.sigmas[i + 1], eta);
    const next = new Float32Array(xc.length);
    ancestralUpdate(next, xc, den, s, { sigmaDown, sigmaUp: sNoise * sigmaUp }, sigmaUp > 0 ? loop.noise(i) : null);
    xc = next;
    loop.after(i, xc, den);
  }
  return loop.finish(xc);
}

/**
 * DDIM (Song et al. 2021) eq. 12 with sigma_t(eta) of eq. 16, divided by sqrt(alphaBar_prev) to VE
 * space: x' = x0 + sqrt(sigma'^2 - c^2) eps + c z, eps = (x - x0) / sigma,
 * c = eta sigma' sqrt(1 - sigma'^2 / sigma^2) (the ancestral split's sigmaUp). eta = 0 is the
 * deterministic DDIM (= Euler on the same sigmas), eta = 1 the DDPM posterior (betaTilde variance).
 */
export function sampleDdim(denoiser: Denoiser, x: Float32Array, sigmas: ArrayLike<number>, opts: AncestralOptions = {}): SamplerResult {
  const eta = inRange("eta", opts.eta ?? 0, 0, 1);
  const loop = new Loop("ddim", denoiser, x, sigmas, opts, eta > 0);
  let xc = loop.x;
  for (let i = loop.start; i < loop.end; i++) {
    const s = loop.sigmas[i];
    const den = loop.denoise(xc, s);
    const split = ancestralStep(s, loop.sigmas[i + 1], eta);
    const next = new Float32Array(xc.length);
    ancestralUpdate(next, xc, den, s, split, split.sigmaUp > 0 ? loop.noise(i) : null);
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
 * is x0 + (sigma'^2 / sigma^2)(x - x0), the ancestral move to sigmaDown = sigma'^2 / sigma; the variance
 * is divided by alphaBar_s.
 */
export function sampleDdpm(denoiser: Denoiser, x: Float32Array, sigmas: ArrayLike<number>, opts: DdpmOptions = {}): SamplerResult {
  const variance = oneOf("variance", opts.variance ?? "betaTilde", ["beta", "betaTilde"] as const);
  const loop = new Loop("ddpm", denoiser, x, sigmas, opts, true);
  let xc = loop.x;
  for (let i = loop.start; i < loop.end; i++) {
    const s = loop.sigmas[i];
    const sn = loop.sigmas[i + 1];
    const den = loop.denoise(xc, s);
    // VP: betaTilde = (1 - ab_s)/(1 - ab_t) beta, beta = 1 - ab_t/ab_s; VE variance = VP variance / ab_s
    const v = sn === 0 ? 0 : variance === "betaTilde" ? sn * sn * (1 - (sn * sn) / (s * s)) : ((s * s - sn * sn) * (1 + sn * sn)) / (1 + s * s);
    const sigmaUp = Math.sqrt(v);
    const next = new Float32Array(xc.length);
    ancestralUpdate(next, xc, den, s, { sigmaDown: (sn * sn) / s, sigmaUp }, sigmaUp > 0 ? loop.noise(i) : null);
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
 * with fresh noise sigma' sqrt(1 - e^{-2 eta h}) each step. Carries the previous x0 estimate and step.
 */
export function sampleDpmpp2mSde(
  denoiser: Denoiser,
  x: Float32Array,
  sigmas: ArrayLike<number>,
  opts: Dpmpp2mSdeOptions = {},
): SamplerResult {
  const eta = inRange("eta", opts.eta ?? 1, 0, Infinity, "[)");
  const sNoise = inRange("sNoise", opts.sNoise ?? 1, 0, Infinity, "[)");
  const solverType = oneOf("solverType", opts.solverType ?? "midpoint", ["midpoint", "heun"] as const);
  const loop = new Loop("dpmpp_2m_sde", denoiser, x, sigmas, opts, eta > 0);
  let xc = loop.x;
  let old: Float32Array | Float64Array | null = loop.carriedArray("old", xc.length);
  let hLast = loop.carriedNumber("hLast", 0);
  for (let i = loop.start; i < loop.end; i++) {
    const s = loop.sigmas[i];
    const sn = loop.sigmas[i + 1];
    const den = loop.denoise(xc, s);
    const next = new Float32Array(xc.length);
    const noise = eta > 0 && sn !== 0 ? loop.noise(i) : null;
    const order = old === null ? 1 : 2;
    dpmSolverStep(next, xc, { algorithm: "sde-dpmsolver++", solverType, order, sigma: s, sigmaNext: sn, hPrev: [hLast], outputs: old === null ? [den] : [den, old], noise, eta, sNoise });
    if (sn !== 0) hLast = dpmStepSize(s, sn);
    old = den;
    xc = next;
    loop.after(i, xc, den);
  }
  return loop.finish(xc, { old: old ? Array.from(old) : null, hLast });
}
