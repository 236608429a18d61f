// DPM-Solver samplers beyond dpmpp_2m / dpmpp_2m_sde, over the Denoiser contract in VE space, each one
// loop around the step functions of dpmsolver.ts (shared with diffusers' DPM-Solver schedulers):
// DPM-Solver multistep on noise predictions (Lu et al. 2022a; diffusers' algorithm_type "dpmsolver"),
// DPM-Solver++(3M) SDE (k-diffusion sample_dpmpp_3m_sde), DPM-Solver singlestep in blocks on the schedule
// (diffusers' DPMSolverSinglestepScheduler) and DPM-Solver++(2S) ancestral (k-diffusion
// sample_dpmpp_2s_ancestral, A1111 "DPM++ 2S a"). Each resumes by `from` / `maxSteps`.

import { int, inRange, oneOf } from "../validate.ts";
import { type Denoiser, Loop, type SamplerOptions, type SamplerResult } from "./common.ts";
import { dpmSolverSinglestepStep, dpmSolverStep, dpmStepSize, type DpmSolverType } from "./dpmsolver.ts";
import { ancestralStep } from "./steps.ts";

export interface DpmSolverMultistepOptions extends SamplerOptions {
  /** 1, 2 or 3 (default 2). The first steps use what history there is; the step to sigma = 0 is 1st order. */
  order?: number;
  /** How the 2nd-order term is formed: "midpoint" (default) or "heun". */
  solverType?: DpmSolverType;
}

/** The carried history of a multistep run: the last outputs (newest first) and step sizes, with their counts. */
function history(loop: Loop, n: number): { outs: (Float32Array | Float64Array)[]; hs: number[] } {
  const outs: (Float32Array | Float64Array)[] = [];
  const hs: number[] = [];
  const k = loop.carriedNumber("outs", 0);
  const kh = loop.carriedNumber("hs", 0);
  for (let o = 0; o < k; o++) outs.push(loop.carriedArray(`out${o}`, n) as Float64Array);
  for (let o = 0; o < kh; o++) hs.push(loop.carriedNumber(`h${o}`, 0));
  return { outs, hs };
}

function carryOf(outs: ArrayLike<number>[], hs: number[]): Record<string, number[] | number> {
  const c: Record<string, number[] | number> = { outs: outs.length, hs: hs.length };
  outs.forEach((o, i) => (c[`out${i}`] = Array.from(o)));
  hs.forEach((h, i) => (c[`h${i}`] = h));
  return c;
}

/**
 * DPM-Solver (Lu et al. 2022a), multistep, on noise predictions eps = (x - D) / sigma: orders 1-3
 * (order 1 is DDIM), the form diffusers runs for algorithm_type "dpmsolver". Carries the last outputs
 * and step sizes.
 */
export function sampleDpmSolverMultistep(denoiser: Denoiser, x: Float32Array, sigmas: ArrayLike<number>, opts: DpmSolverMultistepOptions = {}): SamplerResult {
  const order = int("order", opts.order ?? 2, 1, 3);
  const solverType = oneOf("solverType", opts.solverType ?? "midpoint", ["midpoint", "heun"] as const);
  const loop = new Loop("dpm_solver_multistep", denoiser, x, sigmas, opts, false);
  let xc = loop.x;
  let { outs, hs } = history(loop, xc.length);
  for (let i = loop.start; i < loop.end; i++) {
    const s = loop.sigmas[i];
    const sn = loop.sigmas[i + 1];
    const den = loop.denoise(xc, s);
    const eps = new Float64Array(xc.length);
    for (let j = 0; j < eps.length; j++) eps[j] = (xc[j] - den[j]) / s;
    outs = [eps, ...outs].slice(0, order);
    const k = Math.min(outs.length, hs.length + 1, order);
    const next = new Float32Array(xc.length);
    dpmSolverStep(next, xc, { algorithm: "dpmsolver", solverType, order: k, sigma: s, sigmaNext: sn, hPrev: hs, outputs: outs });
    if (sn !== 0) hs = [dpmStepSize(s, sn), ...hs].slice(0, order - 1);
    xc = next;
    loop.after(i, xc, den);
  }
  return loop.finish(xc, carryOf(outs, hs));
}

