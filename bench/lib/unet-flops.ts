// FLOPs of the UNet (src/nn/unet.ts) counted from its layer shapes: convolutions 2·B·Ho·Wo·Cout·Cin·k²
// (direct-convolution FLOPs, also for layers our kernels run by Winograd), linears 2·B·I·O, attention's
// two batched products 2·B·N²·C each. Normalisation, activations, additions, softmax and Adam are not
// counted: they are the "overhead" the effective rate is meant to expose. Backward: every conv, linear
// and product has a weight (or second-operand) gradient costing its forward FLOPs and an input gradient
// costing the same, except where the input needs no gradient (the stem's input image, the first noise
// MLP layer's constant sinusoidal features).

import type { UNetConfig } from "../../src/nn/unet.ts";

export interface FlopCount {
  forward: number;
  backward: number;
  /** Forward FLOPs per kind of layer. */
  byKind: Record<"conv3x3" | "conv1x1" | "linear" | "attention", number>;
}

export function unetFlops(cfg: UNetConfig, B: number): FlopCount {
  const byKind = { conv3x3: 0, conv1x1: 0, linear: 0, attention: 0 };
  let forward = 0;
  let noInputGrad = 0; // forward FLOPs of layers whose input gradient is not computed
  const conv = (cin: number, cout: number, k: number, sOut: number) => {
    const f = 2 * B * sOut * sOut * cout * cin * k * k;
    byKind[k === 1 ? "conv1x1" : "conv3x3"] += f;
    forward += f;
    return f;
  };
  const linear = (i: number, o: number) => {
    const f = 2 * B * i * o;
    byKind.linear += f;
    forward += f;
    return f;
  };
  const E = 4 * cfg.channels[0];
  const res = (cin: number, cout: number, s: number) => {
    conv(cin, cout, 3, s);
    linear(E, cout);
    conv(cout, cout, 3, s);
    if (cin !== cout) conv(cin, cout, 1, s);
  };
  const attn = (c: number, s: number) => {
    for (let j = 0; j < 4; j++) conv(c, c, 1, s); // q, k, v, proj
    const N = s * s;
    const f = 2 * (2 * B * N * N * c);
    byKind.attention += f;
    forward += f;
  };

  noInputGrad += linear(cfg.embDim, E);
  linear(E, E);
  let s = cfg.size;
  noInputGrad += conv(cfg.inChannels, cfg.channels[0], 3, s);
  const skipCh: number[] = [cfg.channels[0]];
  let ch = cfg.channels[0];
  const L = cfg.channels.length;
  for (let l = 0; l < L; l++) {
    const out = cfg.channels[l];
    for (let i = 0; i < cfg.resBlocks; i++) {
      res(i === 0 ? ch : out, out, s);
      if (cfg.attentionLevels.includes(l)) attn(out, s);
      skipCh.push(out);
    }
    ch = out;
    if (l < L - 1) {
      s /= 2;
      conv(ch, ch, 3, s); // stride 2: output side s
      skipCh.push(ch);
    }
  }
  res(ch, ch, s);
  attn(ch, s);
  res(ch, ch, s);
  for (let l = L - 1; l >= 0; l--) {
    const out = cfg.channels[l];
    for (let i = 0; i <= cfg.resBlocks; i++) {
      res((i === 0 ? ch : out) + skipCh.pop()!, out, s);
      if (cfg.attentionLevels.includes(l)) attn(out, s);
      ch = out;
    }
    if (l > 0) {
      s *= 2;
      conv(ch, ch, 3, s);
    }
  }
  conv(ch, cfg.inChannels, 3, s);
  return { forward, backward: 2 * forward - noInputGrad, byKind };
}
