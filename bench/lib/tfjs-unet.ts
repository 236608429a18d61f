// The library's UNet (src/nn/unet.ts) rebuilt op for op in TensorFlow.js, for bench/train.ts: the same
// convolutions (3x3 pad 1, stride-2 downsampling with symmetric pad 1, 1x1 skips), GroupNorm, SiLU,
// single-head attention at the configured levels, the noise-level MLP and label embedding, skip
// concatenation and nearest-neighbour upsampling (as tiles, see upsample2x), with the same weights.
//
// Layout: tfjs convolutions are NHWC (its native layout; the wasm backend has no NCHW conv), so images
// are [B, H, W, C] and conv weights are transposed once to [k, k, Cin, Cout]; linear weights to [I, O].
// tfjs has no GroupNorm op: it is composed as reshape [B, HW, G, C/G] -> moments over (HW, C/G) ->
// (x - mean) * rsqrt(var + eps) -> reshape -> * gamma + beta. SiLU is x * sigmoid(x) (no fused op).
// Stride-2 convs use explicit padding [[0,0],[1,1],[1,1],[0,0]]: tfjs "same" would pad only the bottom
// and right for 28 -> 14, a different function.

import * as tf from "@tensorflow/tfjs-core";
import type { UNetConfig } from "../../src/nn/unet.ts";

export type Weights = Map<string, tf.Tensor>;

/** Our parameters (name -> [shape, data]) as tfjs tensors (or variables named varPrefix + name) in tfjs layouts. */
export function tfjsWeights(params: Map<string, { shape: readonly number[]; data: Float32Array }>, asVariables: boolean, varPrefix = ""): Weights {
  const out: Weights = new Map();
  for (const [name, p] of params) {
    let t: tf.Tensor = tf.tensor(p.data, [...p.shape]);
    if (p.shape.length === 4) t = tf.transpose(t, [2, 3, 1, 0]); // [O, C, k, k] -> [k, k, C, O]
    else if (p.shape.length === 2 && !name.startsWith("label.")) t = tf.transpose(t); // [O, I] -> [I, O]
    out.set(name, asVariables ? tf.variable(t, true, varPrefix + name) : t);
  }
  return out;
}

