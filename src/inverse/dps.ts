// DPS: Diffusion Posterior Sampling (Chung, Kim, Mccann, Klasky & Ye 2023). Each ancestral step is
// followed by a gradient step on ||y - A x̂0(x_t)||, the gradient taken through the denoiser.

import { ArgumentError, inRange } from "../validate.ts";
import { Loop, type SamplerOptions, type SamplerResult } from "../samplers/common.ts";
import { ancestralStep, ancestralUpdate } from "../samplers/steps.ts";
import type { GradientDenoiser } from "../denoiser/input-gradient.ts";
import { checkMeasurement, type MeasurementOptions } from "./common.ts";

export interface DpsOptions extends SamplerOptions, MeasurementOptions {
  /** Step size zeta of the measurement gradient (the DPS code's `scale`). Default 1. */
  zeta?: number;
  /** Noise of the ancestral step: 1 = the DDPM posterior (DPS's), 0 = DDIM. Default 1. */
  eta?: number;
}

/**
 * DPS (Chung et al. 2023) Alg. 1 for Gaussian measurement noise: x̂0 = D(x_i), x' = the DDPM ancestral
 * step (VE space; DDIM's eta in general), then x_{i+1} = x' - zeta_i grad_{x_i} ||y - A x̂0|| per item.
 * The norm, not its square, as in the authors' code: that is the paper's zeta' / ||y - A x̂0|| step
 * size (App. C) with zeta = 2 zeta'. The paper's x is the VP variable alpha x (alpha = 1/sqrt(1 + sigma^2));
 * its update, divided by alpha_{i+1} to VE space, is the step zeta_i = zeta sqrt(1 + sigma_i^2)
 * sqrt(1 + sigma_{i+1}^2) on the VE gradient, which is what runs here. The gradient is (dD/dx)^T g with
 * g = -A^T (y - A x̂0)/||y - A x̂0||, from a GradientDenoiser (networkGradientDenoiser for a network,
 * mixtureGradientDenoiser for the exact test bed). DPS is approximate: A x = y holds only roughly, and
 * its samples are not exact posterior samples. Noise of step i: rng.stream(i). Resumable.
 */
export function dps(denoiser: GradientDenoiser, x: Float32Array, sigmas: ArrayLike<number>, opts: DpsOptions): SamplerResult {
  if (typeof denoiser !== "function") throw new ArgumentError("denoiser", "must be a GradientDenoiser (networkGradientDenoiser, mixtureGradientDenoiser)");
  if (!opts || typeof opts !== "object") throw new ArgumentError("opts", "must give operator, y and rng");
  const zeta = inRange("zeta", opts.zeta ?? 1, 0, Infinity, "[)");
  const eta = inRange("eta", opts.eta ?? 1, 0, 1);
  const noGrad = (x0: Float32Array) => new Float32Array(x0.length);
  const loop = new Loop("dps", (xx, ss, bb) => denoiser(xx, ss, bb, noGrad).x0, x, sigmas, opts, true);
  const { op, y } = checkMeasurement(opts, loop.batch, loop.size);
  const B = loop.batch;
  const m = op.outSize;
  // d||y - A x0|| / d x0 = -A^T r / ||r|| per item (0 where r = 0)
  const lossGrad = (x0s: Float32Array, first: number, count: number): Float32Array => {
    const ax = op.A(x0s, count);
    const r = new Float64Array(count * m);
    for (let b = 0; b < count; b++) {
      let norm = 0;
      for (let i = 0; i < m; i++) {
        const v = y[(first + b) * m + i] - ax[b * m + i];
        r[b * m + i] = v;
        norm += v * v;
      }
      norm = Math.sqrt(norm);
      for (let i = 0; i < m; i++) r[b * m + i] = norm > 0 ? -r[b * m + i] / norm : 0;
    }
    return Float32Array.from(op.At(r, count));
  };
  let xc = loop.x;
  const sig = new Float64Array(B);
  for (let k = loop.start; k < loop.end; k++) {
    const sigma = loop.sigmas[k];
    const sn = loop.sigmas[k + 1];
    sig.fill(sigma);
    const { x0, grad } = denoiser(xc, sig, B, lossGrad);
    loop.nfe++;
    if (!(x0 instanceof Float32Array) || x0.length !== xc.length || !(grad instanceof Float32Array) || grad.length !== xc.length) {
      throw new ArgumentError("denoiser", `must return { x0, grad }, Float32Arrays of ${xc.length} values`);
    }
    const split = ancestralStep(sigma, sn, eta);
    const next = new Float64Array(xc.length);
    ancestralUpdate(next, xc, x0, sigma, split, split.sigmaUp > 0 ? loop.noise(k) : null);
    const zk = zeta * Math.sqrt(1 + sigma * sigma) * Math.sqrt(1 + sn * sn);
    const out = new Float32Array(xc.length);
    for (let j = 0; j < out.length; j++) out[j] = next[j] - zk * grad[j];
    xc = out;
    loop.after(k, xc, x0);
  }
  return loop.finish(xc);
}
