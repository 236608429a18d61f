// Pseudo linear multistep (PLMS), the multistep half of PNDM (Liu et al. 2022, "Pseudo Numerical Methods
// for Diffusion Models on Manifolds", eqs. 9, 12): the DDIM transfer x' = x + (sigma' - sigma) eps'
// (eq. 9, which in VE space is an Euler step on the eps direction), with eps' the fourth-order
// Adams-Bashforth combination of the last eps estimates (eq. 12), lower orders while the history is
// short, and a second-order first step (the average of eps at the start and at its Euler prediction,
// as latent-diffusion's PLMS sampler and diffusers' PNDM with skip_prk_steps take it).

import { type Denoiser, Loop, type SamplerOptions, type SamplerResult } from "./common.ts";

const fround = Math.fround;

/**
 * Adams-Bashforth combination of eps history (oldest first, newest last; 1 to 4 entries) in float32,
 * in diffusers' operation order: e, (3 e1 - e2) / 2, (23 e1 - 16 e2 + 5 e3) / 12,
 * (55 e1 - 59 e2 + 37 e3 - 9 e4) / 24 (PNDM eq. 12).
 */
export function plmsCombine(history: readonly ArrayLike<number>[]): Float32Array {
  const k = history.length;
  const e1 = history[k - 1];
  const n = e1.length;
  const out = new Float32Array(n);
  if (k === 1) {
    out.set(e1);
    return out;
  }
  const e2 = history[k - 2];
  if (k === 2) {
    for (let j = 0; j < n; j++) out[j] = fround(fround(fround(3 * e1[j]) - e2[j]) / 2);
    return out;
  }
  const e3 = history[k - 3];
  if (k === 3) {
    for (let j = 0; j < n; j++) out[j] = fround(fround(fround(fround(23 * e1[j]) - fround(16 * e2[j])) + fround(5 * e3[j])) / 12);
    return out;
  }
  const e4 = history[k - 4];
  const c = fround(1 / 24);
  for (let j = 0; j < n; j++) {
    const s = fround(fround(fround(fround(55 * e1[j]) - fround(59 * e2[j])) + fround(37 * e3[j])) - fround(9 * e4[j]));
    out[j] = fround(c * s);
  }
  return out;
}

/**
 * PNDM's transfer (eq. 9) in VP sample space, float32 as diffusers writes it:
 * x_prev = sqrt(abar_prev / abar) x - (abar_prev - abar) eps / (abar sqrt(1 - abar_prev) + sqrt(abar (1 - abar) abar_prev)).
 */
export function pndmTransferVp(x: Float32Array, eps: Float32Array, abar: number, abarPrev: number): Float32Array {
  const cs = fround(Math.sqrt(fround(abarPrev / abar)));
  const denom = fround(fround(abar * fround(Math.sqrt(fround(1 - abarPrev)))) + fround(Math.sqrt(fround(fround(abar * fround(1 - abar)) * abarPrev))));
  const diff = fround(abarPrev - abar);
  const out = new Float32Array(x.length);
  for (let j = 0; j < x.length; j++) out[j] = fround(fround(cs * x[j]) - fround(fround(diff * eps[j]) / denom));
  return out;
}

/** PLMS in VE space over a Denoiser: eps = (x - D) / sigma, the transfer is x + (sigma' - sigma) eps'. Resumable; carries the last three eps. */
export function samplePlms(denoiser: Denoiser, x: Float32Array, sigmas: ArrayLike<number>, opts: SamplerOptions = {}): SamplerResult {
  return multistep("plms", true, denoiser, x, sigmas, opts);
}

/**
 * iPNDM (Zhang & Chen 2023, "Fast Sampling of Diffusion Models with Exponential Integrator", sec. 4 /
 * App. improved PNDM): PLMS without the second-order start, the Adams-Bashforth order rising from 1 as
 * the history fills, so every step costs one model call.
 */
export function sampleIpndm(denoiser: Denoiser, x: Float32Array, sigmas: ArrayLike<number>, opts: SamplerOptions = {}): SamplerResult {
  return multistep("ipndm", false, denoiser, x, sigmas, opts);
}

function multistep(name: string, heunStart: boolean, denoiser: Denoiser, x: Float32Array, sigmas: ArrayLike<number>, opts: SamplerOptions): SamplerResult {
  const loop = new Loop(name, denoiser, x, sigmas, opts, false);
  let xc = loop.x;
  const n = xc.length;
  const history: Float64Array[] = [];
  for (const key of ["e3", "e2", "e1"]) {
    const v = loop.start === 0 ? null : loop.carriedArray(key, n);
    if (v !== null && loop.carriedNumber(`has_${key}`, 0) === 1) history.push(v);
  }
  const epsOf = (xx: Float32Array, den: Float32Array, s: number) => Float64Array.from(xx, (v, j) => (v - den[j]) / s);
  const transfer = (from: Float32Array, eps: ArrayLike<number>, s: number, sn: number) => Float32Array.from(from, (v, j) => v + (sn - s) * eps[j]);
  for (let i = loop.start; i < loop.end; i++) {
    const s = loop.sigmas[i];
    const sn = loop.sigmas[i + 1];
    const den = loop.denoise(xc, s);
    const eps = epsOf(xc, den, s);
    let next: Float32Array;
    if (heunStart && history.length === 0 && sn > 0) {
      // second-order first step: eps averaged with eps at the Euler prediction (PLMS's warm-up)
      const pred = transfer(xc, eps, s, sn);
      const eps2 = epsOf(pred, loop.denoise(pred, sn), sn);
      next = transfer(xc, eps.map((v, j) => (v + eps2[j]) / 2), s, sn);
    } else {
      next = transfer(xc, plmsCombine([...history, eps]), s, sn);
    }
    history.push(eps);
    if (history.length > 3) history.shift();
    xc = next;
    loop.after(i, xc, den);
  }
  const carry: Record<string, number | number[] | null> = {};
  const keys = ["e3", "e2", "e1"].slice(3 - history.length);
  ["e3", "e2", "e1"].forEach((key) => {
    const k = keys.indexOf(key);
    carry[key] = k >= 0 ? Array.from(history[k]) : new Array(n).fill(0);
    carry[`has_${key}`] = k >= 0 ? 1 : 0;
  });
  return loop.finish(xc, carry);
}
