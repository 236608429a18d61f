// diffusers' UNet2DModel (huggingface/diffusers: models/unets/unet_2d.py, unet_2d_blocks.py, resnet.py,
// attention_processor.py, embeddings.py), written over our autograd ops so it runs and trains here.
// Parameter names are diffusers' state-dict names ("down_blocks.0.resnets.0.norm1.weight"), so
// parameters() maps 1:1 onto a diffusers safetensors file. Shapes in comments: [B, C, H, W]; E is the
// time-embedding width (4 x block_out_channels[0] unless time_embedding_dim says otherwise).
//
// The architecture is described once, as plain data (`unet2dLayout`: every block's resnets, attentions
// and resamplers with their channels and groups, the diffusers arithmetic in one place); the modules
// are built from it and `unet2dParameterShapes` reads the parameter list off it without allocating,
// so a loader can compare a config's size with a weights file before building anything.

import {
  activation,
  add,
  addPerChannel,
  bmm,
  concatChannels,
  conv2d,
  embedding,
  pad2d,
  reshape,
  scale,
  scaleItems,
  scaleShift,
  silu,
  softmax,
  upfirdn2d,
  upsample2x,
  type ActivationName,
} from "../autograd/ops.ts";
import { alloc } from "../autograd/pool.ts";
import { Tensor } from "../autograd/tensor.ts";
import { dcos, dexp, dlog, dsin } from "../math/detmath.ts";
import { ArgumentError } from "../validate.ts";
import { Conv2d, Embedding, GroupNorm, Linear } from "./layers.ts";
import { Module } from "./module.ts";

export const DOWN_BLOCK_TYPES = ["DownBlock2D", "AttnDownBlock2D", "SkipDownBlock2D", "AttnSkipDownBlock2D"] as const;
export const UP_BLOCK_TYPES = ["UpBlock2D", "AttnUpBlock2D", "SkipUpBlock2D", "AttnSkipUpBlock2D"] as const;
export const ACT_FNS = ["silu", "swish", "mish", "gelu", "relu"] as const;
export type DownBlockType = (typeof DOWN_BLOCK_TYPES)[number];
export type UpBlockType = (typeof UP_BLOCK_TYPES)[number];

/** A complete, validated UNet2DModel config under diffusers' own key names (src/diffusers/unet-config.ts makes one). */
export interface UNet2DConfig {
  sample_size: number | [number, number] | null;
  in_channels: number;
  out_channels: number;
  center_input_sample: boolean;
  time_embedding_type: "positional" | "fourier" | "learned";
  time_embedding_dim: number | null;
  freq_shift: number;
  flip_sin_to_cos: boolean;
  down_block_types: DownBlockType[];
  mid_block_type: "UNetMidBlock2D" | null;
  up_block_types: UpBlockType[];
  block_out_channels: number[];
  layers_per_block: number;
  mid_block_scale_factor: number;
  downsample_padding: number;
  downsample_type: "conv" | "resnet" | null;
  upsample_type: "conv" | "resnet" | null;
  dropout: number;
  act_fn: (typeof ACT_FNS)[number];
  attention_head_dim: number | null;
  norm_num_groups: number | null;
  attn_norm_num_groups: number | null;
  norm_eps: number;
  resnet_time_scale_shift: "default" | "scale_shift";
  add_attention: boolean;
  class_embed_type: "timestep" | "identity" | null;
  num_class_embeds: number | null;
  num_train_timesteps: number | null;
}

// ---- the layout: diffusers' channel and group arithmetic, as data ----

type Resample = "none" | "up" | "down" | "fir-up" | "fir-down";
interface ResnetSpec {
  inCh: number;
  outCh: number;
  groups: number;
  groupsOut: number;
  shortcut: boolean;
  resample: Resample;
  outputScale: number;
}
interface AttnSpec {
  ch: number;
  heads: number;
  dimHead: number;
  groups: number | null;
  rescale: number;
}
interface BlockSpec {
  kind: DownBlockType | UpBlockType;
  resnets: ResnetSpec[];
  /** One per resnet, or a single one after all resnets (AttnSkipUpBlock2D). */
  attentions: AttnSpec[];
  /** downsamplers.0 / upsamplers.0: a strided or following 3x3 conv, or a resnet that resamples. */
  resampler: { conv: number; padding: number } | { resnet: ResnetSpec } | null;
  /** Score-SDE skip path: resnet_down / resnet_up, skip_conv [out, in, k, k], skip_norm groups (up). */
  skip: { resnet: ResnetSpec; conv: [number, number, number]; normGroups: number | null } | null;
}
export interface UNet2DLayout {
  config: UNet2DConfig;
  /** Width of the time features (time_proj output) and of the embedding E. */
  timeInput: number;
  temb: number;
  act: ActivationName;
  down: BlockSpec[];
  mid: { resnets: ResnetSpec[]; attention: AttnSpec | null } | null;
  up: BlockSpec[];
  normOutGroups: number;
}

const SQRT2 = Math.SQRT2;

/** GroupNorm groups that must divide `ch`; the error names the config key the count came from. */
function groupsOf(key: string, groups: number, ch: number, where: string): number {
  if (!(groups >= 1) || ch % groups !== 0) {
    throw new ArgumentError(key, `${where}: GroupNorm needs a group count (${groups}) >= 1 that divides its ${ch} channels`);
  }
  return groups;
}

