// AdamW (Loshchilov & Hutter 2019) with linear warm-up and global-norm gradient clipping, and an
// exponential moving average of the weights. State is plain Float32Arrays keyed by parameter name, so
// it goes into a checkpoint as tensors ("adam.m.<name>", "adam.v.<name>", "ema.<name>").

import { kernels } from "../autograd/backend.ts";
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
    for (const t of this.params.values()) if (t.grad) s += kernels().dot(t.grad, t.grad);
    return Math.sqrt(s);
  }

  /** One update from the parameters' .grad; returns the gradient norm before clipping. */
  update(): number {
    const norm = this.gradNorm();
    if (!Number.isFinite(norm)) return norm; // the caller stops on a non-finite gradient
    const scale = this.clip > 0 && norm > this.clip ? this.clip / norm : 1;
    const lr = this.currentLr();
    this.step++;
    const k = kernels();
    const step = { lr, beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: this.weightDecay, step: this.step };
    for (const [name, t] of this.params) {
      const g = t.grad;
      if (!g) continue;
      if (scale !== 1) k.scale(scale, g, g);
      k.adam(t.data, g, this.m.get(name)!, this.v.get(name)!, step);
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
      kernels().axpby(d, s, 1 - d, t.data, s);
    }
  }
}
