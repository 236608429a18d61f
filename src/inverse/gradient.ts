// GradientDenoisers for DPS besides the network's (src/denoiser/input-gradient.ts): the exact denoiser
// of the Gaussian-mixture test bed, whose Jacobian is known in closed form.

import type { GradientDenoiser } from "../denoiser/input-gradient.ts";
import type { GaussianMixture } from "../testbed/mixture.ts";

/**
 * The mixture's exact denoiser with its exact input gradient. By Tweedie's formula D(x) = x + sigma^2
 * grad log p_sigma(x), so J = I + sigma^2 Hess log p_sigma is symmetric and J^T g = J g, the mixture's
 * Jacobian-vector product.
 */
export function mixtureGradientDenoiser(gm: GaussianMixture): GradientDenoiser {
  return (x, sigma, batch, outputGrad) => {
    const x0 = gm.denoise(x, sigma, batch);
    const g = outputGrad(x0, 0, batch);
    const grad = Float32Array.from(gm.jvp(x, sigma, batch, Float64Array.from(g)));
    return { x0, grad };
  };
}