function attnSpec(c: UNet2DConfig, ch: number, groups: number | null, rescale: number, where: string, groupsKey = "norm_num_groups"): AttnSpec {
  const dimHead = c.attention_head_dim ?? ch; // UNet2DModel passes the block's channels when null: one head
  const heads = Math.floor(ch / dimHead);
  if (heads < 1) throw new ArgumentError("attention_head_dim", `${where}: head dim ${dimHead} exceeds the block's ${ch} channels (heads = channels / head dim must be >= 1)`);
  return { ch, heads, dimHead, groups: groups === null ? null : groupsOf(groupsKey, groups, ch, `${where} attention`), rescale };
}

/**
 * Every block with its channels, exactly as UNet2DModel.__init__ and get_down_block / get_up_block /
 * UNetMidBlock2D build them (including their quirks: the skip blocks' own group counts, and
 * AttnSkipUpBlock2D's min(in + skip // 4, 32)). Throws ArgumentError naming the config key when the
 * config describes a network diffusers could not run.
 */
export function unet2dLayout(c: UNet2DConfig): UNet2DLayout {
  const L = c.block_out_channels.length;
  if (c.down_block_types.length !== L || c.up_block_types.length !== L) {
    throw new ArgumentError("block_out_channels", `must have one entry per down and up block (${c.down_block_types.length} down, ${c.up_block_types.length} up), got ${L}`);
  }
  const C0 = c.block_out_channels[0];
  const temb = c.time_embedding_dim ?? 4 * C0;
  const timeInput = c.time_embedding_type === "fourier" ? 2 * C0 : C0;
  if (c.time_embedding_type === "learned" && c.num_train_timesteps === null) {
    throw new ArgumentError("num_train_timesteps", `must be set for time_embedding_type "learned" (the table has one row per timestep)`);
  }
  if (c.time_embedding_type === "positional" && Math.floor(C0 / 2) - c.freq_shift === 0) {
    throw new ArgumentError("freq_shift", `must differ from block_out_channels[0] / 2 (${Math.floor(C0 / 2)}): the frequencies divide by their difference`);
  }
  const timeNormSS = c.resnet_time_scale_shift === "scale_shift";
  const G = c.norm_num_groups;
  const quarter = (ch: number) => Math.min(Math.floor(ch / 4), 32);
  const needG = (where: string) => {
    if (G === null) throw new ArgumentError("norm_num_groups", `${where} needs a group count; null is only valid when every block is a Skip block`);
    return G;
  };
  const resnet = (inCh: number, outCh: number, groups: number, groupsOut: number, where: string, extra: Partial<ResnetSpec> = {}): ResnetSpec => ({
    inCh,
    outCh,
    groups: groupsOf(extra.groups !== undefined ? "block_out_channels" : "norm_num_groups", groups, inCh, `${where} norm1`),
    groupsOut: groupsOf("norm_num_groups", groupsOut, outCh, `${where} norm2`),
    shortcut: inCh !== outCh,
    resample: "none",
    outputScale: 1,
    ...extra,
  });
  const skipGroups = (ch: number, where: string) => {
    const g = quarter(ch);
    if (g < 1 || ch % g) throw new ArgumentError("block_out_channels", `${where}: a Skip block normalizes ${ch} channels in min(${ch} / 4, 32) = ${g} groups, which must be >= 1 and divide them`);
    return g;
  };

  // down path (UNet2DModel: input_channel is the previous block's output)
  const down: BlockSpec[] = [];
  let skipLevel = 0; // resolution level of the score-SDE skip sample, to check the blocks can run together
  for (let i = 0; i < L; i++) {
    const kind = c.down_block_types[i];
    const inCh = i === 0 ? C0 : c.block_out_channels[i - 1];
    const out = c.block_out_channels[i];
    const last = i === L - 1;
    const where = `down_blocks.${i} (${kind})`;
    const b: BlockSpec = { kind, resnets: [], attentions: [], resampler: null, skip: null };
    const isSkip = kind === "SkipDownBlock2D" || kind === "AttnSkipDownBlock2D";
    for (let j = 0; j < c.layers_per_block; j++) {
      const rin = j === 0 ? inCh : out;
      if (isSkip) {
        b.resnets.push(resnet(rin, out, skipGroups(rin, where), skipGroups(out, where), where, { outputScale: SQRT2 }));
      } else b.resnets.push(resnet(rin, out, needG(where), needG(where), where));
      if (kind === "AttnDownBlock2D") b.attentions.push(attnSpec(c, out, needG(where), 1, where));
      if (kind === "AttnSkipDownBlock2D") b.attentions.push(attnSpec(c, out, 32, SQRT2, where, "block_out_channels"));
    }
    if (!last) {
      if (isSkip) {
        if (skipLevel !== i) throw new ArgumentError("down_block_types", `${where}: a Skip block must not follow a block that downsamples without the skip path`);
        if (c.in_channels !== 3) throw new ArgumentError("in_channels", `must be 3 with Skip down blocks (diffusers' skip_conv reads 3 channels), got ${c.in_channels}`);
        const g = skipGroups(out, where);
        b.skip = { resnet: resnet(out, out, g, g, where, { shortcut: true, resample: "fir-down", outputScale: SQRT2 }), conv: [out, 3, 1], normGroups: null };
        skipLevel++;
      } else if (kind === "AttnDownBlock2D" && c.downsample_type === "resnet") {
        b.resampler = { resnet: resnet(out, out, needG(where), needG(where), where, { resample: "down" }) };
      } else b.resampler = { conv: out, padding: c.downsample_padding };
    }
    down.push(b);
  }

  let mid: UNet2DLayout["mid"] = null;
  if (c.mid_block_type !== null) {
    const ch = c.block_out_channels[L - 1];
    const g = G ?? quarter(ch);
    const attnGroups = c.attn_norm_num_groups ?? (timeNormSS ? null : g);
    const s = c.mid_block_scale_factor;
    const r = () => resnet(ch, ch, g, g, "mid_block", { outputScale: s });
    mid = { resnets: [r(), r()], attention: c.add_attention ? attnSpec(c, ch, attnGroups, s, "mid_block") : null };
  }

  // up path: reversed channels; the last resnet of each block takes the skip of the block's input width
  const up: BlockSpec[] = [];
  const rc = [...c.block_out_channels].reverse();
  let prev = rc[0];
  let skipUp: number | "zero" | null = null; // level of the up path's skip sample (null: none yet)
  for (let i = 0; i < L; i++) {
    const kind = c.up_block_types[i];
    const out = rc[i];
    const inCh = rc[Math.min(i + 1, L - 1)];
    const last = i === L - 1;
    const where = `up_blocks.${i} (${kind})`;
    const b: BlockSpec = { kind, resnets: [], attentions: [], resampler: null, skip: null };
    const isSkip = kind === "SkipUpBlock2D" || kind === "AttnSkipUpBlock2D";
    const n = c.layers_per_block + 1;
    for (let j = 0; j < n; j++) {
      const rskip = j === n - 1 ? inCh : out;
      const rin = j === 0 ? prev : out;
      if (kind === "SkipUpBlock2D") b.resnets.push(resnet(rin + rskip, out, skipGroups(rin + rskip, where), skipGroups(out, where), where, { outputScale: SQRT2 }));
      else if (kind === "AttnSkipUpBlock2D") {
        // diffusers writes min(resnet_in_channels + res_skip_channels // 4, 32): the division binds first
        const g = Math.min(rin + Math.floor(rskip / 4), 32);
        b.resnets.push(resnet(rin + rskip, out, g, skipGroups(out, where), where, { outputScale: SQRT2, groups: g }));
      } else b.resnets.push(resnet(rin + rskip, out, needG(where), needG(where), where));
      if (kind === "AttnUpBlock2D") b.attentions.push(attnSpec(c, out, needG(where), 1, where));
    }
    if (kind === "AttnSkipUpBlock2D") b.attentions.push(attnSpec(c, out, 32, SQRT2, where, "block_out_channels"));
    const level = L - 1 - i;
    if (isSkip) {
      if (skipUp !== null && skipUp !== "zero") skipUp -= 1; // FirUpsample2D of the skip sample
      else skipUp = "zero";
    }
    if (!last) {
      if (isSkip) {
        if (skipUp !== "zero" && skipUp !== level) throw new ArgumentError("up_block_types", `${where}: its skip sample is at another resolution than its input (a non-Skip block upsampled in between)`);
        if (c.out_channels !== 3) throw new ArgumentError("out_channels", `must be 3 with Skip up blocks (diffusers' skip_conv writes 3 channels), got ${c.out_channels}`);
        const g = skipGroups(out, where);
        b.skip = { resnet: resnet(out, out, g, g, where, { shortcut: true, resample: "fir-up", outputScale: SQRT2 }), conv: [3, out, 3], normGroups: g };
        skipUp = level;
      } else if (kind === "AttnUpBlock2D" && c.upsample_type === "resnet") {
        b.resampler = { resnet: resnet(out, out, needG(where), needG(where), where, { resample: "up" }) };
      } else b.resampler = { conv: out, padding: 1 };
    }
    up.push(b);
    prev = out;
  }
  if (typeof skipUp === "number" && skipUp !== 0) throw new ArgumentError("up_block_types", "the Skip blocks' output does not reach the full resolution");
  const normOutGroups = groupsOf("norm_num_groups", G ?? quarter(C0), C0, "conv_norm_out");
  const act: ActivationName = c.act_fn === "swish" ? "silu" : c.act_fn;
  return { config: c, timeInput, temb, act, down, mid, up, normOutGroups };
}

