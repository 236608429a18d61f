// A score network for low-dimensional data (2-D toys): the input and the noise-level embedding are
// projected to the hidden width and added, then residual SiLU MLP blocks, then a zero-initialised
// output layer (the network starts by predicting 0).

import { add, silu } from "../autograd/ops.ts";
import { Tensor } from "../autograd/tensor.ts";
import { ArgumentError, int } from "../validate.ts";
import { Embedding, Linear, NoiseEmbedding } from "./layers.ts";
import { Module } from "./module.ts";

export interface MLPConfig {
  kind: "mlp";
  /** Data dimension. */
  dim: number;
  hidden: number;
  /** Residual blocks. */
  blocks: number;
  /** Width of the sinusoidal noise features. */
  embDim: number;
  /** Classes for conditioning (0: unconditional); label `numClasses` is the "no label" of CFG. */
  numClasses: number;
}

export const DEFAULT_MLP: MLPConfig = { kind: "mlp", dim: 2, hidden: 128, blocks: 3, embDim: 32, numClasses: 0 };

export class ScoreMLP extends Module {
  readonly inp: Linear;
  readonly noise: NoiseEmbedding;
  readonly label: Embedding | null;
  readonly blocks: Linear[] = [];
  readonly out: Linear;
  constructor(readonly config: MLPConfig) {
    super();
    int("config.dim", config.dim, 1, 4096);
    int("config.hidden", config.hidden, 1, 8192);
    int("config.blocks", config.blocks, 0, 64);
    int("config.numClasses", config.numClasses, 0, 100000);
    if (config.embDim % 2) throw new ArgumentError("config.embDim", `must be even, got ${config.embDim}`);
    this.inp = this.child("inp", new Linear(config.dim, config.hidden));
    this.noise = this.child("noise", new NoiseEmbedding(config.embDim, config.hidden));
    this.label = config.numClasses > 0 ? this.child("label", new Embedding(config.numClasses + 1, config.hidden)) : null;
    for (let i = 0; i < config.blocks; i++) this.blocks.push(this.child(`blocks.${i}`, new Linear(config.hidden, config.hidden)));
    this.out = this.child("out", new Linear(config.hidden, config.dim, true));
  }

  /** x [B, dim], cNoise one value per item, labels (class index or numClasses for none) per item. */
  forward(x: Tensor, cNoise: ArrayLike<number>, labels?: Int32Array): Tensor {
    let h = add(this.inp.forward(x), this.noise.forward(cNoise));
    if (this.label) h = add(h, this.label.forward(labels ?? new Int32Array(x.shape[0]).fill(this.config.numClasses)));
    for (const b of this.blocks) h = add(h, b.forward(silu(h)));
    return this.out.forward(silu(h));
  }
}
