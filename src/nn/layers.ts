// The layers of the score networks: each a Module with its parameters and a forward over the ops.

import { addPerChannel, bmm, conv2d, embedding, groupNorm, linear, reshape, silu, softmax, add } from "../autograd/ops.ts";
import { alloc } from "../autograd/pool.ts";
import { Tensor } from "../autograd/tensor.ts";
import { dcos, dexp, dlog, dsin } from "../math/detmath.ts";
import { ArgumentError } from "../validate.ts";
import { fanInBound, Module, ONE, ZERO, type Init } from "./module.ts";

export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(readonly inFeatures: number, readonly outFeatures: number, zeroInit = false) {
    super();
    const init: Init = zeroInit ? ZERO : fanInBound(inFeatures);
    this.weight = this.param("weight", [outFeatures, inFeatures], init);
    this.bias = this.param("bias", [outFeatures], zeroInit ? ZERO : fanInBound(inFeatures));
  }
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}

export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernel = 3,
    readonly stride = 1,
    readonly pad = (kernel - 1) >> 1,
    zeroInit = false,
  ) {
    super();
    const fanIn = inChannels * kernel * kernel;
    this.weight = this.param("weight", [outChannels, inChannels, kernel, kernel], zeroInit ? ZERO : fanInBound(fanIn));
    this.bias = this.param("bias", [outChannels], zeroInit ? ZERO : fanInBound(fanIn));
  }
  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, this.stride, this.pad);
  }
}

export class GroupNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(readonly groups: number, readonly channels: number, readonly eps = 1e-5) {
    super();
    if (channels % groups !== 0) throw new ArgumentError("groups", `must divide channels (${channels}), got ${groups}`);
    this.weight = this.param("weight", [channels], ONE);
    this.bias = this.param("bias", [channels], ZERO);
  }
  forward(x: Tensor): Tensor {
    return groupNorm(x, this.groups, this.weight, this.bias, this.eps);
  }
}

export class Embedding extends Module {
  readonly weight: Tensor;
  constructor(readonly count: number, readonly dim: number) {
    super();
    this.weight = this.param("weight", [count, dim], { kind: "uniform", bound: Math.sqrt(3) }); // unit variance
  }
  forward(labels: Int32Array): Tensor {
    return embedding(this.weight, labels);
  }
}

/**
 * Sinusoidal embedding of one scalar per item (Vaswani et al. 2017, as DDPM embeds t):
 * [cos(v f_0), ..., cos(v f_{d/2-1}), sin(v f_0), ...] with f_i = maxPeriod^(-i / (d/2)). Deterministic
 * sin/cos so a seed samples the same bytes everywhere.
 */
export function sinusoidalEmbedding(values: ArrayLike<number>, dim: number, maxPeriod = 10000): Tensor {
  if (!Number.isInteger(dim) || dim < 2 || dim % 2) throw new ArgumentError("dim", `must be an even integer >= 2, got ${dim}`);
  const half = dim / 2;
  const out = alloc(values.length * dim);
  for (let n = 0; n < values.length; n++) {
    for (let i = 0; i < half; i++) {
      const a = values[n] * dexp((-dlog(maxPeriod) * i) / half);
      out[n * dim + i] = dcos(a);
      out[n * dim + half + i] = dsin(a);
    }
  }
  return new Tensor(out, [values.length, dim]);
}

/** Noise-level embedding: sinusoidal features, then Linear-SiLU-Linear (DDPM's time MLP). */
export class NoiseEmbedding extends Module {
  readonly lin1: Linear;
  readonly lin2: Linear;
  constructor(readonly freqDim: number, readonly dim: number, readonly maxPeriod = 10000) {
    super();
    this.lin1 = this.child("lin1", new Linear(freqDim, dim));
    this.lin2 = this.child("lin2", new Linear(dim, dim));
  }
  forward(cNoise: ArrayLike<number>): Tensor {
    return this.lin2.forward(silu(this.lin1.forward(sinusoidalEmbedding(cNoise, this.freqDim, this.maxPeriod))));
  }
}

/**
 * Residual block (DDPM / improved DDPM): h = conv(silu(gn(x))); h += proj(silu(emb)) per channel;
 * h = conv(silu(gn(h))) with the last conv zero-initialised (the block starts as the identity);
 * out = skip(x) + h, skip a 1x1 conv when the channel count changes.
 */
export class ResBlock extends Module {
  readonly norm1: GroupNorm;
  readonly conv1: Conv2d;
  readonly emb: Linear;
  readonly norm2: GroupNorm;
  readonly conv2: Conv2d;
  readonly skip: Conv2d | null;
  constructor(inCh: number, outCh: number, embDim: number, groups: number) {
    super();
    this.norm1 = this.child("norm1", new GroupNorm(Math.min(groups, inCh), inCh));
    this.conv1 = this.child("conv1", new Conv2d(inCh, outCh, 3));
    this.emb = this.child("emb", new Linear(embDim, outCh));
    this.norm2 = this.child("norm2", new GroupNorm(Math.min(groups, outCh), outCh));
    this.conv2 = this.child("conv2", new Conv2d(outCh, outCh, 3, 1, 1, true));
    this.skip = inCh === outCh ? null : this.child("skip", new Conv2d(inCh, outCh, 1, 1, 0));
  }
  /** x [B, C, H, W]; embSilu = silu(embedding) [B, E], computed once per forward by the network. */
  forward(x: Tensor, embSilu: Tensor): Tensor {
    let h = this.conv1.forward(silu(this.norm1.forward(x)));
    h = addPerChannel(h, this.emb.forward(embSilu));
    h = this.conv2.forward(silu(this.norm2.forward(h)));
    return add(this.skip ? this.skip.forward(x) : x, h);
  }
}

/**
 * Single-head self-attention over the H*W positions (DDPM uses it at 16x16): q, k, v are 1x1 convs of
 * gn(x); out = x + proj(v softmax(q^T k / sqrt(C))^T), proj zero-initialised.
 */
export class Attention extends Module {
  readonly norm: GroupNorm;
  readonly q: Conv2d;
  readonly k: Conv2d;
  readonly v: Conv2d;
  readonly proj: Conv2d;
  constructor(readonly channels: number, groups: number) {
    super();
    this.norm = this.child("norm", new GroupNorm(Math.min(groups, channels), channels));
    this.q = this.child("q", new Conv2d(channels, channels, 1, 1, 0));
    this.k = this.child("k", new Conv2d(channels, channels, 1, 1, 0));
    this.v = this.child("v", new Conv2d(channels, channels, 1, 1, 0));
    this.proj = this.child("proj", new Conv2d(channels, channels, 1, 1, 0, true));
  }
  forward(x: Tensor): Tensor {
    const [B, C, H, W] = x.shape;
    const N = H * W;
    const hn = this.norm.forward(x);
    const q = reshape(this.q.forward(hn), [B, C, N]);
    const k = reshape(this.k.forward(hn), [B, C, N]);
    const v = reshape(this.v.forward(hn), [B, C, N]);
    const attn = softmax(bmm(q, k, true, false, 1 / Math.sqrt(C))); // [B, N, N]: row i attends over j
    const out = bmm(v, attn, false, true); // [B, C, N]: out[c, i] = sum_j v[c, j] attn[i, j]
    return add(x, this.proj.forward(reshape(out, [B, C, H, W])));
  }
}