// ---- parameter shapes, read off the layout (no allocation) ----

type Shapes = [string, number[]][];

function resnetShapes(out: Shapes, p: string, s: ResnetSpec, temb: number, ss: boolean): void {
  out.push([`${p}norm1.weight`, [s.inCh]], [`${p}norm1.bias`, [s.inCh]]);
  out.push([`${p}conv1.weight`, [s.outCh, s.inCh, 3, 3]], [`${p}conv1.bias`, [s.outCh]]);
  const te = ss ? 2 * s.outCh : s.outCh;
  out.push([`${p}time_emb_proj.weight`, [te, temb]], [`${p}time_emb_proj.bias`, [te]]);
  out.push([`${p}norm2.weight`, [s.outCh]], [`${p}norm2.bias`, [s.outCh]]);
  out.push([`${p}conv2.weight`, [s.outCh, s.outCh, 3, 3]], [`${p}conv2.bias`, [s.outCh]]);
  if (s.shortcut) out.push([`${p}conv_shortcut.weight`, [s.outCh, s.inCh, 1, 1]], [`${p}conv_shortcut.bias`, [s.outCh]]);
}

function attnShapes(out: Shapes, p: string, a: AttnSpec): void {
  const inner = a.heads * a.dimHead;
  if (a.groups !== null) out.push([`${p}group_norm.weight`, [a.ch]], [`${p}group_norm.bias`, [a.ch]]);
  for (const n of ["to_q", "to_k", "to_v"]) out.push([`${p}${n}.weight`, [inner, a.ch]], [`${p}${n}.bias`, [inner]]);
  out.push([`${p}to_out.0.weight`, [a.ch, inner]], [`${p}to_out.0.bias`, [a.ch]]);
}

