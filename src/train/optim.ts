// AdamW (Loshchilov & Hutter 2019) with linear warm-up and global-norm gradient clipping, and an
// exponential moving average of the weights. State is plain Float32Arrays keyed by parameter name, so
// it goes into a checkpoint as tensors ("adam.m.<name>", "adam.v.<name>", "ema.<name>").

import type { Tensor } from "../autograd/tensor.ts";
import { ArgumentError, finite, inRange, int, positive } from "../validate.ts";

export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** Steps of linear warm-up from 0 to lr. */
  warmup?: number;
  /** Clip the global gradient norm to this (0: no clipping). */
  clip?: number;
}

export class AdamW {
  readonly m = new Map<string, Float32Array>();
  readonly v = new Map<string, Float32Array>();
  /** Steps taken so far. */
  step = 0;
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly warmup: number;
  readonly clip: number;

  constructor(readonly params: Map<string, Tensor>, o: AdamOptions) {
    this.lr = positive("lr", o.lr);
    this.beta1 = inRange("beta1", o.beta1 ?? 0.9, 0, 1, "[)");
    this.beta2 = inRange("beta2", o.beta2 ?? 0.999, 0, 1, "[)");
    this.eps = positive("eps", o.eps ?? 1e-8);
    this.weightDecay = inRange("weightDecay", o.weightDecay ?? 0, 0, 1);
    this.warmup = int("warmup", o.warmup ?? 0, 0);
    this.clip = finite("clip", o.clip ?? 0);
    if (this.clip < 0) throw new ArgumentError("clip", `must be >= 0, got ${this.clip}`);
    for (const [k, t] of params) {
      this.m.set(k, new Float32Array(t.size));
      this.v.set(k, new Float32Array(t.size));
    }
  }

  /** The learning rate at the next step (after warm-up: constant). */
  currentLr(): number {
    return this.warmup > 0 ? (this.lr * Math.min(1, (this.step + 1) / this.warmup)) : this.lr;
  }

  /** Global L2 norm of all gradients, accumulated in float64. */
  gradNorm(): number {
    let s = 0;
    for (const t of this.params.values()) if (t.grad) for (const g of t.grad) s += g * g;
    return Math.sqrt(s);
  }

  /** One update from the parameters' .grad; returns the gradient norm before clipping. */
  update(): number {
    const norm = this.gradNorm();
    if (!Number.isFinite(norm)) return norm; // the caller stops on a non-finite gradient
    const scale = this.clip > 0 && norm > this.clip ? this.clip / norm : 1;
    const lr = this.currentLr();
    this.step++;
    const b1 = this.beta1;
    const b2 = this.beta2;
    const c1 = 1 - b1 ** this.step;
    const c2 = 1 - b2 ** this.step;
    const decay = 1 - lr * this.weightDecay;
    for (const [k, t] of this.params) {
      const g = t.grad;
      if (!g) continue;
      const m = this.m.get(k)!;
      const v = this.v.get(k)!;
      const w = t.data;
      for (let i = 0; i < w.length; i++) {
        const gi = g[i] * scale;
        m[i] = b1 * m[i] + (1 - b1) * gi;
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        w[i] = w[i] * decay - (lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + this.eps);
      }
    }
    return norm;
  }

  zeroGrad(): void {
    for (const t of this.params.values()) t.grad = null;
  }
}

/** Exponential moving average of parameters; the decay ramps up as (1 + n) / (10 + n) early on. */
export class EMA {
  readonly shadow = new Map<string, Float32Array>();
  constructor(params: Map<string, Tensor>, readonly decay = 0.999) {
    inRange("decay", decay, 0, 1, "[)");
    for (const [k, t] of params) this.shadow.set(k, Float32Array.from(t.data));
  }
  update(params: Map<string, Tensor>, step: number): void {
    const d = Math.min(this.decay, (1 + step) / (10 + step));
    for (const [k, t] of params) {
      const s = this.shadow.get(k)!;
      for (let i = 0; i < s.length; i++) s[i] = d * s[i] + (1 - d) * t.data[i];
    }
  }
}