export function tfjsUNet(cfg: UNetConfig, w: Weights) {
  const W = (n: string) => {
    const t = w.get(n);
    if (!t) throw new Error(`tfjs UNet: no weight ${n}`);
    return t;
  };
  const has = (n: string) => w.has(`${n}.weight`);
  const silu = (x: tf.Tensor) => tf.mul(x, tf.sigmoid(x));
  const linear = (x: tf.Tensor, n: string) => tf.add(tf.matMul(x as tf.Tensor2D, W(`${n}.weight`) as tf.Tensor2D), W(`${n}.bias`));
  const conv = (x: tf.Tensor4D, n: string, stride = 1): tf.Tensor4D => {
    const f = W(`${n}.weight`) as tf.Tensor4D;
    const k = f.shape[0];
    const pad = k === 1 ? "valid" : stride === 1 ? "same" : ([[0, 0], [1, 1], [1, 1], [0, 0]] as [[number, number], [number, number], [number, number], [number, number]]);
    return tf.add(tf.conv2d(x, f, stride, pad), W(`${n}.bias`));
  };
  const groupNorm = (x: tf.Tensor4D, n: string): tf.Tensor4D => {
    const [B, H, Wd, C] = x.shape;
    const G = Math.min(cfg.groups, C);
    const r = tf.reshape(x, [B, H * Wd, G, C / G]);
    const { mean, variance } = tf.moments(r, [1, 3], true);
    const y = tf.reshape(tf.mul(tf.sub(r, mean), tf.rsqrt(tf.add(variance, 1e-5))), [B, H, Wd, C]);
    return tf.add(tf.mul(y, W(`${n}.weight`)), W(`${n}.bias`));
  };
  const resBlock = (x: tf.Tensor4D, e: tf.Tensor2D, n: string): tf.Tensor4D => {
    let h = conv(silu(groupNorm(x, `${n}.norm1`)) as tf.Tensor4D, `${n}.conv1`);
    const C = h.shape[3];
    h = tf.add(h, tf.reshape(linear(e, `${n}.emb`), [x.shape[0], 1, 1, C]));
    h = conv(silu(groupNorm(h, `${n}.norm2`)) as tf.Tensor4D, `${n}.conv2`);
    return tf.add(has(`${n}.skip`) ? conv(x, `${n}.skip`) : x, h);
  };
  const attention = (x: tf.Tensor4D, n: string): tf.Tensor4D => {
    const [B, H, Wd, C] = x.shape;
    const hn = groupNorm(x, `${n}.norm`);
    const q = tf.reshape(conv(hn, `${n}.q`), [B, H * Wd, C]);
    const k = tf.reshape(conv(hn, `${n}.k`), [B, H * Wd, C]);
    const v = tf.reshape(conv(hn, `${n}.v`), [B, H * Wd, C]);
    const attn = tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(C))); // [B, N, N]
    const out = tf.reshape(tf.matMul(attn, v), [B, H, Wd, C]);
    return tf.add(x, conv(out as tf.Tensor4D, `${n}.proj`));
  };

  /**
   * Nearest-neighbour 2x as two rank-4 tiles (tfjs' Tile gradient stops at rank 4): columns
   * [B H, W, 1, C] -> [B H, W, 2, C], then rows [B, H, 1, 2W C] -> [B, H, 2, 2W C]. Not
   * tf.image.resizeNearestNeighbor: its gradient on tfjs-backend-cpu 4.22 disagreed with ours and with
   * finite differences on this network.
   */
  const upsample2x = (x: tf.Tensor4D): tf.Tensor4D => {
    const [B, H, Wd, C] = x.shape;
    const cols = tf.reshape(tf.tile(tf.reshape(x, [B * H, Wd, 1, C]), [1, 1, 2, 1]), [B, H, 1, 2 * Wd * C]);
    return tf.reshape(tf.tile(cols, [1, 1, 2, 1]), [B, 2 * H, 2 * Wd, C]);
  };

  /** x [B, S, S, C] NHWC; feats = sinusoidal noise features [B, embDim]; labels int32 [B]. */
  return function forward(x: tf.Tensor4D, feats: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor4D {
    const L = cfg.channels.length;
    let emb = linear(silu(linear(feats, "noise.lin1")) as tf.Tensor2D, "noise.lin2");
    if (cfg.numClasses > 0) emb = tf.add(emb, tf.gather(W("label.weight"), labels));
    const e = silu(emb) as tf.Tensor2D;
    let h = conv(x, "stem");
    const skips: tf.Tensor4D[] = [h];
    for (let l = 0; l < L; l++) {
      for (let i = 0; i < cfg.resBlocks; i++) {
        h = resBlock(h, e, `down.${l}.res.${i}`);
        if (cfg.attentionLevels.includes(l)) h = attention(h, `down.${l}.attn.${i}`);
        skips.push(h);
      }
      if (l < L - 1) {
        h = conv(h, `downsample.${l}`, 2);
        skips.push(h);
      }
    }
    h = resBlock(attention(resBlock(h, e, "mid.res1"), "mid.attn"), e, "mid.res2");
    for (let l = L - 1; l >= 0; l--) {
      for (let i = 0; i <= cfg.resBlocks; i++) {
        h = resBlock(tf.concat([h, skips.pop()!], 3), e, `up.${l}.res.${i}`);
        if (cfg.attentionLevels.includes(l)) h = attention(h, `up.${l}.attn.${i}`);
      }
      if (l > 0) h = conv(upsample2x(h), `upsample.${l}`);
    }
    return conv(silu(groupNorm(h, "out.norm")) as tf.Tensor4D, "out.conv");
  };
}
