// Continuous-time schedules (Song et al. 2021, "Score-based generative modeling through SDEs";
// Karras et al. 2022, EDM). Each gives alpha(t), sigma(t) in closed form; tOfLogSnr inverts logSnr by
// bisection, which is exact to the last bit of t, deterministic, and needs no per-schedule algebra.

import { dcos, dexp, dexpm1, dlog } from "../math/detmath.ts";
import { ArgumentError, inRange, positive } from "../validate.ts";
import type { Schedule } from "./types.ts";

abstract class ContinuousSchedule implements Schedule {
  readonly discrete = false;
  abstract readonly name: string;
  abstract readonly variancePreserving: boolean;
  abstract readonly tMin: number;
  abstract readonly tMax: number;
  abstract alpha(t: number): number;
  abstract sigma(t: number): number;
  abstract logSnr(t: number): number;

  protected checkT(t: number): number {
    return inRange("t", t, this.tMin, this.tMax);
  }

  tOfLogSnr(lambda: number): number {
    if (Number.isNaN(lambda)) throw new ArgumentError("lambda", "must not be NaN");
    let lo = this.tMin;
    let hi = this.tMax;
    if (lambda >= this.logSnr(lo)) return lo;
    if (lambda <= this.logSnr(hi)) return hi;
    for (let i = 0; i < 200; i++) {
      const mid = 0.5 * (lo + hi);
      if (mid <= lo || mid >= hi) break;
      if (this.logSnr(mid) >= lambda) lo = mid;
      else hi = mid;
    }
    return 0.5 * (lo + hi);
  }
}

/** A VP schedule defined by log alphaBar(t): alpha = exp(L/2), sigma = sqrt(-expm1(L)). */
abstract class VPSchedule extends ContinuousSchedule {
  readonly variancePreserving = true;
  /** log alphaBar(t), <= 0 and decreasing. */
  abstract logAlphaBar(t: number): number;
  alpha(t: number): number {
    return dexp(0.5 * this.logAlphaBar(this.checkT(t)));
  }
  sigma(t: number): number {
    return Math.sqrt(-dexpm1(this.logAlphaBar(this.checkT(t))));
  }
  logSnr(t: number): number {
    const L = this.logAlphaBar(this.checkT(t));
    return L - dlog(-dexpm1(L));
  }
}

/**
 * VP SDE with linear beta(t) = betaMin + t (betaMax - betaMin), t in [0, 1] (Song et al. 2021, eq. 11
 * and App. B): log alphaBar(t) = -(betaMin t + (betaMax - betaMin) t^2 / 2). The limit of DDPM's linear
 * schedule with beta_i = beta(t_i) / T as T grows.
 */
export class VPLinear extends VPSchedule {
  readonly tMin = 0;
  readonly tMax = 1;
  readonly name: string;
  constructor(readonly betaMin = 0.1, readonly betaMax = 20) {
    super();
    positive("betaMin", betaMin);
    if (!(betaMax > betaMin) || !Number.isFinite(betaMax)) {
      throw new ArgumentError("betaMax", `must be finite and > betaMin (${betaMin}), got ${betaMax}`);
    }
    this.name = `vp-linear(${betaMin},${betaMax})`;
  }
  logAlphaBar(t: number): number {
    return -(this.betaMin * t + 0.5 * (this.betaMax - this.betaMin) * t * t);
  }
  /** beta(t) of the SDE dx = -beta(t) x / 2 dt + sqrt(beta(t)) dw. */
  beta(t: number): number {
    return this.betaMin + this.checkT(t) * (this.betaMax - this.betaMin);
  }
}

/**
 * VP cosine (Nichol & Dhariwal 2021, eq. 17, in continuous time): alphaBar(t) = f(t)/f(0),
 * f(t) = cos^2((t + s)/(1 + s) pi/2), t in [0, tMax]. tMax defaults to 0.9946, where alphaBar is about
 * 7e-5 (VE sigma about 120): the formula reaches alphaBar = 0 at t = 1, an infinite VE sigma.
 */
export class VPCosine extends VPSchedule {
  readonly tMin = 0;
  readonly tMax: number;
  readonly name: string;
  private readonly logF0: number;
  constructor(readonly s = 0.008, tMax = 0.9946) {
    super();
    inRange("s", s, 0, 1, "[)");
    this.tMax = inRange("tMax", tMax, 0, 1, "(]");
    const c0 = dcos((s / (1 + s)) * (Math.PI / 2));
    this.logF0 = dlog(c0 * c0);
    this.name = `vp-cosine(s=${s})`;
  }
  logAlphaBar(t: number): number {
    const c = dcos(((t + this.s) / (1 + this.s)) * (Math.PI / 2));
    return Math.min(0, dlog(c * c) - this.logF0);
  }
}

/** VE SDE (Song et al. 2021, eq. 9; NCSN): alpha = 1, sigma(t) = sigmaMin (sigmaMax/sigmaMin)^t, t in [0, 1]. */
export class VE extends ContinuousSchedule {
  readonly variancePreserving = false;
  readonly tMin = 0;
  readonly tMax = 1;
  readonly name: string;
  private readonly logMin: number;
  private readonly logRatio: number;
  constructor(readonly sigmaMin = 0.01, readonly sigmaMax = 50) {
    super();
    positive("sigmaMin", sigmaMin);
    if (!(sigmaMax > sigmaMin) || !Number.isFinite(sigmaMax)) {
      throw new ArgumentError("sigmaMax", `must be finite and > sigmaMin (${sigmaMin}), got ${sigmaMax}`);
    }
    this.logMin = dlog(sigmaMin);
    this.logRatio = dlog(sigmaMax) - this.logMin;
    this.name = `ve(${sigmaMin},${sigmaMax})`;
  }
  alpha(t: number): number {
    this.checkT(t);
    return 1;
  }
  sigma(t: number): number {
    return dexp(this.logMin + this.checkT(t) * this.logRatio);
  }
  logSnr(t: number): number {
    return -2 * (this.logMin + this.checkT(t) * this.logRatio);
  }
}

/**
 * EDM (Karras et al. 2022, Table 1): alpha = 1, sigma(t) = t, t in [sigmaMin, sigmaMax]. sigmaData is the
 * data's standard deviation, used by the preconditioning (c_skip, c_out, c_in) and the loss weight.
 */
export class EDM extends ContinuousSchedule {
  readonly variancePreserving = false;
  readonly tMin: number;
  readonly tMax: number;
  readonly name: string;
  constructor(readonly sigmaMin = 0.002, readonly sigmaMax = 80, readonly sigmaData = 0.5) {
    super();
    positive("sigmaMin", sigmaMin);
    positive("sigmaData", sigmaData);
    if (!(sigmaMax > sigmaMin) || !Number.isFinite(sigmaMax)) {
      throw new ArgumentError("sigmaMax", `must be finite and > sigmaMin (${sigmaMin}), got ${sigmaMax}`);
    }
    this.tMin = sigmaMin;
    this.tMax = sigmaMax;
    this.name = `edm(${sigmaMin},${sigmaMax},${sigmaData})`;
  }
  alpha(t: number): number {
    this.checkT(t);
    return 1;
  }
  sigma(t: number): number {
    return this.checkT(t);
  }
  logSnr(t: number): number {
    return -2 * dlog(this.checkT(t));
  }
  override tOfLogSnr(lambda: number): number {
    if (Number.isNaN(lambda)) throw new ArgumentError("lambda", "must not be NaN");
    return Math.min(this.tMax, Math.max(this.tMin, dexp(-0.5 * lambda)));
  }
}
