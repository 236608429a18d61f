// Step formulas several samplers share, written once: the ancestral split of a step into a
// deterministic move and fresh noise (k-diffusion's get_ancestral_step), the ancestral update itself, and
// EDM's churn.

import { ArgumentError } from "../validate.ts";

/** A step sigma -> sigmaNext split into a deterministic move to sigmaDown and fresh noise of scale sigmaUp. */
export interface AncestralSplit {
  sigmaDown: number;
  sigmaUp: number;
}

/**
 * k-diffusion's get_ancestral_step (DDIM, Song et al. 2021, eq. 16 in VE space): split the step
 * sigma -> sigmaNext so that sigmaDown^2 + sigmaUp^2 = sigmaNext^2. eta = 1 adds the DDPM posterior's
 * noise (its variance is sigmaNext^2 (sigma^2 - sigmaNext^2) / sigma^2), eta = 0 none.
 */
export function ancestralStep(sigma: number, sigmaNext: number, eta = 1): AncestralSplit {
  if (eta === 0 || sigmaNext === 0) return { sigmaDown: sigmaNext, sigmaUp: 0 };
  const up = Math.min(sigmaNext, eta * Math.sqrt((sigmaNext * sigmaNext * (sigma * sigma - sigmaNext * sigmaNext)) / (sigma * sigma)));
  return { sigmaDown: Math.sqrt(sigmaNext * sigmaNext - up * up), sigmaUp: up };
}

/**
 * The ancestral update x' = D + (sigmaDown / sigma)(x - D) + sigmaUp z into `out`: the deterministic
 * DDIM move from x at sigma to sigmaDown along eps = (x - D) / sigma (DDIM eq. 12 in VE space), then
 * fresh noise z, drawn by the caller (null when sigmaUp = 0). Euler ancestral, DDIM, DDPM (the
 * posterior mean is the move to sigmaNext^2 / sigma, its variance sigmaUp^2) and inpainting step this way.
 *
 * `out` is written twice, first with the move, then with the noise added, so its type sets where the
 * result is rounded: a Float32Array rounds the move to float32 before the noise is added (the samplers);
 * a Float64Array keeps the whole sum in float64 (inpainting rounds once, after blending in the known
 * region). Both are what the samplers did before this was shared, so their bytes are unchanged.
 */
export function ancestralUpdate(
  out: Float32Array | Float64Array,
  x: Float32Array,
  den: Float32Array,
  sigma: number,
  { sigmaDown, sigmaUp }: AncestralSplit,
  z: Float32Array | null,
): void {
  const n = out.length;
  const ratio = sigmaDown / sigma;
  for (let j = 0; j < n; j++) out[j] = den[j] + ratio * (x[j] - den[j]);
  if (sigmaUp > 0) {
    if (z === null || z.length !== n) throw new ArgumentError("z", `must hold ${n} noise values when sigmaUp > 0, got ${z === null ? "null" : z.length}`);
    for (let j = 0; j < n; j++) out[j] += sigmaUp * z[j];
  }
}

/** EDM (Karras et al. 2022) Alg. 2 lines 4-6: gamma_i = min(S_churn / N, sqrt 2 - 1) inside [S_tmin, S_tmax]. */
export function churnGamma(sigma: number, steps: number, sChurn: number, sTmin: number, sTmax: number): number {
  return sChurn > 0 && sigma >= sTmin && sigma <= sTmax ? Math.min(sChurn / steps, Math.SQRT2 - 1) : 0;
}
