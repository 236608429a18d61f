// A small bidirectional transformer over token sequences (Vaswani et al. 2017), the denoiser network of
// masked diffusion for text (MDLM, Sahoo et al. 2024, uses a DiT-style encoder; this is the plain
// pre-LN form of GPT-2, Radford et al. 2019, without the causal mask). Readable in one sitting:
//
//   h = tok[x] + pos[l]                                  [B·L, D]
//   per block: h += proj(attention(LN(h)))  h += fc2(gelu(fc1(LN(h))))
//   logits = head(LN(h))                                 [B·L, V_out]
//
// Attention is multi-head and sees every position (masked diffusion predicts every masked token from
// the whole sequence). The residual branches' output layers start at zero, so every block starts as the
// identity. No time input: MDLM §3.2.3.

import { add, bmm, gelu, layerNorm, reshape, softmax, swapMiddle } from "../autograd/ops.ts";
import type { Tensor } from "../autograd/tensor.ts";
import { ArgumentError, int } from "../validate.ts";
import { Embedding, Linear } from "./layers.ts";
import { Module, ONE, ZERO } from "./module.ts";

export interface TransformerConfig {
  kind: "transformer";
  /** Input tokens (the vocabulary and the mask). */
  vocabIn: number;
  /** Output classes (the vocabulary without the mask). */
  vocabOut: number;
  /** Sequence length (learned position embeddings). */
  length: number;
  /** Model width D. */
  dim: number;
  heads: number;
  layers: number;
  /** Hidden width of the MLP (usually 4 D). */
  mlp: number;
}

export class LayerNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(readonly dim: number) {
    super();
    this.weight = this.param("weight", [dim], ONE);
    this.bias = this.param("bias", [dim], ZERO);
  }
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias);
  }
}

/** Multi-head self-attention over [B, L] positions, bidirectional. */
export class SelfAttention extends Module {
  readonly q: Linear;
  readonly k: Linear;
  readonly v: Linear;
  readonly proj: Linear;
  constructor(readonly dim: number, readonly heads: number) {
    super();
    if (dim % heads !== 0) throw new ArgumentError("heads", `must divide the width ${dim}, got ${heads}`);
    this.q = this.child("q", new Linear(dim, dim));
    this.k = this.child("k", new Linear(dim, dim));
    this.v = this.child("v", new Linear(dim, dim));
    this.proj = this.child("proj", new Linear(dim, dim, true));
  }
  /** x [B·L, D] -> [B·L, D]. */
  forward(x: Tensor, B: number, L: number): Tensor {
    const H = this.heads;
    const dh = this.dim / H;
    // [B·L, D] -> [B, L, H, dh] -> [B, H, L, dh] -> [B·H, L, dh]
    const split = (t: Tensor) => reshape(swapMiddle(reshape(t, [B, L, H, dh])), [B * H, L, dh]);
    const q = split(this.q.forward(x));
    const k = split(this.k.forward(x));
    const v = split(this.v.forward(x));
    const attn = softmax(bmm(q, k, false, true, 1 / Math.sqrt(dh))); // [B·H, L, L]: row i attends over j
    const o = bmm(attn, v); // [B·H, L, dh]
    return this.proj.forward(reshape(swapMiddle(reshape(o, [B, H, L, dh])), [B * L, this.dim]));
  }
}

/** Pre-LN transformer block: h + attn(LN(h)), then + MLP(LN(h)). */
export class Block extends Module {
  readonly ln1: LayerNorm;
  readonly attn: SelfAttention;
  readonly ln2: LayerNorm;
  readonly fc1: Linear;
  readonly fc2: Linear;
  constructor(dim: number, heads: number, mlp: number) {
    super();
    this.ln1 = this.child("ln1", new LayerNorm(dim));
    this.attn = this.child("attn", new SelfAttention(dim, heads));
    this.ln2 = this.child("ln2", new LayerNorm(dim));
    this.fc1 = this.child("fc1", new Linear(dim, mlp));
    this.fc2 = this.child("fc2", new Linear(mlp, dim, true));
  }
  forward(h: Tensor, B: number, L: number): Tensor {
    h = add(h, this.attn.forward(this.ln1.forward(h), B, L));
    return add(h, this.fc2.forward(gelu(this.fc1.forward(this.ln2.forward(h)))));
  }
}

export class Transformer extends Module {
  readonly tok: Embedding;
  readonly pos: Embedding;
  readonly blocks: Block[] = [];
  readonly lnOut: LayerNorm;
  readonly head: Linear;
  private positions: Int32Array = new Int32Array(0);
  constructor(readonly config: TransformerConfig) {
    super();
    checkTransformerConfig(config);
    const { vocabIn, vocabOut, length, dim, heads, layers, mlp } = config;
    this.tok = this.child("tok", new Embedding(vocabIn, dim));
    this.pos = this.child("pos", new Embedding(length, dim));
    for (let i = 0; i < layers; i++) this.blocks.push(this.child(`blocks.${i}`, new Block(dim, heads, mlp)));
    this.lnOut = this.child("ln_out", new LayerNorm(dim));
    this.head = this.child("head", new Linear(dim, vocabOut));
  }

  /** tokens [B, L] (ids in [0, vocabIn)) -> logits [B·L, vocabOut]. */
  forward(tokens: Int32Array, B: number): Tensor {
    const L = this.config.length;
    int("B", B, 1);
    if (tokens.length !== B * L) throw new ArgumentError("tokens", `must hold ${B} sequences of ${L} tokens, got ${tokens.length}`);
    if (this.positions.length !== B * L) this.positions = Int32Array.from({ length: B * L }, (_, i) => i % L);
    let h = add(this.tok.forward(tokens), this.pos.forward(this.positions));
    for (const b of this.blocks) h = b.forward(h, B, L);
    return this.head.forward(this.lnOut.forward(h));
  }
}

export function checkTransformerConfig(c: TransformerConfig): TransformerConfig {
  if (!c || c.kind !== "transformer") throw new ArgumentError("config.kind", `must be "transformer"`);
  int("config.vocabIn", c.vocabIn, 2, 1 << 20);
  int("config.vocabOut", c.vocabOut, 1, 1 << 20);
  int("config.length", c.length, 1, 4096);
  int("config.dim", c.dim, 1, 8192);
  int("config.heads", c.heads, 1, c.dim);
  int("config.layers", c.layers, 0, 256);
  int("config.mlp", c.mlp, 1, 65536);
  if (c.dim % c.heads !== 0) throw new ArgumentError("config.heads", `must divide config.dim (${c.dim}), got ${c.heads}`);
  return c;
}
