// A discrete variance-preserving schedule from betas (DDPM, Ho et al. 2020): t = 0..T with t = 0 the
// data, alphaBar_t = prod_{s<=t} (1 - beta_s) (eq. 4 and the line after it), alpha(t) = sqrt(alphaBar_t),
// sigma(t) = sqrt(1 - alphaBar_t). Fractional t interpolates log-SNR linearly between integer steps
// (alphaBar linearly on (0, 1), where log-SNR is infinite at 0), so samplers may ask for any t.

import { dexp, dexpm1, dlog, dlog1p } from "../math/detmath.ts";
import { ArgumentError, finite, inRange } from "../validate.ts";
import { checkBetas, cosineBetas, geometricBetas, linearBetas, rescaleZeroTerminalSnr, scaledLinearBetas, sigmoidBetas } from "./betas.ts";
import type { Schedule } from "./types.ts";

export class DiscreteSchedule implements Schedule {
  readonly discrete = true;
  readonly variancePreserving = true;
  readonly tMin = 0;
  readonly tMax: number;
  readonly T: number;
  /** beta_t at index t-1. */
  readonly betas: Float64Array;
  /** log alphaBar_t at index t (index 0: log 1 = 0). */
  readonly logAlphaBars: Float64Array;
  /** log SNR_t at index t (index 0: +Infinity). */
  private readonly logSnrs: Float64Array;

  /**
   * @param betas beta_1..beta_T, each in (0, 1); with `zeroTerminalSnr` the last may be exactly 1
   *   (see rescaleZeroTerminalSnr).
   */
  constructor(betas: ArrayLike<number>, readonly name: string = "custom", opts: { zeroTerminalSnr?: boolean } = {}) {
    let b: Float64Array;
    if (opts.zeroTerminalSnr) {
      const T = betas.length;
      const head = checkBetas(Array.prototype.slice.call(betas, 0, T - 1) as number[]);
      const last = finite(`betas[${T - 1}]`, betas[T - 1]);
      if (last !== 1) throw new ArgumentError(`betas[${T - 1}]`, `must be 1 for a zero-terminal-SNR schedule, got ${last}`);
      b = new Float64Array(T);
      b.set(head);
      b[T - 1] = 1;
    } else {
      b = checkBetas(betas);
    }
    this.betas = b;
    this.T = b.length;
    this.tMax = this.T;
    this.logAlphaBars = new Float64Array(this.T + 1);
    this.logSnrs = new Float64Array(this.T + 1);
    this.logSnrs[0] = Infinity;
    let L = 0;
    for (let t = 1; t <= this.T; t++) {
      L += b[t - 1] === 1 ? -Infinity : dlog1p(-b[t - 1]);
      this.logAlphaBars[t] = L;
      // log(alphaBar / (1 - alphaBar)) with 1 - alphaBar = -expm1(L), accurate for small t
      this.logSnrs[t] = L - dlog(-dexpm1(L));
    }
  }

  private checkT(t: number): number {
    return inRange("t", t, 0, this.T);
  }

  /** alphaBar_t = prod_{s<=t} (1 - beta_s), at integer or fractional t. */
  alphaBar(t: number): number {
    this.checkT(t);
    if (Number.isInteger(t)) return dexp(this.logAlphaBars[t]);
    if (t < 1) return 1 - this.noiseVarBelow1(t);
    // sigmoid of the interpolated log-SNR
    const l = this.logSnr(t);
    return l >= 0 ? 1 / (1 + dexp(-l)) : dexp(l) / (1 + dexp(l));
  }

  /** beta_t for integer t in 1..T. */
  beta(t: number): number {
    if (!Number.isInteger(t) || t < 1 || t > this.T) {
      throw new ArgumentError("t", `must be an integer in [1, ${this.T}], got ${t}`);
    }
    return this.betas[t - 1];
  }

  alpha(t: number): number {
    return Math.sqrt(this.alphaBar(t));
  }

