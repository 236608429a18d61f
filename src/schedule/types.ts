// The one abstraction of this layer: a schedule gives alpha(t) and sigma(t), the signal scale and noise
// standard deviation of the forward process x_t = alpha(t) x_0 + sigma(t) eps (Kingma et al. 2021, VDM
// eq. 1; Song et al. 2021 for the SDE view). Everything else (SNR, VE-space sigma, posterior
// coefficients, sampler sigma sequences) is derived from these two functions.

import { dlog } from "../math/detmath.ts";

export interface Schedule {
  /** A short name for messages and checkpoints, e.g. "linear(T=1000)". */
  readonly name: string;
  /** True when t ranges over integers 0..T (t = 0 is the data; DDPM's 1-indexed steps). */
  readonly discrete: boolean;
  /** True when alpha^2 + sigma^2 = 1 at every t. */
  readonly variancePreserving: boolean;
  /** The domain of t: [tMin, tMax]. alpha decreases and sigma/alpha increases along it. */
  readonly tMin: number;
  readonly tMax: number;
  /** Signal scale alpha(t) (sqrt of alpha-bar for a VP schedule). */
  alpha(t: number): number;
  /** Noise standard deviation sigma(t). */
  sigma(t: number): number;
  /** log SNR(t) = log(alpha^2 / sigma^2), strictly decreasing in t. */
  logSnr(t: number): number;
  /** The t with logSnr(t) = lambda, clamped to [tMin, tMax] (the inverse of logSnr). */
  tOfLogSnr(lambda: number): number;
}

/** The VE-space noise level sigma/alpha = exp(-logSnr/2): the sigma that samplers and Denoisers use. */
export function veSigma(s: Schedule, t: number): number {
  return s.sigma(t) / s.alpha(t);
}

/** log SNR of a VE-space sigma: -2 log sigma. */
export function logSnrOfVeSigma(sigma: number): number {
  return -2 * dlog(sigma);
}