export interface Dpmpp3mSdeOptions extends SamplerOptions {
  /** Noise scale: 1 (default) = the SDE of Lu et al. 2022b, 0 = the ODE solver 3M. */
  eta?: number;
  sNoise?: number;
}

/**
 * DPM-Solver++(3M) SDE (k-diffusion sample_dpmpp_3m_sde; A1111 "DPM++ 3M SDE"): the data-prediction
 * multistep SDE update of 3rd order (2nd at the second step, 1st at the first), fresh noise from
 * rng.stream(step) (k-diffusion draws from a Brownian tree: same law, other draws).
 */
export function sampleDpmpp3mSde(denoiser: Denoiser, x: Float32Array, sigmas: ArrayLike<number>, opts: Dpmpp3mSdeOptions = {}): SamplerResult {
  const eta = inRange("eta", opts.eta ?? 1, 0, Infinity, "[)");
  const sNoise = inRange("sNoise", opts.sNoise ?? 1, 0, Infinity, "[)");
  const loop = new Loop("dpmpp_3m_sde", denoiser, x, sigmas, opts, eta > 0);
  let xc = loop.x;
  let { outs, hs } = history(loop, xc.length);
  for (let i = loop.start; i < loop.end; i++) {
    const s = loop.sigmas[i];
    const sn = loop.sigmas[i + 1];
    const den = loop.denoise(xc, s);
    outs = [den, ...outs].slice(0, 3);
    const k = Math.min(outs.length, hs.length + 1);
    const next = new Float32Array(xc.length);
    const noise = eta > 0 && sn !== 0 ? loop.noise(i) : null;
    dpmSolverStep(next, xc, { algorithm: "sde-dpmsolver++", solverType: "heun", order: k, sigma: s, sigmaNext: sn, hPrev: hs, outputs: outs, noise, eta, sNoise });
    if (sn !== 0) hs = [dpmStepSize(s, sn), ...hs].slice(0, 2);
    xc = next;
    loop.after(i, xc, den);
  }
  return loop.finish(xc, carryOf(outs, hs));
}

export interface DpmSolverSinglestepOptions extends SamplerOptions {
  /** Block length 1, 2 or 3 (default 2). */
  order?: number;
  solverType?: DpmSolverType;
  /** Data prediction ("dpmsolver++", default) or noise prediction ("dpmsolver"). */
  algorithm?: "dpmsolver++" | "dpmsolver";
}

/**
 * Singlestep DPM-Solver (Lu et al. 2022a/b) with its intermediate points on the given sigmas, as
 * diffusers' DPMSolverSinglestepScheduler runs it: the steps go in blocks of `order`; each step solves
 * from the block's first point with the outputs of the block so far (orders 1, 2, 3 inside a block). The
 * last block is shortened to fit, and a step to sigma = 0 is 1st order. Carries the block start and its
 * outputs.
 */