  sigma(t: number): number {
    this.checkT(t);
    if (Number.isInteger(t)) return Math.sqrt(-dexpm1(this.logAlphaBars[t]));
    // 1 - alphaBar without cancellation (1 - alphaBar(t) lost all digits for small t):
    // t (1 - alphaBar_1) below t = 1, sigmoid(-lambda) above
    if (t < 1) return Math.sqrt(this.noiseVarBelow1(t));
    const l = this.logSnr(t);
    return Math.sqrt(l >= 0 ? dexp(-l) / (1 + dexp(-l)) : 1 / (1 + dexp(l)));
  }

  /** 1 - alphaBar(t) = t (1 - alphaBar_1) for t in [0, 1), where alphaBar is linear in t. */
  private noiseVarBelow1(t: number): number {
    return t * -dexpm1(this.logAlphaBars[1]);
  }

  logSnr(t: number): number {
    this.checkT(t);
    const i = Math.floor(t);
    if (i === t) return this.logSnrs[i];
    if (i === 0) {
      const om = this.noiseVarBelow1(t);
      return dlog1p(-om) - dlog(om);
    }
    const f = t - i;
    return (1 - f) * this.logSnrs[i] + f * this.logSnrs[i + 1];
  }

  tOfLogSnr(lambda: number): number {
    if (Number.isNaN(lambda)) throw new ArgumentError("lambda", "must not be NaN");
    const ls = this.logSnrs;
    if (lambda > ls[1]) {
      if (lambda === Infinity) return 0;
      // alphaBar linear on (0, 1): invert 1 - alphaBar = t (1 - alphaBar_1) with 1 - alphaBar = sigmoid(-lambda)
      const om = lambda >= 0 ? dexp(-lambda) / (1 + dexp(-lambda)) : 1 / (1 + dexp(lambda));
      return Math.min(1, om / -dexpm1(this.logAlphaBars[1]));
    }
    if (lambda <= ls[this.T]) return this.T;
    // binary search for the step interval [i, i+1] with ls[i] >= lambda > ls[i+1]
    let lo = 1;
    let hi = this.T;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (ls[mid] >= lambda) lo = mid;
      else hi = mid;
    }
    if (ls[hi] === -Infinity) return hi;
    return lo + (ls[lo] - lambda) / (ls[lo] - ls[hi]);
  }
}

/** The named discrete schedules, with diffusers' defaults. */
export type BetaScheduleName = "linear" | "scaled_linear" | "cosine" | "sigmoid" | "geometric";

export interface DiscreteOptions {
  T?: number;
  betaStart?: number;
  betaEnd?: number;
  /** geometric: the final beta. */
  beta?: number;
  /** Apply the zero-terminal-SNR rescale (Lin et al. 2023). */
  zeroTerminalSnr?: boolean;
}

export function discreteSchedule(kind: BetaScheduleName, opts: DiscreteOptions = {}): DiscreteSchedule {
  const T = opts.T ?? 1000;
  let betas: Float64Array;
  switch (kind) {
    case "linear":
      betas = linearBetas(T, opts.betaStart ?? 1e-4, opts.betaEnd ?? 0.02);
      break;
    case "scaled_linear":
      betas = scaledLinearBetas(T, opts.betaStart ?? 0.00085, opts.betaEnd ?? 0.012);
      break;
    case "cosine":
      betas = cosineBetas(T);
      break;
    case "sigmoid":
      betas = sigmoidBetas(T, opts.betaStart ?? 1e-4, opts.betaEnd ?? 0.02);
      break;
    case "geometric":
      betas = geometricBetas(T, opts.beta ?? 0.1);
      break;
    default:
      throw new ArgumentError("kind", `must be one of "linear", "scaled_linear", "cosine", "sigmoid", "geometric", got ${JSON.stringify(kind)}`);
  }
  const name = `${kind}(T=${T})${opts.zeroTerminalSnr ? "+zsnr" : ""}`;
  if (opts.zeroTerminalSnr) return new DiscreteSchedule(rescaleZeroTerminalSnr(betas), name, { zeroTerminalSnr: true });
  return new DiscreteSchedule(betas, name);
}
