// A small UNet for images (after DDPM, Ho et al. 2020, App. B, scaled down for CPUs): a 3x3 stem;
// per resolution level some residual blocks (with attention where configured) and a stride-2 conv
// down; a middle of res-attn-res; the mirror path up with skip connections concatenated; GroupNorm,
// SiLU and a zero-initialised 3x3 conv out. Shapes in the comments: [B, C, H, W].

import { add, concatChannels, silu, upsample2x } from "../autograd/ops.ts";
import { Tensor } from "../autograd/tensor.ts";
import { ArgumentError, int } from "../validate.ts";
import { Attention, Conv2d, Embedding, GroupNorm, NoiseEmbedding, ResBlock } from "./layers.ts";
import { Module } from "./module.ts";

export interface UNetConfig {
  kind: "unet";
  inChannels: number;
  /** Image side (square). Must be divisible by 2^(levels - 1). */
  size: number;
  /** Channels per resolution level, e.g. [32, 64, 64] for 28 -> 14 -> 7. */
  channels: number[];
  /** Residual blocks per level on the way down (the way up has one more, for the downsample's skip). */
  resBlocks: number;
  /** Levels (indices into channels) with self-attention after each residual block. */
  attentionLevels: number[];
  groups: number;
  /** Width of the sinusoidal noise features; the embedding itself is 4x the first level's channels. */
  embDim: number;
  /** Classes for conditioning (0: unconditional); label `numClasses` is the "no label" of CFG. */
  numClasses: number;
}

/**
 * The shipped model's network (models/mnist.safetensors, preset "mnist"): 28 -> 14 -> 7 with 16, 32, 32
 * channels, attention at 7 x 7, conditioned on the 10 digits.
 */
export const MNIST_UNET: UNetConfig = {
  kind: "unet",
  inChannels: 1,
  size: 28,
  channels: [16, 32, 32],
  resBlocks: 1,
  attentionLevels: [2],
  groups: 8,
  embDim: 32,
  numClasses: 10,
};

class Level extends Module {
  readonly res: ResBlock[] = [];
  readonly attn: (Attention | null)[] = [];
  constructor(count: number, inCh: (i: number) => number, outCh: number, embDim: number, groups: number, attention: boolean) {
    super();
    for (let i = 0; i < count; i++) {
      this.res.push(this.child(`res.${i}`, new ResBlock(inCh(i), outCh, embDim, groups)));
      this.attn.push(attention ? this.child(`attn.${i}`, new Attention(outCh, groups)) : null);
    }
  }
}

export class UNet extends Module {
  readonly noise: NoiseEmbedding;
  readonly label: Embedding | null;
  readonly stem: Conv2d;
  readonly down: Level[] = [];
  readonly downsample: (Conv2d | null)[] = [];
  readonly mid1: ResBlock;
  readonly midAttn: Attention;
  readonly mid2: ResBlock;
  readonly up: Level[] = [];
  readonly upsample: (Conv2d | null)[] = [];
  readonly normOut: GroupNorm;
  readonly convOut: Conv2d;

