// Multistep consistency sampling (Song et al. 2023, "Consistency Models", Alg. 1): a consistency model
// f(x, sigma) maps any point of a PF-ODE trajectory to its origin, so each step jumps to the x0 estimate
// and re-noises it to the next noise level. Over the Denoiser contract f is the denoiser itself.

import { inRange } from "../validate.ts";
import { type Denoiser, Loop, type SamplerOptions, type SamplerResult } from "./common.ts";

/**
 * Alg. 1 line 5 (with s_noise): x' = f(x) + sNoise sqrt(sigmaNext^2 - sigmaMin^2) z, into `out`; the
 * noise scale is 0 when sigmaNext <= sigmaMin (the last step lands on f(x)). z may be null then.
 */
export function consistencyStep(
  out: Float32Array,
  den: Float32Array,
  z: Float32Array | null,
  sigmaNext: number,
  sigmaMin: number,
  sNoise = 1,
): void {
  const c = sigmaNext > sigmaMin ? sNoise * Math.sqrt(sigmaNext * sigmaNext - sigmaMin * sigmaMin) : 0;
  if (c === 0 || z === null) {
    out.set(den);
    return;
  }
  for (let j = 0; j < out.length; j++) out[j] = den[j] + c * z[j];
}

/** Whether a run over `sigmas` draws noise: some step after the first lands above sigmaMin. */
function renoises(sigmas: ArrayLike<number>, sigmaMin: number): boolean {
  const n = sigmas !== null && typeof sigmas === "object" ? sigmas.length : 0;
  for (let i = 1; i < n; i++) if (sigmas[i] > sigmaMin) return true;
  return false;
}

export interface ConsistencyOptions extends SamplerOptions {
  /** The consistency model's epsilon: the noise level it treats as clean (CM's 0.002). */
  sigmaMin?: number;
  /** Scale of the fresh noise (CM's s_noise, 1 = none extra). */
  sNoise?: number;
}

/**
 * Consistency models' multistep sampling (Song et al. 2023, Alg. 1) on any sigma sequence: at each sigma,
 * x0 = f(x, sigma), then x = x0 + sqrt(sigmaNext^2 - sigmaMin^2) z; the step to the final 0 returns x0.
 * One sigma and a 0 is one-step generation. Stochastic: needs opts.rng when a step re-noises.
 */
export function sampleConsistency(denoiser: Denoiser, x: Float32Array, sigmas: ArrayLike<number>, opts: ConsistencyOptions = {}): SamplerResult {
  const sigmaMin = inRange("sigmaMin", opts.sigmaMin ?? 0.002, 0, Infinity, "[)");
  const sNoise = inRange("sNoise", opts.sNoise ?? 1, 0, Infinity, "[)");
  const loop = new Loop("consistency", denoiser, x, sigmas, opts, renoises(sigmas, sigmaMin));
  let xc = loop.x;
  for (let i = loop.start; i < loop.end; i++) {
    const den = loop.denoise(xc, loop.sigmas[i]);
    const sNext = loop.sigmas[i + 1];
    const next = new Float32Array(xc.length);
    consistencyStep(next, den, sNext > sigmaMin ? loop.noise(i) : null, sNext, sigmaMin, sNoise);
    xc = next;
    loop.after(i, xc, den);
  }
  return loop.finish(xc);
}
