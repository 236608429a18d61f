// DPM-Solver-2 (Lu et al. 2022, "DPM-Solver", Alg. 1 with r1 = 1/2) in the form k-diffusion runs it
// (sample_dpm_2, sample_dpm_2_ancestral): a half step in log sigma to the geometric midpoint, then the
// whole step with the slope taken there. In VE space with d = (x - D) / sigma, both stages are the same
// move x' = base + dt (xEval - D(xEval)) / sigmaEval, written once in dpm2Stage.

import { dexp, dlog } from "../math/detmath.ts";
import { inRange } from "../validate.ts";
import { type Denoiser, Loop, type SamplerResult } from "./common.ts";
import { type ChurnOptions, churn, churnOptions } from "./ode.ts";
import { ancestralStep } from "./steps.ts";
import type { AncestralOptions } from "./ancestral.ts";

/** The midpoint of sigma and sigmaNext in log sigma, exp((log sigma + log sigmaNext) / 2) (k-diffusion's lerp). */
export function dpm2Midpoint(sigma: number, sigmaNext: number): number {
  return dexp(0.5 * (dlog(sigma) + dlog(sigmaNext)));
}

/**
 * One stage of DPM-Solver-2: out = base + dt (xEval - denEval) / sigmaEval, in float64, rounded once.
 * Stage 1 is (base = xEval = x, sigmaEval = sigma, dt = sigmaMid - sigma); stage 2 is (base = x, xEval
 * the stage-1 result, sigmaEval = sigmaMid, dt = sigmaNext - sigma). With dt = -sigma it is the Euler
 * step to sigma = 0 that ends a run.
 */
export function dpm2Stage(
  out: Float32Array,
  base: Float32Array,
  xEval: Float32Array,
  denEval: Float32Array,
  sigmaEval: number,
  dt: number,
): void {
  for (let j = 0; j < out.length; j++) out[j] = base[j] + (dt * (xEval[j] - denEval[j])) / sigmaEval;
}

/** k-diffusion sample_dpm_2: DPM-Solver-2 with EDM churn; the step to sigma = 0 is Euler. Two calls a step. */
export function sampleDpm2(denoiser: Denoiser, x: Float32Array, sigmas: ArrayLike<number>, opts: ChurnOptions = {}): SamplerResult {
  const o = churnOptions(opts);
  const loop = new Loop("dpm_2", denoiser, x, sigmas, opts, o.sChurn > 0);
  let xc = loop.x;
  for (let i = loop.start; i < loop.end; i++) {
    const [xh, sigmaHat] = churn(loop, i, xc, o);
    const sNext = loop.sigmas[i + 1];
    const den = loop.denoise(xh, sigmaHat);
    const next = new Float32Array(xc.length);
    if (sNext === 0) {
      dpm2Stage(next, xh, xh, den, sigmaHat, sNext - sigmaHat);
    } else {
      const mid = dpm2Midpoint(sigmaHat, sNext);
      const x2 = new Float32Array(xc.length);
      dpm2Stage(x2, xh, xh, den, sigmaHat, mid - sigmaHat);
      dpm2Stage(next, xh, x2, loop.denoise(x2, mid), mid, sNext - sigmaHat);
    }
    xc = next;
    loop.after(i, xc, den);
  }
  return loop.finish(xc);
}

/**
 * k-diffusion sample_dpm_2_ancestral: DPM-Solver-2 to the ancestral split's sigmaDown (steps.ts), then
 * fresh noise of scale sigmaUp; the step whose sigmaDown is 0 is Euler without noise.
 */
export function sampleDpm2Ancestral(
  denoiser: Denoiser,
  x: Float32Array,
  sigmas: ArrayLike<number>,
  opts: AncestralOptions = {},
): SamplerResult {
  const eta = inRange("eta", opts.eta ?? 1, 0, Infinity, "[)");
  const sNoise = inRange("sNoise", opts.sNoise ?? 1, 0, Infinity, "[)");
  const loop = new Loop("dpm_2_ancestral", denoiser, x, sigmas, opts, eta > 0);
  let xc = loop.x;
  for (let i = loop.start; i < loop.end; i++) {
    const s = loop.sigmas[i];
    const den = loop.denoise(xc, s);
    const { sigmaDown, sigmaUp } = ancestralStep(s, loop.sigmas[i + 1], eta);
    const next = new Float32Array(xc.length);
    if (sigmaDown === 0) {
      dpm2Stage(next, xc, xc, den, s, -s);
    } else {
      const mid = dpm2Midpoint(s, sigmaDown);
      const x2 = new Float32Array(xc.length);
      dpm2Stage(x2, xc, xc, den, s, mid - s);
      dpm2Stage(next, xc, x2, loop.denoise(x2, mid), mid, sigmaDown - s);
      if (sigmaUp > 0) {
        const z = loop.noise(i);
        const c = sNoise * sigmaUp;
        for (let j = 0; j < next.length; j++) next[j] += c * z[j];
      }
    }
    xc = next;
    loop.after(i, xc, den);
  }
  return loop.finish(xc);
}
