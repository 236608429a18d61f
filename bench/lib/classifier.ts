// A small MNIST classifier built from the library's own layers and trained with its autograd, AdamW and
// the crossEntropy op: the judge of generated digits in bench/quality.ts.
//
//   [B, 1, 28, 28] -conv3x3 s1-> [B, 16, 28, 28] -silu-conv3x3 s2-> [B, 32, 14, 14]
//   -silu-conv3x3 s2-> [B, 32, 7, 7] -silu-flatten-> [B, 1568] -linear-silu-> [B, 64] -linear-> [B, 10]
//
// Training: AdamW, batch 64, a few epochs over the 9,000 training digits, each digit shifted by up to
// 2 pixels (zero = background -1 fill), so the judge does not depend on exact centring.

import { crossEntropy, reshape, silu } from "../../src/autograd/ops.ts";
import { noGrad, Tensor } from "../../src/autograd/tensor.ts";
import { Conv2d, Linear } from "../../src/nn/layers.ts";
import { Module } from "../../src/nn/module.ts";
import { Rng } from "../../src/rng.ts";
import { AdamW } from "../../src/train/optim.ts";

const SIDE = 28;
const D = SIDE * SIDE;

export class DigitClassifier extends Module {
  readonly c1 = this.child("c1", new Conv2d(1, 16, 3, 1, 1));
  readonly c2 = this.child("c2", new Conv2d(16, 32, 3, 2, 1));
  readonly c3 = this.child("c3", new Conv2d(32, 32, 3, 2, 1));
  readonly fc1 = this.child("fc1", new Linear(32 * 7 * 7, 64));
  readonly fc2 = this.child("fc2", new Linear(64, 10));

  /** x [B, 1, 28, 28] in [-1, 1] -> logits [B, 10]. */
  forward(x: Tensor): Tensor {
    const B = x.shape[0];
    let h = silu(this.c1.forward(x));
    h = silu(this.c2.forward(h));
    h = silu(this.c3.forward(h));
    h = silu(this.fc1.forward(reshape(h, [B, 32 * 7 * 7])));
    return this.fc2.forward(h);
  }
}

/** Copy image src into dst shifted by (dy, dx) pixels, filling with the background value -1. */
function shifted(src: Float32Array, dst: Float32Array, dy: number, dx: number): void {
  dst.fill(-1);
  for (let i = 0; i < SIDE; i++) {
    const si = i - dy;
    if (si < 0 || si >= SIDE) continue;
    for (let j = 0; j < SIDE; j++) {
      const sj = j - dx;
      if (sj >= 0 && sj < SIDE) dst[i * SIDE + j] = src[si * SIDE + sj];
    }
  }
}

export interface ClassifierTraining {
  epochs: number;
  batch: number;
  lr: number;
  seed: number;
  onEpoch?: (epoch: number, meanLoss: number) => void;
}

/** Train on images [N, 784] with labels; returns the mean loss of every epoch. */
export function trainClassifier(net: DigitClassifier, images: Float32Array, labels: Int32Array, o: ClassifierTraining): number[] {
  const N = labels.length;
  const params = net.parameters();
  const adam = new AdamW(params, { lr: o.lr, warmup: 100, clip: 5 });
  const rng = new Rng(o.seed).stream("classifier");
  const x = new Float32Array(o.batch * D);
  const y = new Int32Array(o.batch);
  const losses: number[] = [];
  for (let e = 0; e < o.epochs; e++) {
    // a seeded permutation of the training set per epoch (Fisher-Yates)
    const u = rng.stream(e).uniform(new Float64Array(N + 2 * N));
    const perm = Int32Array.from({ length: N }, (_, i) => i);
    for (let i = N - 1; i > 0; i--) {
      const j = Math.floor(u[i] * (i + 1));
      [perm[i], perm[j]] = [perm[j], perm[i]];
    }
    let sum = 0;
    let batches = 0;
    for (let s = 0; s + o.batch <= N; s += o.batch) {
      for (let b = 0; b < o.batch; b++) {
        const k = perm[s + b];
        const dy = Math.floor(u[N + 2 * k] * 5) - 2;
        const dx = Math.floor(u[N + 2 * k + 1] * 5) - 2;
        shifted(images.subarray(k * D, (k + 1) * D), x.subarray(b * D, (b + 1) * D), dy, dx);
        y[b] = labels[k];
      }
      const loss = crossEntropy(net.forward(new Tensor(x, [o.batch, 1, SIDE, SIDE])), y);
      adam.zeroGrad();
      loss.backward();
      adam.update();
      adam.zeroGrad();
      sum += loss.data[0];
      batches++;
    }
    losses.push(sum / batches);
    o.onEpoch?.(e + 1, sum / batches);
  }
  return losses;
}

/** Class probabilities [N, 10] for images [N, 784], in batches, without a graph. */
export function predictProba(net: DigitClassifier, images: Float32Array, batch = 100): Float32Array {
  const N = images.length / D;
  const out = new Float32Array(N * 10);
  noGrad(() => {
    for (let s = 0; s < N; s += batch) {
      const n = Math.min(batch, N - s);
      const logits = net.forward(new Tensor(images.slice(s * D, (s + n) * D), [n, 1, SIDE, SIDE])).data;
      for (let i = 0; i < n; i++) {
        let m = -Infinity;
        for (let j = 0; j < 10; j++) m = Math.max(m, logits[i * 10 + j]);
        let z = 0;
        for (let j = 0; j < 10; j++) z += Math.exp(logits[i * 10 + j] - m);
        for (let j = 0; j < 10; j++) out[(s + i) * 10 + j] = Math.exp(logits[i * 10 + j] - m) / z;
      }
    }
  });
  return out;
}

/** Index of the largest probability per row. */
export function argmax10(p: Float32Array, i: number): number {
  let best = 0;
  for (let j = 1; j < 10; j++) if (p[i * 10 + j] > p[i * 10 + best]) best = j;
  return best;
}