function blockShapes(out: Shapes, p: string, b: BlockSpec, temb: number, ss: boolean, downward: boolean): void {
  b.resnets.forEach((r, j) => resnetShapes(out, `${p}resnets.${j}.`, r, temb, ss));
  b.attentions.forEach((a, j) => attnShapes(out, `${p}attentions.${j}.`, a));
  const rs = downward ? "downsamplers.0." : "upsamplers.0.";
  if (b.resampler && "conv" in b.resampler) out.push([`${p}${rs}conv.weight`, [b.resampler.conv, b.resampler.conv, 3, 3]], [`${p}${rs}conv.bias`, [b.resampler.conv]]);
  if (b.resampler && "resnet" in b.resampler) resnetShapes(out, `${p}${rs}`, b.resampler.resnet, temb, ss);
  if (b.skip) {
    resnetShapes(out, `${p}${downward ? "resnet_down" : "resnet_up"}.`, b.skip.resnet, temb, ss);
    const [o, i, k] = b.skip.conv;
    if (b.skip.normGroups !== null) out.push([`${p}skip_norm.weight`, [i]], [`${p}skip_norm.bias`, [i]]);
    out.push([`${p}skip_conv.weight`, [o, i, k, k]], [`${p}skip_conv.bias`, [o]]);
  }
}

/** Every parameter's diffusers name and shape, in the order the model registers them. */
export function unet2dParameterShapes(layout: UNet2DLayout): Shapes {
  const c = layout.config;
  const C0 = c.block_out_channels[0];
  const E = layout.temb;
  const ss = c.resnet_time_scale_shift === "scale_shift";
  const out: Shapes = [];
  out.push(["conv_in.weight", [C0, c.in_channels, 3, 3]], ["conv_in.bias", [C0]]);
  if (c.time_embedding_type === "fourier") out.push(["time_proj.weight", [C0]]);
  if (c.time_embedding_type === "learned") out.push(["time_proj.weight", [c.num_train_timesteps!, C0]]);
  const temb = (p: string) => out.push([`${p}linear_1.weight`, [E, layout.timeInput]], [`${p}linear_1.bias`, [E]], [`${p}linear_2.weight`, [E, E]], [`${p}linear_2.bias`, [E]]);
  temb("time_embedding.");
  if (c.class_embed_type === null && c.num_class_embeds !== null) out.push(["class_embedding.weight", [c.num_class_embeds, E]]);
  if (c.class_embed_type === "timestep") temb("class_embedding.");
  layout.down.forEach((b, i) => blockShapes(out, `down_blocks.${i}.`, b, E, ss, true));
  if (layout.mid) {
    resnetShapes(out, "mid_block.resnets.0.", layout.mid.resnets[0], E, ss);
    resnetShapes(out, "mid_block.resnets.1.", layout.mid.resnets[1], E, ss);
    if (layout.mid.attention) attnShapes(out, "mid_block.attentions.0.", layout.mid.attention);
  }
  layout.up.forEach((b, i) => blockShapes(out, `up_blocks.${i}.`, b, E, ss, false));
  out.push(["conv_norm_out.weight", [C0]], ["conv_norm_out.bias", [C0]], ["conv_out.weight", [c.out_channels, C0, 3, 3]], ["conv_out.bias", [c.out_channels]]);
  return out;
}

/** Number of scalar parameters, from the layout alone. */
export function unet2dParameterCount(layout: UNet2DLayout): number {
  let n = 0;
  for (const [, s] of unet2dParameterShapes(layout)) n += s.reduce((a, b) => a * b, 1);
  return n;
}

// ---- modules ----

/** FIR kernel (1, 3, 3, 1) of NCSN++ / StyleGAN2, per axis: normalised to 1, times 2 when upsampling (gain factor^2 over both axes). */
const FIR_DOWN = [1 / 8, 3 / 8, 3 / 8, 1 / 8];
const FIR_UP = [2 / 8, 6 / 8, 6 / 8, 2 / 8];

