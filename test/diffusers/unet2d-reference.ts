// An independent float64 UNet2DModel forward, written from diffusers' Python (models/unets/unet_2d.py
// UNet2DModel.forward; unet_2d_blocks.py DownBlock2D, AttnDownBlock2D, SkipDownBlock2D,
// AttnSkipDownBlock2D, UNetMidBlock2D and the up blocks; resnet.py ResnetBlock2D, upfirdn2d_native,
// upsample_2d, downsample_2d; attention_processor.py AttnProcessor; embeddings.py
// get_timestep_embedding, GaussianFourierProjection, TimestepEmbedding), in the shape of that code and
// not of src/nn/unet2d.ts: tensors are plain float64 arrays, the parameters are looked up by their
// diffusers names, the channels of every layer are read off the weights' shapes, and FIR resampling is
// upfirdn2d_native literally (zero-stuff, pad, 2-D convolution with the flipped outer(k, k) kernel).
// It is the oracle for the paths diffusers' fixtures do not cover (skip blocks, fourier and learned
// time embeddings, resnet resampling, the other activations and class embeddings).
import type { UNet2DConfig } from "../../src/nn/unet2d.ts";

interface T {
  d: Float64Array;
  s: number[];
}
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
const zeros = (s: number[]): T => ({ d: new Float64Array(size(s)), s });

export type Params = Map<string, { data: ArrayLike<number>; shape: readonly number[] }>;