export function sampleDpmSolverSinglestep(denoiser: Denoiser, x: Float32Array, sigmas: ArrayLike<number>, opts: DpmSolverSinglestepOptions = {}): SamplerResult {
  const order = int("order", opts.order ?? 2, 1, 3);
  const solverType = oneOf("solverType", opts.solverType ?? "midpoint", ["midpoint", "heun"] as const);
  const algorithm = oneOf("algorithm", opts.algorithm ?? "dpmsolver++", ["dpmsolver++", "dpmsolver"] as const);
  const loop = new Loop("dpm_solver_singlestep", denoiser, x, sigmas, opts, false);
  let xc = loop.x;
  const n = xc.length;
  // the block containing step i starts at i - (i mod order); the last block may be shorter
  const carried = history(loop, n).outs as Float64Array[];
  let start = carried.length > 0 ? loop.carriedArray("start", n) : null;
  let outs: Float64Array[] = carried;
  for (let i = loop.start; i < loop.end; i++) {
    const s = loop.sigmas[i];
    const sn = loop.sigmas[i + 1];
    const den = loop.denoise(xc, s);
    const m = algorithm === "dpmsolver++" ? Float64Array.from(den) : Float64Array.from(xc, (v, j) => (v - den[j]) / s);
    let k = (i % order) + 1;
    if (sn === 0) k = 1;
    if (k === 1) {
      start = Float64Array.from(xc);
      outs = [];
    }
    outs.push(m);
    const first = i - k + 1;
    const blockSigmas = Array.from({ length: k }, (_, o) => loop.sigmas[first + o]);
    const next = new Float32Array(n);
    dpmSolverSinglestepStep(next, start as Float64Array, { algorithm, solverType, order: k, sigmas: blockSigmas, sigmaNext: sn, outputs: outs.slice(outs.length - k) });
    xc = next;
    loop.after(i, xc, den);
  }
  return loop.finish(xc, { ...carryOf(outs, []), start: start ? Array.from(start) : null });
}

export interface Dpmpp2sAncestralOptions extends SamplerOptions {
  /** Noise scale: 1 (default) = ancestral, 0 = the deterministic DPM-Solver++(2S). */
  eta?: number;
  sNoise?: number;
}

/**
 * DPM-Solver++(2S) ancestral (k-diffusion sample_dpmpp_2s_ancestral; A1111 "DPM++ 2S a"): split the step
 * into a move to sigmaDown and noise sigmaUp (ancestralStep), solve the move with the 2nd-order
 * singlestep solver whose intermediate point is the lambda midpoint (Lu et al. 2022b, Alg. 1, r = 1/2),
 * then add the noise. The move to sigmaDown = 0 is an Euler step. Two denoiser calls per step.
 */
export function sampleDpmpp2sAncestral(denoiser: Denoiser, x: Float32Array, sigmas: ArrayLike<number>, opts: Dpmpp2sAncestralOptions = {}): SamplerResult {
  const eta = inRange("eta", opts.eta ?? 1, 0, Infinity, "[)");
  const sNoise = inRange("sNoise", opts.sNoise ?? 1, 0, Infinity, "[)");
  const loop = new Loop("dpmpp_2s_ancestral", denoiser, x, sigmas, opts, eta > 0);
  let xc = loop.x;
  const n = xc.length;
  for (let i = loop.start; i < loop.end; i++) {
    const s = loop.sigmas[i];
    const den = loop.denoise(xc, s);
    const { sigmaDown, sigmaUp } = ancestralStep(s, loop.sigmas[i + 1], eta);
    const next = new Float32Array(n);
    if (sigmaDown === 0) {
      next.set(den); // Euler to 0: x + (0 - s)(x - D)/s = D
    } else {
      const sMid = Math.sqrt(s * sigmaDown); // lambda midpoint: -log sMid = (lambda_s + lambda_down) / 2
      const x2 = new Float32Array(n);
      dpmSolverStep(x2, xc, { algorithm: "dpmsolver++", solverType: "midpoint", order: 1, sigma: s, sigmaNext: sMid, hPrev: [], outputs: [den] });
      const den2 = loop.denoise(x2, sMid);
      dpmSolverSinglestepStep(next, xc, { algorithm: "dpmsolver++", solverType: "midpoint", order: 2, sigmas: [s, sMid], sigmaNext: sigmaDown, outputs: [den, den2] });
    }
    if (sigmaUp > 0) {
      const z = loop.noise(i);
      for (let j = 0; j < n; j++) next[j] += sNoise * sigmaUp * z[j];
    }
    xc = next;
    loop.after(i, xc, den);
  }
  return loop.finish(xc);
}