function resample(x: Tensor, r: Resample): Tensor {
  switch (r) {
    case "up":
      return upsample2x(x); // Upsample2D without conv: nearest
    case "down":
      return upfirdn2d(x, [0.5, 0.5], 1, 2, 0, 0); // Downsample2D without conv: avg_pool2d(2, 2)
    case "fir-up":
      return upfirdn2d(x, FIR_UP, 2, 1, 2, 1); // diffusers' upsample_2d: pad ((4-2+1)//2 + 2 - 1, (4-2)//2)
    case "fir-down":
      return upfirdn2d(x, FIR_DOWN, 1, 2, 1, 1); // downsample_2d: pad ((4-2+1)//2, (4-2)//2)
    default:
      return x;
  }
}

/** ResnetBlock2D: x + conv2(act(norm2(conv1(act(norm1 x)) (+) temb))), divided by output_scale_factor. */
class ResnetBlock2D extends Module {
  readonly norm1: GroupNorm;
  readonly conv1: Conv2d;
  readonly time_emb_proj: Linear;
  readonly norm2: GroupNorm;
  readonly conv2: Conv2d;
  readonly conv_shortcut: Conv2d | null;
  constructor(readonly s: ResnetSpec, temb: number, eps: number, readonly scaleShift: boolean, readonly act: ActivationName) {
    super();
    this.norm1 = this.child("norm1", new GroupNorm(s.groups, s.inCh, eps));
    this.conv1 = this.child("conv1", new Conv2d(s.inCh, s.outCh, 3));
    this.time_emb_proj = this.child("time_emb_proj", new Linear(temb, scaleShift ? 2 * s.outCh : s.outCh));
    this.norm2 = this.child("norm2", new GroupNorm(s.groupsOut, s.outCh, eps));
    this.conv2 = this.child("conv2", new Conv2d(s.outCh, s.outCh, 3));
    this.conv_shortcut = s.shortcut ? this.child("conv_shortcut", new Conv2d(s.inCh, s.outCh, 1, 1, 0)) : null;
  }
  /** x [B, Cin, H, W], tembAct = act(emb) [B, E] -> [B, Cout, H', W'] */
  forward(x: Tensor, tembAct: Tensor): Tensor {
    let h = activation(this.norm1.forward(x), this.act);
    h = resample(h, this.s.resample);
    const input = resample(x, this.s.resample);
    h = this.conv1.forward(h);
    const t = this.time_emb_proj.forward(tembAct); // [B, Cout] or [B, 2 Cout]
    // "default" adds the embedding before norm2; "scale_shift" modulates after it (improved DDPM)
    h = this.scaleShift ? scaleShift(this.norm2.forward(h), t) : this.norm2.forward(addPerChannel(h, t));
    h = this.conv2.forward(activation(h, this.act)); // dropout: inactive
    const out = add(this.conv_shortcut ? this.conv_shortcut.forward(input) : input, h);
    return this.s.outputScale === 1 ? out : scale(out, 1 / this.s.outputScale);
  }
}

/** 1x1 "linear" over channels: the Linear's [O, I] weight seen as a [O, I, 1, 1] convolution. */
function channelLinear(x: Tensor, l: Linear): Tensor {
  return conv2d(x, reshape(l.weight, [l.outFeatures, l.inFeatures, 1, 1]), l.bias);
}

/** Attention (diffusers' AttnProcessor on an image): residual self-attention over H*W positions, multi-head. */
class Attention extends Module {
  readonly group_norm: GroupNorm | null;
  readonly to_q: Linear;
  readonly to_k: Linear;
  readonly to_v: Linear;
  readonly to_out: Linear;
  constructor(readonly a: AttnSpec, eps: number) {
    super();
    const inner = a.heads * a.dimHead;
    this.group_norm = a.groups === null ? null : this.child("group_norm", new GroupNorm(a.groups, a.ch, eps));
    this.to_q = this.child("to_q", new Linear(a.ch, inner));
    this.to_k = this.child("to_k", new Linear(a.ch, inner));
    this.to_v = this.child("to_v", new Linear(a.ch, inner));
    this.to_out = this.child("to_out.0", new Linear(inner, a.ch));
  }
  forward(x: Tensor): Tensor {
    const [B, C, H, W] = x.shape;
    const N = H * W;
    const { heads, dimHead: d } = this.a;
    const h = this.group_norm ? this.group_norm.forward(x) : x;
    // head_to_batch_dim: channels h*d .. (h+1)*d of head h, so [B, heads*d, N] is [B*heads, d, N] as is
    const q = reshape(channelLinear(h, this.to_q), [B * heads, d, N]);
    const k = reshape(channelLinear(h, this.to_k), [B * heads, d, N]);
    const v = reshape(channelLinear(h, this.to_v), [B * heads, d, N]);
    const p = softmax(bmm(q, k, true, false, 1 / Math.sqrt(d))); // [B*heads, N, N], row i over keys j
    const o = bmm(v, p, false, true); // [B*heads, d, N]: o[c, i] = sum_j v[c, j] p[i, j]
    const out = add(channelLinear(reshape(o, [B, heads * d, H, W]), this.to_out), x);
    return this.a.rescale === 1 ? out : scale(out, 1 / this.a.rescale);
  }
}