/** The float64 output, and the names of the parameters the forward read (every one a model should have). */
export function referenceForward(
  c: UNet2DConfig,
  params: Params,
  x0: { data: ArrayLike<number>; shape: readonly number[] },
  timesteps: number[],
  classLabels?: number[],
): { out: Float64Array; read: Set<string> } {
  const read = new Set<string>();
  const P = (n: string): T => {
    const p = params.get(n);
    if (!p) throw new Error(`reference: no parameter ${n}`);
    read.add(n);
    return { d: Float64Array.from(p.data), s: [...p.shape] };
  };
  const has = (n: string) => params.has(n);
  const eps = c.norm_eps;
  const act = (v: number): number => {
    switch (c.act_fn) {
      case "mish":
        return v * Math.tanh(Math.log1p(Math.exp(v)));
      case "gelu":
        return 0.5 * v * (1 + erf(v / Math.SQRT2));
      case "relu":
        return Math.max(v, 0);
      default:
        return v / (1 + Math.exp(-v));
    }
  };
  const silu = (v: number) => v / (1 + Math.exp(-v));
  const map = (a: T, f: (v: number) => number): T => ({ d: a.d.map(f), s: a.s });
  const addT = (a: T, b: T): T => ({ d: a.d.map((v, i) => v + b.d[i]), s: a.s });

  function conv(x: T, w: T, b: T | null, stride: number, [pt, pb, pl, pr]: number[]): T {
    const [B, C, H, W] = x.s;
    const [O, , k] = w.s;
    const Ho = Math.floor((H + pt + pb - k) / stride) + 1;
    const Wo = Math.floor((W + pl + pr - k) / stride) + 1;
    const y = zeros([B, O, Ho, Wo]);
    for (let n = 0; n < B; n++)
      for (let o = 0; o < O; o++)
        for (let i = 0; i < Ho; i++)
          for (let j = 0; j < Wo; j++) {
            let s = b ? b.d[o] : 0;
            for (let ci = 0; ci < C; ci++)
              for (let a = 0; a < k; a++)
                for (let bb = 0; bb < k; bb++) {
                  const yi = i * stride + a - pt;
                  const xj = j * stride + bb - pl;
                  if (yi < 0 || yi >= H || xj < 0 || xj >= W) continue;
                  s += w.d[((o * C + ci) * k + a) * k + bb] * x.d[((n * C + ci) * H + yi) * W + xj];
                }
            y.d[((n * O + o) * Ho + i) * Wo + j] = s;
          }
    return y;
  }
  const convP = (x: T, p: string, stride = 1, pad = [1, 1, 1, 1]) => conv(x, P(`${p}.weight`), P(`${p}.bias`), stride, pad);

  function gn(x: T, G: number, p: string): T {
    const [B, C] = x.s;
    const S = size(x.s) / (B * C);
    const w = P(`${p}.weight`);
    const b = P(`${p}.bias`);
    const y = zeros(x.s);
    const cg = C / G;
    if (!Number.isInteger(cg)) throw new Error(`reference: ${G} groups for ${C} channels at ${p}`);
    for (let n = 0; n < B; n++)
      for (let g = 0; g < G; g++) {
        const lo = (n * C + g * cg) * S;
        const hi = lo + cg * S;
        let m = 0;
        for (let i = lo; i < hi; i++) m += x.d[i];
        m /= hi - lo;
        let v = 0;
        for (let i = lo; i < hi; i++) v += (x.d[i] - m) ** 2;
        v /= hi - lo;
        for (let i = lo; i < hi; i++) {
          const ch = Math.floor((i / S) % C);
          y.d[i] = ((x.d[i] - m) / Math.sqrt(v + eps)) * w.d[ch] + b.d[ch];
        }
      }
    return y;
  }

  function linear(x: T, p: string): T {
    const w = P(`${p}.weight`);
    const b = P(`${p}.bias`);
    const [N, I] = x.s;
    const O = w.s[0];
    const y = zeros([N, O]);
    for (let n = 0; n < N; n++)
      for (let o = 0; o < O; o++) {
        let s = b.d[o];
        for (let i = 0; i < I; i++) s += w.d[o * I + i] * x.d[n * I + i];
        y.d[n * O + o] = s;
      }
    return y;
  }

  // resnet.py upfirdn2d_native with a separable-by-construction kernel outer(k1, k1) normalised and scaled
  function upfirdn(x: T, k1: number[], up: number, down: number, p0: number, p1: number, gain: number): T {
    const K = k1.length;
    const kk: number[] = [];
    let sum = 0;
    for (let a = 0; a < K; a++) for (let b = 0; b < K; b++) sum += k1[a] * k1[b];
    for (let a = 0; a < K; a++) for (let b = 0; b < K; b++) kk.push((k1[a] * k1[b] * gain) / sum);
    const [B, C, H, W] = x.s;
    const Hz = H * up + p0 + p1;
    const Wz = W * up + p0 + p1;
    const Ho = Math.floor((Hz - K) / down) + 1;
    const Wo = Math.floor((Wz - K) / down) + 1;
    const y = zeros([B, C, Ho, Wo]);
    const z = new Float64Array(Hz * Wz);
    for (let bc = 0; bc < B * C; bc++) {
      z.fill(0);
      for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) z[(i * up + p0) * Wz + j * up + p0] = x.d[(bc * H + i) * W + j];
      for (let i = 0; i < Ho; i++)
        for (let j = 0; j < Wo; j++) {
          let s = 0;
          // F.conv2d with torch.flip(kernel): correlation with the flipped kernel
          for (let a = 0; a < K; a++) for (let b = 0; b < K; b++) s += kk[(K - 1 - a) * K + (K - 1 - b)] * z[(i * down + a) * Wz + j * down + b];
          y.d[(bc * Ho + i) * Wo + j] = s;
        }
    }
    return y;
  }
  const FIR = [1, 3, 3, 1];
  const firUp = (x: T) => upfirdn(x, FIR, 2, 1, Math.floor((4 - 2 + 1) / 2) + 2 - 1, Math.floor((4 - 2) / 2), 4); // upsample_2d, gain * factor^2
  const firDown = (x: T) => upfirdn(x, FIR, 1, 2, Math.floor((4 - 2 + 1) / 2), Math.floor((4 - 2) / 2), 1); // downsample_2d
  function nearest2x(x: T): T {
    const [B, C, H, W] = x.s;
    const y = zeros([B, C, 2 * H, 2 * W]);
    for (let bc = 0; bc < B * C; bc++) for (let i = 0; i < 2 * H; i++) for (let j = 0; j < 2 * W; j++) y.d[(bc * 2 * H + i) * 2 * W + j] = x.d[(bc * H + (i >> 1)) * W + (j >> 1)];
    return y;
  }
  function avgPool2(x: T): T {
    const [B, C, H, W] = x.s;
    const y = zeros([B, C, H / 2, W / 2]);
    for (let bc = 0; bc < B * C; bc++)
      for (let i = 0; i < H / 2; i++)
        for (let j = 0; j < W / 2; j++) {
          const r = (bc * H + 2 * i) * W + 2 * j;
          y.d[(bc * (H / 2) + i) * (W / 2) + j] = (x.d[r] + x.d[r + 1] + x.d[r + W] + x.d[r + W + 1]) / 4;
        }
    return y;
  }
  function cat(a: T, b: T): T {
    const [B, Ca, H, W] = a.s;
    const Cb = b.s[1];
    const y = zeros([B, Ca + Cb, H, W]);
    const S = H * W;
    for (let n = 0; n < B; n++) {
      y.d.set(a.d.subarray(n * Ca * S, (n + 1) * Ca * S), n * (Ca + Cb) * S);
      y.d.set(b.d.subarray(n * Cb * S, (n + 1) * Cb * S), (n * (Ca + Cb) + Ca) * S);
    }
    return y;
  }

  // ResnetBlock2D.forward
  function resnet(p: string, x: T, temb: T, groups: number, groupsOut: number, outputScale: number, resample: (t: T) => T = (t) => t): T {
    let h = map(gn(x, groups, `${p}.norm1`), act);
    x = resample(x);
    h = resample(h);
    h = convP(h, `${p}.conv1`);
    const t = linear(map(temb, act), `${p}.time_emb_proj`);
    const [B, Co, H, W] = h.s;
    const S = H * W;
    if (c.resnet_time_scale_shift === "default") {
      for (let n = 0; n < B; n++) for (let o = 0; o < Co; o++) for (let i = 0; i < S; i++) h.d[(n * Co + o) * S + i] += t.d[n * Co + o];
      h = gn(h, groupsOut, `${p}.norm2`);
    } else {
      h = gn(h, groupsOut, `${p}.norm2`);
      for (let n = 0; n < B; n++)
        for (let o = 0; o < Co; o++)
          for (let i = 0; i < S; i++) {
            const k = (n * Co + o) * S + i;
            h.d[k] = h.d[k] * (1 + t.d[n * 2 * Co + o]) + t.d[n * 2 * Co + Co + o];
          }
    }
    h = convP(map(h, act), `${p}.conv2`);
    if (has(`${p}.conv_shortcut.weight`)) x = convP(x, `${p}.conv_shortcut`, 1, [0, 0, 0, 0]);
    return map(addT(x, h), (v) => v / outputScale);
  }

  // Attention with AttnProcessor (residual_connection, rescale_output_factor)
  function attention(p: string, x: T, groups: number | null, rescale: number): T {
    const [B, C, H, W] = x.s;
    const N = H * W;
    const headDim = c.attention_head_dim ?? C;
    const heads = Math.floor(C / headDim);
    let hs = groups === null ? x : gn(x, groups, `${p}.group_norm`);
    // [B, C, N] -> [B*N, C]
    const seq = zeros([B * N, C]);
    for (let n = 0; n < B; n++) for (let ch = 0; ch < C; ch++) for (let i = 0; i < N; i++) seq.d[(n * N + i) * C + ch] = hs.d[(n * C + ch) * N + i];
    const q = linear(seq, `${p}.to_q`);
    const k = linear(seq, `${p}.to_k`);
    const v = linear(seq, `${p}.to_v`);
    const inner = q.s[1];
    const dh = inner / heads;
    const o = zeros([B * N, inner]);
    const scale = dh ** -0.5;
    for (let n = 0; n < B; n++)
      for (let hd = 0; hd < heads; hd++)
        for (let i = 0; i < N; i++) {
          const sc = new Float64Array(N);
          let m = -Infinity;
          for (let j = 0; j < N; j++) {
            let s = 0;
            for (let e = 0; e < dh; e++) s += q.d[(n * N + i) * inner + hd * dh + e] * k.d[(n * N + j) * inner + hd * dh + e];
            sc[j] = s * scale;
            m = Math.max(m, sc[j]);
          }
          let z = 0;
          for (let j = 0; j < N; j++) z += (sc[j] = Math.exp(sc[j] - m));
          for (let e = 0; e < dh; e++) {
            let s = 0;
            for (let j = 0; j < N; j++) s += (sc[j] / z) * v.d[(n * N + j) * inner + hd * dh + e];
            o.d[(n * N + i) * inner + hd * dh + e] = s;
          }
        }
    const out = linear(o, `${p}.to_out.0`);
    hs = zeros([B, C, H, W]);
    for (let n = 0; n < B; n++) for (let ch = 0; ch < C; ch++) for (let i = 0; i < N; i++) hs.d[(n * C + ch) * N + i] = (out.d[(n * N + i) * C + ch] + x.d[(n * C + ch) * N + i]) / rescale;
    return hs;
  }

  // 0-1: input, time
  const B = x0.shape[0];
  let sample: T = { d: Float64Array.from(x0.data), s: [...x0.shape] };
  if (c.center_input_sample) sample = map(sample, (v) => 2 * v - 1);
  const C0 = c.block_out_channels[0];
  const proj = (vals: number[]): T => {
    if (c.time_embedding_type === "fourier") {
      const w = P("time_proj.weight");
      const y = zeros([vals.length, 2 * C0]);
      vals.forEach((t, n) => {
        for (let i = 0; i < C0; i++) {
          const a = Math.log(t) * w.d[i] * 2 * Math.PI;
          y.d[n * 2 * C0 + i] = Math.sin(a);
          y.d[n * 2 * C0 + C0 + i] = Math.cos(a);
        }
      });
      return y;
    }
    if (c.time_embedding_type === "learned") {
      const w = P("time_proj.weight");
      const y = zeros([vals.length, C0]);
      vals.forEach((t, n) => y.d.set(w.d.subarray(t * C0, (t + 1) * C0), n * C0));
      return y;
    }
    const half = Math.floor(C0 / 2);
    const y = zeros([vals.length, C0]);
    vals.forEach((t, n) => {
      const e: number[] = [];
      for (let i = 0; i < half; i++) e.push(t * Math.exp((-Math.log(10000) * i) / (half - c.freq_shift)));
      const row = [...e.map(Math.sin), ...e.map(Math.cos)];
      const fl = c.flip_sin_to_cos ? [...row.slice(half), ...row.slice(0, half)] : row;
      y.d.set(fl, n * C0);
    });
    return y;
  };
  const timestepEmbedding = (p: string, f: T) => linear(map(linear(f, `${p}.linear_1`), silu), `${p}.linear_2`);
  let emb = timestepEmbedding("time_embedding", proj(timesteps));
  const E = emb.s[1];
  if (c.class_embed_type === "timestep") emb = addT(emb, timestepEmbedding("class_embedding", proj(classLabels!)));
  else if (c.class_embed_type === "identity") emb = addT(emb, { d: Float64Array.from(classLabels!), s: [B, E] });
  else if (c.num_class_embeds !== null) {
    const w = P("class_embedding.weight");
    const ce = zeros([B, E]);
    classLabels!.forEach((l, n) => ce.d.set(w.d.subarray(l * E, (l + 1) * E), n * E));
    emb = addT(emb, ce);
  }

  // 2-3: conv_in, down blocks
  const G = c.norm_num_groups;
  const q4 = (ch: number) => Math.min(Math.floor(ch / 4), 32);
  const chIn = (p: string) => P(`${p}.norm1.weight`).s[0];
  const chOut = (p: string) => P(`${p}.conv1.weight`).s[0];
  let skipSample: T | null = sample;
  let h = convP(sample, "conv_in");
  const res: T[] = [h];
  const L = c.block_out_channels.length;
  for (let i = 0; i < L; i++) {
    const p = `down_blocks.${i}`;
    const type = c.down_block_types[i];
    const last = i === L - 1;
    for (let j = 0; j < c.layers_per_block; j++) {
      const r = `${p}.resnets.${j}`;
      if (type === "DownBlock2D" || type === "AttnDownBlock2D") h = resnet(r, h, emb, G!, G!, 1);
      else h = resnet(r, h, emb, q4(chIn(r)), q4(chOut(r)), Math.SQRT2);
      if (type === "AttnDownBlock2D") h = attention(`${p}.attentions.${j}`, h, G, 1);
      if (type === "AttnSkipDownBlock2D") h = attention(`${p}.attentions.${j}`, h, 32, Math.SQRT2);
      res.push(h);
    }
    if (last) continue;
    if (type === "SkipDownBlock2D" || type === "AttnSkipDownBlock2D") {
      const ch = chOut(`${p}.resnet_down`);
      h = resnet(`${p}.resnet_down`, h, emb, q4(ch), q4(ch), Math.SQRT2, firDown);
      skipSample = firDown(skipSample!);
      h = addT(convP(skipSample, `${p}.skip_conv`, 1, [0, 0, 0, 0]), h);
    } else if (type === "AttnDownBlock2D" && c.downsample_type === "resnet") {
      h = resnet(`${p}.downsamplers.0`, h, emb, G!, G!, 1, avgPool2);
    } else {
      const pad = c.downsample_padding;
      h = convP(h, `${p}.downsamplers.0.conv`, 2, pad === 0 ? [0, 1, 0, 1] : [pad, pad, pad, pad]);
    }
    res.push(h);
  }

  // 4: mid
  if (c.mid_block_type !== null) {
    const ch = h.s[1];
    const g = G ?? q4(ch);
    const ag = c.attn_norm_num_groups ?? (c.resnet_time_scale_shift === "default" ? g : null);
    const s = c.mid_block_scale_factor;
    h = resnet("mid_block.resnets.0", h, emb, g, g, s);
    if (c.add_attention) h = attention("mid_block.attentions.0", h, ag, s);
    h = resnet("mid_block.resnets.1", h, emb, g, g, s);
  }

  // 5: up
  skipSample = null;
  for (let i = 0; i < L; i++) {
    const p = `up_blocks.${i}`;
    const type = c.up_block_types[i];
    const last = i === L - 1;
    const n = c.layers_per_block + 1;
    const mine = res.splice(res.length - n, n);
    for (let j = 0; j < n; j++) {
      h = cat(h, mine.pop()!);
      const r = `${p}.resnets.${j}`;
      const rc = chIn(r);
      if (type === "UpBlock2D" || type === "AttnUpBlock2D") h = resnet(r, h, emb, G!, G!, 1);
      else if (type === "SkipUpBlock2D") h = resnet(r, h, emb, q4(rc), q4(chOut(r)), Math.SQRT2);
      else {
        // AttnSkipUpBlock2D: min(resnet_in_channels + res_skip_channels // 4, 32), as diffusers writes it
        const rev = [...c.block_out_channels].reverse();
        const rin = j === 0 ? rev[Math.max(i - 1, 0)] : rev[i];
        const rskip = rc - rin;
        h = resnet(r, h, emb, Math.min(rin + Math.floor(rskip / 4), 32), q4(chOut(r)), Math.SQRT2);
      }
      if (type === "AttnUpBlock2D") h = attention(`${p}.attentions.${j}`, h, G, 1);
    }
    if (type === "AttnSkipUpBlock2D") h = attention(`${p}.attentions.0`, h, 32, Math.SQRT2);
    if (type === "SkipUpBlock2D" || type === "AttnSkipUpBlock2D") {
      if (skipSample !== null) skipSample = firUp(skipSample);
      if (!last) {
        const s = convP(map(gn(h, q4(h.s[1]), `${p}.skip_norm`), silu), `${p}.skip_conv`);
        skipSample = skipSample === null ? s : addT(skipSample, s);
        const ch = chOut(`${p}.resnet_up`);
        h = resnet(`${p}.resnet_up`, h, emb, q4(ch), q4(ch), Math.SQRT2, firUp);
      }
    } else if (!last) {
      if (type === "AttnUpBlock2D" && c.upsample_type === "resnet") h = resnet(`${p}.upsamplers.0`, h, emb, G!, G!, 1, nearest2x);
      else h = convP(nearest2x(h), `${p}.upsamplers.0.conv`);
    }
  }

  // 6: out
  h = convP(map(gn(h, G ?? q4(C0), "conv_norm_out"), silu), "conv_out");
  if (skipSample !== null) h = addT(h, skipSample);
  if (c.time_embedding_type === "fourier") {
    const D = size(h.s) / B;
    h = { d: h.d.map((v, i) => v / timesteps[Math.floor(i / D)]), s: h.s };
  }
  return { out: h.d, read };
}

/** erf by its Maclaurin series; beyond 4, erf = +-1 within erfc(4) = 1.5e-8, ample for a reference. */
function erf(x: number): number {
  const a = Math.abs(x);
  if (a >= 4) return Math.sign(x);
  let s = 0;
  let term = a;
  for (let n = 0; n < 200; n++) {
    s += term / (2 * n + 1);
    term *= (-a * a) / (n + 1);
    if (Math.abs(term) < 1e-18) break;
  }
  return (Math.sign(x) * 2 * s) / Math.sqrt(Math.PI);
}