  constructor(readonly config: UNetConfig) {
    super();
    const c = config;
    int("config.inChannels", c.inChannels, 1, 64);
    int("config.resBlocks", c.resBlocks, 1, 8);
    if (!Array.isArray(c.channels) || c.channels.length < 1) throw new ArgumentError("config.channels", "must list at least one level");
    c.channels.forEach((ch, i) => {
      int(`config.channels[${i}]`, ch, 1, 4096);
      if (ch % Math.min(c.groups, ch)) throw new ArgumentError(`config.channels[${i}]`, `must be divisible by groups (${c.groups}), got ${ch}`);
    });
    const L = c.channels.length;
    int("config.size", c.size, 2 ** (L - 1), 4096);
    if (c.size % 2 ** (L - 1)) throw new ArgumentError("config.size", `must be divisible by 2^${L - 1} for ${L} levels, got ${c.size}`);
    for (const a of c.attentionLevels) int("config.attentionLevels[]", a, 0, L - 1);
    const E = 4 * c.channels[0];
    this.noise = this.child("noise", new NoiseEmbedding(c.embDim, E));
    this.label = c.numClasses > 0 ? this.child("label", new Embedding(c.numClasses + 1, E)) : null;
    this.stem = this.child("stem", new Conv2d(c.inChannels, c.channels[0], 3));

    // Down path; skipCh records the channels of every tensor pushed as a skip, in order.
    const skipCh: number[] = [c.channels[0]];
    let ch = c.channels[0];
    for (let l = 0; l < L; l++) {
      const out = c.channels[l];
      const prev = ch;
      this.down.push(this.child(`down.${l}`, new Level(c.resBlocks, (i) => (i === 0 ? prev : out), out, E, c.groups, c.attentionLevels.includes(l))));
      for (let i = 0; i < c.resBlocks; i++) skipCh.push(out);
      ch = out;
      if (l < L - 1) {
        this.downsample.push(this.child(`downsample.${l}`, new Conv2d(ch, ch, 3, 2, 1)));
        skipCh.push(ch);
      } else this.downsample.push(null);
    }
    this.mid1 = this.child("mid.res1", new ResBlock(ch, ch, E, c.groups));
    this.midAttn = this.child("mid.attn", new Attention(ch, c.groups));
    this.mid2 = this.child("mid.res2", new ResBlock(ch, ch, E, c.groups));

    // Up path, levels in reverse; each block takes one skip.
    for (let l = L - 1; l >= 0; l--) {
      const out = c.channels[l];
      const ins: number[] = [];
      for (let i = 0; i <= c.resBlocks; i++) {
        ins.push((i === 0 ? ch : out) + skipCh.pop()!);
      }
      this.up.push(this.child(`up.${l}`, new Level(c.resBlocks + 1, (i) => ins[i], out, E, c.groups, c.attentionLevels.includes(l))));
      ch = out;
      this.upsample.push(l > 0 ? this.child(`upsample.${l}`, new Conv2d(ch, ch, 3)) : null);
    }
    this.normOut = this.child("out.norm", new GroupNorm(Math.min(c.groups, ch), ch));
    this.convOut = this.child("out.conv", new Conv2d(ch, c.inChannels, 3, 1, 1, true));
  }

  /** x [B, C, H, W]; cNoise one value per item; labels per item (numClasses = none). */
  forward(x: Tensor, cNoise: ArrayLike<number>, labels?: Int32Array): Tensor {
    const B = x.shape[0];
    const c = this.config;
    if (x.shape.length !== 4 || x.shape[1] !== c.inChannels || x.shape[2] !== c.size || x.shape[3] !== c.size) {
      throw new ArgumentError("x", `must have shape [B, ${c.inChannels}, ${c.size}, ${c.size}], got [${x.shape.join(", ")}]`);
    }
    let emb = this.noise.forward(cNoise); // [B, E]
    if (this.label) emb = add(emb, this.label.forward(labels ?? new Int32Array(B).fill(c.numClasses)));
    const e = silu(emb);
    let h = this.stem.forward(x);
    const skips: Tensor[] = [h];
    this.down.forEach((level, l) => {
      level.res.forEach((r, i) => {
        h = r.forward(h, e);
        const a = level.attn[i];
        if (a) h = a.forward(h);
        skips.push(h);
      });
      const ds = this.downsample[l];
      if (ds) {
        h = ds.forward(h);
        skips.push(h);
      }
    });
    h = this.mid2.forward(this.midAttn.forward(this.mid1.forward(h, e)), e);
    this.up.forEach((level, j) => {
      level.res.forEach((r, i) => {
        h = r.forward(concatChannels(h, skips.pop()!), e);
        const a = level.attn[i];
        if (a) h = a.forward(h);
      });
      const us = this.upsample[j];
      if (us) h = us.forward(upsample2x(h));
    });
    return this.convOut.forward(silu(this.normOut.forward(h)));
  }
}