/** A down or up block of any of the eight kinds. */
class Block extends Module {
  readonly resnets: ResnetBlock2D[] = [];
  readonly attentions: Attention[] = [];
  readonly resampleConv: Conv2d | null = null;
  readonly resampleResnet: ResnetBlock2D | null = null;
  readonly skipResnet: ResnetBlock2D | null = null;
  readonly skipNorm: GroupNorm | null = null;
  readonly skipConv: Conv2d | null = null;
  constructor(readonly b: BlockSpec, readonly downward: boolean, l: UNet2DLayout) {
    super();
    const c = l.config;
    const ss = c.resnet_time_scale_shift === "scale_shift";
    const res = (s: ResnetSpec) => new ResnetBlock2D(s, l.temb, c.norm_eps, ss, l.act);
    b.resnets.forEach((s, j) => this.resnets.push(this.child(`resnets.${j}`, res(s))));
    b.attentions.forEach((a, j) => this.attentions.push(this.child(`attentions.${j}`, new Attention(a, c.norm_eps))));
    const rs = downward ? "downsamplers.0" : "upsamplers.0";
    if (b.resampler && "conv" in b.resampler) {
      const ch = b.resampler.conv;
      // Downsample2D: stride 2, padding downsample_padding (0: pad right and bottom by one first)
      this.resampleConv = this.child(`${rs}.conv`, downward ? new Conv2d(ch, ch, 3, 2, b.resampler.padding) : new Conv2d(ch, ch, 3));
    }
    if (b.resampler && "resnet" in b.resampler) this.resampleResnet = this.child(rs, res(b.resampler.resnet));
    if (b.skip) {
      this.skipResnet = this.child(downward ? "resnet_down" : "resnet_up", res(b.skip.resnet));
      const [o, i, k] = b.skip.conv;
      if (b.skip.normGroups !== null) this.skipNorm = this.child("skip_norm", new GroupNorm(b.skip.normGroups, i, c.norm_eps));
      this.skipConv = this.child("skip_conv", new Conv2d(i, o, k, 1, (k - 1) >> 1));
    }
  }

  get isSkip(): boolean {
    return this.b.kind.includes("Skip");
  }

  /** Down: returns the new h, the states the up path will take as skips, and the skip sample. */
  down(h: Tensor, e: Tensor, skip: Tensor): { h: Tensor; states: Tensor[]; skip: Tensor } {
    const states: Tensor[] = [];
    this.resnets.forEach((r, j) => {
      h = r.forward(h, e);
      if (this.attentions[j]) h = this.attentions[j].forward(h);
      states.push(h);
    });
    if (this.resampleConv) {
      const conv = this.resampleConv;
      h = conv.pad === 0 ? conv.forward(pad2d(h, 0, 1, 0, 1)) : conv.forward(h);
      states.push(h);
    } else if (this.resampleResnet) {
      h = this.resampleResnet.forward(h, e);
      states.push(h);
    } else if (this.skipResnet && this.skipConv) {
      h = this.skipResnet.forward(h, e);
      skip = resample(skip, "fir-down"); // FirDownsample2D of the input image
      h = add(this.skipConv.forward(skip), h);
      states.push(h);
    }
    return { h, states, skip };
  }

  /** Up: consumes one skip state per resnet (the last pushed first); returns h and the skip sample. */
  up(h: Tensor, states: Tensor[], e: Tensor, skip: Tensor | null): { h: Tensor; skip: Tensor | null } {
    const single = this.b.kind === "AttnSkipUpBlock2D";
    this.resnets.forEach((r, j) => {
      h = r.forward(concatChannels(h, states.pop()!), e);
      if (!single && this.attentions[j]) h = this.attentions[j].forward(h);
    });
    if (single) h = this.attentions[0].forward(h);
    if (this.isSkip) {
      const up = skip === null ? null : resample(skip, "fir-up"); // FirUpsample2D; None becomes 0
      skip = up;
      if (this.skipResnet && this.skipNorm && this.skipConv) {
        const s = this.skipConv.forward(silu(this.skipNorm.forward(h)));
        skip = up === null ? s : add(up, s);
        h = this.skipResnet.forward(h, e);
      }
    }
    if (this.resampleConv) h = this.resampleConv.forward(upsample2x(h));
    else if (this.resampleResnet) h = this.resampleResnet.forward(h, e);
    return { h, skip };
  }
}

class MidBlock extends Module {
  readonly resnets: ResnetBlock2D[];
  readonly attention: Attention | null;
  constructor(mid: NonNullable<UNet2DLayout["mid"]>, l: UNet2DLayout) {
    super();
    const c = l.config;
    const ss = c.resnet_time_scale_shift === "scale_shift";
    this.resnets = mid.resnets.map((s, j) => this.child(`resnets.${j}`, new ResnetBlock2D(s, l.temb, c.norm_eps, ss, l.act)));
    this.attention = mid.attention ? this.child("attentions.0", new Attention(mid.attention, c.norm_eps)) : null;
  }
  forward(h: Tensor, e: Tensor): Tensor {
    h = this.resnets[0].forward(h, e);
    if (this.attention) h = this.attention.forward(h);
    return this.resnets[1].forward(h, e);
  }
}

