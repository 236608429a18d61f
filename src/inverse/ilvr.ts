// ILVR: Iterative Latent Variable Refinement (Choi, Kim, Jeong, Gwon & Yoon 2021), for super-resolution
// and, through the operator's SVD, any linear measurement without noise.

import { ArgumentError, inRange } from "../validate.ts";
import { type Denoiser, Loop, type SamplerOptions, type SamplerResult } from "../samplers/common.ts";
import { ancestralStep, ancestralUpdate } from "../samplers/steps.ts";
import { checkMeasurement, type MeasurementOptions, spectralMeasurement } from "./common.ts";

export interface IlvrOptions extends SamplerOptions, MeasurementOptions {
  /** Noise of the unconditional step: 1 = the DDPM posterior (ILVR's), 0 = DDIM. Default 1. */
  eta?: number;
}

/**
 * ILVR (Choi et al. 2021) Alg. 1: x'_{t-1} ~ p(x_{t-1} | x_t) by the model alone, then
 * x_{t-1} = phi(y_{t-1}) + (I - phi)(x'_{t-1}), where phi is the low-pass filter and y_{t-1} the reference
 * noised to t-1. With the operator's projection phi = A^+ A = V diag(1[s_i > 0]) V^T, and the reference
 * known only through y = A x_ref, phi(x_ref + sigma' n) = A^+ y + sigma' phi(n): in the spectral basis,
 * every observed coordinate becomes ȳ_i + sigma' z_i and the rest keep the model's step. For average
 * pooling, A^+ A is exactly ILVR's phi_N (average down by N, then up by repeating each pixel). The
 * unconditional step is the DDPM ancestral step in VE space (eta = 1; DDIM's eta in general). sigmaY is
 * accepted but ILVR ignores measurement noise (it trusts y). Noise of step i: rng.stream(i) for the
 * step, rng.stream(i).stream(1) for the reference's. Resumable (it carries nothing).
 */
export function ilvr(denoiser: Denoiser, x: Float32Array, sigmas: ArrayLike<number>, opts: IlvrOptions): SamplerResult {
  if (!opts || typeof opts !== "object") throw new ArgumentError("opts", "must give operator, y and rng");
  const eta = inRange("eta", opts.eta ?? 1, 0, 1);
  const loop = new Loop("ilvr", denoiser, x, sigmas, opts, true);
  const { op, y } = checkMeasurement(opts, loop.batch, loop.size);
  const B = loop.batch;
  const n = op.inSize;
  const m = op.outSize;
  const s = op.singulars;
  const ybar = spectralMeasurement(op, y, B);
  let xc = loop.x;
  const step = new Float64Array(xc.length);
  for (let k = loop.start; k < loop.end; k++) {
    const sigma = loop.sigmas[k];
    const sn = loop.sigmas[k + 1];
    const den = loop.denoise(xc, sigma);
    const split = ancestralStep(sigma, sn, eta);
    ancestralUpdate(step, xc, den, sigma, split, split.sigmaUp > 0 ? loop.noise(k) : null);
    const xbar = op.Vt(step, B);
    const z = sn > 0 ? loop.noise(k, 1) : null;
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < m; i++) if (s[i] > 0) xbar[b * n + i] = ybar[b * m + i] + (z === null ? 0 : sn * z[b * n + i]);
    }
    xc = Float32Array.from(op.V(xbar, B));
    loop.after(k, xc, den);
  }
  return loop.finish(xc);
}
