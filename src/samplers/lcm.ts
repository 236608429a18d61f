// Latent consistency model sampling (Luo et al. 2023, "Latent Consistency Models", Alg. 1 / multistep
// consistency sampling of Song et al. 2023, Alg. 1): jump to the model's x0 estimate, then re-noise it by
// the forward process to the next level. In VE space x' = D(x, sigma) + sigma' z: the ancestral update
// with sigmaDown = 0 and sigmaUp = sigma'.

import { type Denoiser, Loop, type SamplerOptions, type SamplerResult } from "./common.ts";
import { ancestralUpdate } from "./steps.ts";

/** LCM's multistep sampling (k-diffusion sample_lcm): x' = D(x, sigma) + sigma' z, no noise on the step to 0. */
export function sampleLcm(denoiser: Denoiser, x: Float32Array, sigmas: ArrayLike<number>, opts: SamplerOptions = {}): SamplerResult {
  const loop = new Loop("lcm", denoiser, x, sigmas, opts, true);
  let xc = loop.x;
  for (let i = loop.start; i < loop.end; i++) {
    const s = loop.sigmas[i];
    const sn = loop.sigmas[i + 1];
    const den = loop.denoise(xc, s);
    const next = new Float32Array(xc.length);
    ancestralUpdate(next, xc, den, s, { sigmaDown: 0, sigmaUp: sn }, sn > 0 ? loop.noise(i) : null);
    xc = next;
    loop.after(i, xc, den);
  }
  return loop.finish(xc);
}