/** TimestepEmbedding: linear_2(silu(linear_1(features))). */
class TimestepEmbedding extends Module {
  readonly linear_1: Linear;
  readonly linear_2: Linear;
  constructor(inDim: number, dim: number) {
    super();
    this.linear_1 = this.child("linear_1", new Linear(inDim, dim));
    this.linear_2 = this.child("linear_2", new Linear(dim, dim));
  }
  forward(x: Tensor): Tensor {
    return this.linear_2.forward(silu(this.linear_1.forward(x)));
  }
}

/** GaussianFourierProjection's fixed random frequencies (diffusers draws randn * 16; no gradient there). */
class FourierWeight extends Module {
  readonly weight: Tensor;
  constructor(n: number) {
    super();
    this.weight = this.param("weight", [n], { kind: "uniform", bound: 16 * Math.sqrt(3) });
  }
}

const fr = Math.fround;
const NEG_LOG_10000 = fr(-Math.log(10000));
const PI_F32 = fr(Math.PI);

/**
 * The time features of one value per item, float32 step by step as PyTorch computes them.
 * positional (get_timestep_embedding): f_i = exp(-ln(10000) i / (half - freq_shift)), [sin(t f), cos(t f)]
 * (or [cos, sin] with flip_sin_to_cos), zero-padded to an odd width. fourier (GaussianFourierProjection,
 * log=True, flip false): [sin(2 pi log(t) w), cos(2 pi log(t) w)].
 */
export function timeFeatures(c: UNet2DConfig, values: ArrayLike<number>, fourierWeight: Float32Array | null): Tensor {
  const B = values.length;
  const C0 = c.block_out_channels[0];
  if (c.time_embedding_type === "fourier") {
    const w = fourierWeight!;
    const out = alloc(B * 2 * C0);
    for (let b = 0; b < B; b++) {
      const lt = fr(dlog(fr(values[b])));
      for (let i = 0; i < C0; i++) {
        const a = fr(fr(fr(lt * w[i]) * 2) * PI_F32);
        out[b * 2 * C0 + i] = dsin(a);
        out[b * 2 * C0 + C0 + i] = dcos(a);
      }
    }
    return new Tensor(out, [B, 2 * C0]);
  }
  const half = Math.floor(C0 / 2);
  const div = fr(half - c.freq_shift);
  const freqs = new Float64Array(half);
  for (let i = 0; i < half; i++) freqs[i] = fr(dexp(fr(fr(NEG_LOG_10000 * i) / div)));
  const out = alloc(B * C0);
  for (let b = 0; b < B; b++) {
    const t = fr(values[b]);
    const o = b * C0;
    for (let i = 0; i < half; i++) {
      const a = fr(t * freqs[i]);
      out[o + (c.flip_sin_to_cos ? half : 0) + i] = dsin(a);
      out[o + (c.flip_sin_to_cos ? 0 : half) + i] = dcos(a);
    }
    if (C0 % 2) out[o + C0 - 1] = 0;
  }
  return new Tensor(out, [B, C0]);
}

function constant(shape: readonly number[], v: number): Tensor {
  const d = alloc(shape.reduce((a, b) => a * b, 1));
  d.fill(v);
  return new Tensor(d, shape);
}

export class UNet2D extends Module {
  readonly layout: UNet2DLayout;
  readonly conv_in: Conv2d;
  readonly time_proj: FourierWeight | Embedding | null;
  readonly time_embedding: TimestepEmbedding;
  readonly class_embedding: Embedding | TimestepEmbedding | null;
  readonly down_blocks: Block[] = [];
  readonly mid_block: MidBlock | null;
  readonly up_blocks: Block[] = [];
  readonly conv_norm_out: GroupNorm;
  readonly conv_out: Conv2d;

  constructor(layout: UNet2DLayout) {
    super();
    this.layout = layout;
    const c = layout.config;
    const C0 = c.block_out_channels[0];
    const E = layout.temb;
    this.conv_in = this.child("conv_in", new Conv2d(c.in_channels, C0, 3));
    this.time_proj =
      c.time_embedding_type === "fourier"
        ? this.child("time_proj", new FourierWeight(C0))
        : c.time_embedding_type === "learned"
          ? this.child("time_proj", new Embedding(c.num_train_timesteps!, C0))
          : null;
    this.time_embedding = this.child("time_embedding", new TimestepEmbedding(layout.timeInput, E));
    this.class_embedding =
      c.class_embed_type === null && c.num_class_embeds !== null
        ? this.child("class_embedding", new Embedding(c.num_class_embeds, E))
        : c.class_embed_type === "timestep"
          ? this.child("class_embedding", new TimestepEmbedding(layout.timeInput, E))
          : null;
    layout.down.forEach((b, i) => this.down_blocks.push(this.child(`down_blocks.${i}`, new Block(b, true, layout))));
    this.mid_block = layout.mid ? this.child("mid_block", new MidBlock(layout.mid, layout)) : null;
    layout.up.forEach((b, i) => this.up_blocks.push(this.child(`up_blocks.${i}`, new Block(b, false, layout))));
    this.conv_norm_out = this.child("conv_norm_out", new GroupNorm(layout.normOutGroups, C0, c.norm_eps));
    this.conv_out = this.child("conv_out", new Conv2d(C0, c.out_channels, 3));
  }

