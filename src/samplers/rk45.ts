// The probability-flow ODE solved with an adaptive Runge-Kutta 4(5) solver (Dormand & Prince 1980; the
// integrator is dopri5.ts). In u = log sigma the ODE of EDM eq. 4 reads dx/du = x - D(x, e^u): smooth
// and non-stiff from sigma_min to sigma_max.

import { dexp, dlog } from "../math/detmath.ts";
import { positive } from "../validate.ts";
import { type Denoiser, Loop, type SamplerOptions, type SamplerResult } from "./common.ts";
import { type BatchRhs, dopri5 } from "./dopri5.ts";

export interface Rk45Options extends SamplerOptions {
  rtol?: number;
  atol?: number;
}

/**
 * The probability-flow ODE (Song et al. 2021 eq. 13; EDM eq. 4) solved adaptively with RK45 between
 * consecutive sigmas (one sampler step per interval, so onStep and `from` see the given grid); the step to
 * sigma = 0 is the Tweedie estimate D(x, sigma). A short grid suffices: e.g. [sigmaMax, sigmaMin, 0].
 */
export function sampleRk45(denoiser: Denoiser, x: Float32Array, sigmas: ArrayLike<number>, opts: Rk45Options = {}): SamplerResult {
  const rtol = positive("rtol", opts.rtol ?? 1e-4);
  const atol = positive("atol", opts.atol ?? 1e-4);
  const loop = new Loop("rk45", denoiser, x, sigmas, opts, false);
  const B = loop.batch;
  const d = loop.size;
  // each item's step size, carried from interval to interval (0: dopri5 picks the first)
  const h = loop.carriedArray("h", B) ?? new Float64Array(B);
  let xc = loop.x;
  // dopri5 calls f on the whole batch (finished items frozen), so guidance's labels stay lined up
  const f: BatchRhs = (y, u) => {
    const x32 = Float32Array.from(y);
    const sig = new Float64Array(B);
    for (let b = 0; b < B; b++) sig[b] = dexp(u[b]);
    const den = loop.denoiseEach(x32, sig);
    const out = new Float64Array(y.length);
    for (let j = 0; j < y.length; j++) out[j] = y[j] - den[j];
    return out;
  };
  for (let i = loop.start; i < loop.end; i++) {
    const s = loop.sigmas[i];
    const sn = loop.sigmas[i + 1];
    let den: Float32Array;
    if (sn === 0) {
      den = loop.denoise(xc, s);
      xc = Float32Array.from(den);
    } else {
      const y = Float64Array.from(xc);
      dopri5(f, y, d, B, dlog(s), dlog(sn), h, rtol, atol);
      xc = Float32Array.from(y);
      den = xc;
    }
    loop.after(i, xc, den);
  }
  return loop.finish(xc, { h: Array.from(h) });
}
