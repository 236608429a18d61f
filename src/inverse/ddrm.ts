// DDRM: Denoising Diffusion Restoration Models (Kawar, Elad, Ermon & Song 2022). Sampling runs in the
// operator's spectral basis x̄ = V^T x, where y = A x + sigma_y n reads ȳ_i = x̄_i + (sigma_y / s_i) n_i
// for every s_i > 0: each observed coordinate is the signal seen at its own noise level sigma_y / s_i,
// which the diffusion's noise levels are compared against. DDRM is written in VE space (x = x0 + sigma n),
// like this library's Denoiser, so its equations carry over unchanged.

import { ArgumentError, inRange } from "../validate.ts";
import { type Denoiser, Loop, type SamplerOptions, type SamplerResult } from "../samplers/common.ts";
import { checkMeasurement, type MeasurementOptions, spectralMeasurement } from "./common.ts";

export interface DdrmOptions extends SamplerOptions, MeasurementOptions {
  /** eta: the share of fresh noise in the unobserved and less-noisy-than-y coordinates. Default 0.85 (the paper's). */
  eta?: number;
  /** eta_b: how far the noisier-than-y coordinates move to the measurement. Default 1 (the paper's). */
  etaB?: number;
}

/**
 * DDRM (Kawar et al. 2022) eqs. 7-8, one step per sigma level. x is the initial noise at sigmas[0]
 * (x = sigma_T n, as every sampler takes); at step 0 its spectral coordinates become eq. 8's x_T:
 * ȳ_i + sqrt(sigma_T^2 - sigma_y^2/s_i^2) n̄_i where s_i sigma_T > sigma_y, else sigma_T n̄_i. Then each
 * step from sigma to sigma' denoises, x̄0 = V^T D(x, sigma), and draws per coordinate (eq. 7):
 *   s_i = 0 (null space):         x̄0 + sqrt(1 - eta^2) sigma' (x̄ - x̄0)/sigma + eta sigma' z
 *   sigma' <  sigma_y/s_i:        x̄0 + sqrt(1 - eta^2) sigma' (ȳ - x̄0)/(sigma_y/s_i) + eta sigma' z
 *   sigma' >= sigma_y/s_i:        (1 - eta_b) x̄0 + eta_b ȳ + sqrt(sigma'^2 - eta_b^2 sigma_y^2/s_i^2) z
 * and returns to pixels, x = V x̄. With sigma_y = 0 and eta_b = 1 the last step (sigma' = 0) sets x̄_i = ȳ_i
 * exactly, so A x = y to float precision. The noise of step i is rng.stream(i), drawn in the spectral
 * basis. Resumable like every sampler (it carries nothing).
 */
export function ddrm(denoiser: Denoiser, x: Float32Array, sigmas: ArrayLike<number>, opts: DdrmOptions): SamplerResult {
  if (!opts || typeof opts !== "object") throw new ArgumentError("opts", "must give operator, y and rng");
  const eta = inRange("eta", opts.eta ?? 0.85, 0, 1);
  const etaB = inRange("etaB", opts.etaB ?? 1, 0, 1);
  const loop = new Loop("ddrm", denoiser, x, sigmas, opts, true);
  const { op, y, sigmaY } = checkMeasurement(opts, loop.batch, loop.size);
  const B = loop.batch;
  const n = op.inSize;
  const m = op.outSize;
  const s = op.singulars;
  const ybar = spectralMeasurement(op, y, B);
  const keep = Math.sqrt(1 - eta * eta);
  let xc = loop.x;
  if (loop.start === 0) {
    // eq. 8: x_T from the measurement, with the noise the caller drew as n̄ = V^T x / sigma_T
    const sT = loop.sigmas[0];
    const xbar = op.Vt(xc, B);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < m; i++) {
        if (s[i] > 0 && s[i] * sT > sigmaY) {
          const tau = sigmaY / s[i];
          const j = b * n + i;
          xbar[j] = ybar[b * m + i] + Math.sqrt(sT * sT - tau * tau) * (xbar[j] / sT);
        }
      }
    }
    xc = Float32Array.from(op.V(xbar, B));
  }
  for (let k = loop.start; k < loop.end; k++) {
    const sigma = loop.sigmas[k];
    const sn = loop.sigmas[k + 1];
    const den = loop.denoise(xc, sigma);
    const x0bar = op.Vt(den, B);
    const xbar = op.Vt(xc, B);
    const z = sn > 0 ? loop.noise(k) : null;
    const next = new Float64Array(B * n);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < n; i++) {
        const j = b * n + i;
        const zj = z === null ? 0 : z[j];
        const observed = i < m && s[i] > 0;
        const tau = observed ? sigmaY / s[i] : Infinity;
        if (!observed) {
          next[j] = x0bar[j] + keep * sn * ((xbar[j] - x0bar[j]) / sigma) + eta * sn * zj;
        } else if (sn < tau) {
          next[j] = x0bar[j] + keep * sn * ((ybar[b * m + i] - x0bar[j]) / tau) + eta * sn * zj;
        } else {
          const v = sn * sn - etaB * etaB * tau * tau;
          next[j] = (1 - etaB) * x0bar[j] + etaB * ybar[b * m + i] + Math.sqrt(Math.max(0, v)) * zj;
        }
      }
    }
    xc = Float32Array.from(op.V(next, B));
    loop.after(k, xc, den);
  }
  return loop.finish(xc);
}