  get config(): UNet2DConfig {
    return this.layout.config;
  }

  /** The projection of timesteps (or "timestep" class labels) to features: [B, timeInput]. */
  private project(values: ArrayLike<number>, arg: string): Tensor {
    const c = this.config;
    if (c.time_embedding_type === "learned") {
      const T = c.num_train_timesteps!;
      const idx = Int32Array.from(values as ArrayLike<number>);
      idx.forEach((v, i) => {
        if (v !== values[i] || v < 0 || v >= T) throw new ArgumentError(`${arg}[${i}]`, `must be an integer in [0, ${T - 1}] for a learned time embedding, got ${values[i]}`);
      });
      return embedding((this.time_proj as Embedding).weight, idx);
    }
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (c.time_embedding_type === "fourier" ? !(v > 0 && v < Infinity) : !(Math.abs(v) < 2 ** 20)) {
        throw new ArgumentError(`${arg}[${i}]`, c.time_embedding_type === "fourier" ? `must be a finite number > 0 (fourier embeds log t), got ${v}` : `must be a finite number with |t| < 2^20, got ${v}`);
      }
    }
    return timeFeatures(c, values, this.time_proj instanceof FourierWeight ? this.time_proj.weight.data : null);
  }

  /**
   * UNet2DModel.forward: x [B, in_channels, H, W], one timestep per item, class labels per item (an
   * integer for num_class_embeds, a value for "timestep", E values per item for "identity") ->
   * [B, out_channels, H, W]. H and W must be multiples of 2^(downsampling blocks).
   */
  forward(x: Tensor, timesteps: ArrayLike<number>, classLabels?: ArrayLike<number>): Tensor {
    const c = this.config;
    const l = this.layout;
    const [B, C, H, W] = x.shape;
    const f = 2 ** (c.block_out_channels.length - 1);
    if (x.shape.length !== 4 || C !== c.in_channels || !(H >= f && W >= f && H % f === 0 && W % f === 0)) {
      throw new ArgumentError("sample", `must have shape [B, ${c.in_channels}, H, W] with H and W multiples of ${f}, got [${x.shape.join(", ")}]`);
    }
    if (timesteps.length !== B) throw new ArgumentError("timesteps", `must have one value per item (${B}), got ${timesteps.length}`);
    const sample = c.center_input_sample ? add(scale(x, 2), constant(x.shape, -1)) : x;

    let emb = this.time_embedding.forward(this.project(timesteps, "timesteps")); // [B, E]
    if (this.class_embedding === null && c.class_embed_type !== "identity") {
      if (classLabels !== undefined) throw new ArgumentError("classLabels", "given, but the model has no class embedding");
    } else {
      if (classLabels === undefined) throw new ArgumentError("classLabels", "required: the model is class-conditional");
      emb = add(emb, this.classEmbedding(classLabels, B));
    }
    const e = activation(emb, l.act); // every resnet applies act_fn to the embedding first: once here

    let skip: Tensor | null = sample;
    let h = this.conv_in.forward(sample); // [B, C0, H, W]
    const states: Tensor[] = [h];
    for (const b of this.down_blocks) {
      const r = b.down(h, e, skip!);
      h = r.h;
      skip = r.skip;
      states.push(...r.states);
    }
    if (this.mid_block) h = this.mid_block.forward(h, e);
    skip = null;
    for (const b of this.up_blocks) {
      const mine = states.splice(states.length - b.resnets.length, b.resnets.length);
      const r = b.up(h, mine, e, skip);
      h = r.h;
      if (b.isSkip) skip = r.skip;
    }
    h = this.conv_out.forward(silu(this.conv_norm_out.forward(h))); // [B, out_channels, H, W]
    if (skip) h = add(h, skip);
    // score-SDE (NCSN++) outputs the score times sigma: diffusers divides by the timestep (= sigma)
    if (c.time_embedding_type === "fourier") h = scaleItems(h, Array.from(timesteps, (t) => 1 / Math.fround(t)));
    return h;
  }

  private classEmbedding(labels: ArrayLike<number>, B: number): Tensor {
    const c = this.config;
    const E = this.layout.temb;
    if (c.class_embed_type === "identity") {
      if (labels.length !== B * E) throw new ArgumentError("classLabels", `must hold ${E} values per item for class_embed_type "identity" (${B * E}), got ${labels.length}`);
      const d = alloc(B * E);
      for (let i = 0; i < d.length; i++) d[i] = labels[i];
      return new Tensor(d, [B, E]);
    }
    if (labels.length !== B) throw new ArgumentError("classLabels", `must have one label per item (${B}), got ${labels.length}`);
    if (c.class_embed_type === "timestep") return (this.class_embedding as TimestepEmbedding).forward(this.project(labels, "classLabels"));
    const K = c.num_class_embeds!;
    const idx = Int32Array.from(labels);
    idx.forEach((v, i) => {
      if (v !== labels[i] || v < 0 || v >= K) throw new ArgumentError(`classLabels[${i}]`, `must be an integer in [0, ${K - 1}], got ${labels[i]}`);
    });
    return (this.class_embedding as Embedding).forward(idx);
  }
}
