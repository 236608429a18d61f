// Image preparation for datasets, runtime-neutral: channel conversion, centre crop and resize of planar
// float images [C, H, W] with values in [0, 1].
//
// Resizing is separable. Along an axis that shrinks, each output pixel is the exact area average of the
// source pixels under its footprint (a box filter with fractional edge weights), which does not alias
// the way point sampling would. Along an axis that grows, it is linear interpolation between pixel
// centres (bilinear overall), with the edge pixels held.

/** A planar float image [C, H, W]. */
export interface PlanarImage {
  channels: number;
  height: number;
  width: number;
  data: Float32Array;
}

/**
 * Convert to `channels` (1 or 3). Alpha (2 or 4 source channels) is composited over black, so
 * transparent areas become the background -1 after scaling. Colour to gray uses Rec. 601 luma
 * (0.299 R + 0.587 G + 0.114 B); gray to colour replicates.
 */
export function toChannels(img: PlanarImage, channels: 1 | 3): PlanarImage {
  const { height: h, width: w, data } = img;
  const hw = h * w;
  const src = img.channels;
  const hasAlpha = src === 2 || src === 4;
  const colour = src >= 3;
  const out = new Float32Array(channels * hw);
  for (let p = 0; p < hw; p++) {
    const a = hasAlpha ? data[(src - 1) * hw + p] : 1;
    if (colour) {
      const r = data[p] * a;
      const g = data[hw + p] * a;
      const b = data[2 * hw + p] * a;
      if (channels === 3) {
        out[p] = r;
        out[hw + p] = g;
        out[2 * hw + p] = b;
      } else out[p] = 0.299 * r + 0.587 * g + 0.114 * b;
    } else {
      const v = data[p] * a;
      for (let c = 0; c < channels; c++) out[c * hw + p] = v;
    }
  }
  return { channels, height: h, width: w, data: out };
}

/** The largest centred window with the aspect ratio outH : outW. */
export function centerCrop(img: PlanarImage, outH: number, outW: number): PlanarImage {
  const { channels: c, height: h, width: w } = img;
  let ch = h;
  let cw = Math.round((h * outW) / outH);
  if (cw > w) {
    cw = w;
    ch = Math.min(h, Math.round((w * outH) / outW));
  }
  cw = Math.max(1, cw);
  ch = Math.max(1, ch);
  if (ch === h && cw === w) return img;
  const y0 = Math.floor((h - ch) / 2);
  const x0 = Math.floor((w - cw) / 2);
  const out = new Float32Array(c * ch * cw);
  for (let k = 0; k < c; k++) {
    for (let y = 0; y < ch; y++) {
      const s = (k * h + y0 + y) * w + x0;
      out.set(img.data.subarray(s, s + cw), (k * ch + y) * cw);
    }
  }
  return { channels: c, height: ch, width: cw, data: out };
}

/** Weights of a 1-D resample from n to m samples: for output i, (source index, weight) pairs summing to 1. */
function weights1d(n: number, m: number): { idx: Int32Array; w: Float64Array; start: Int32Array } {
  const idx: number[] = [];
  const wt: number[] = [];
  const start = new Int32Array(m + 1);
  const scale = n / m;
  for (let i = 0; i < m; i++) {
    start[i] = idx.length;
    if (m <= n) {
      // area: output i covers source [i scale, (i + 1) scale)
      const a = i * scale;
      const b = (i + 1) * scale;
      for (let j = Math.floor(a); j < Math.min(n, Math.ceil(b)); j++) {
        const cover = Math.min(b, j + 1) - Math.max(a, j);
        if (cover > 0) {
          idx.push(j);
          wt.push(cover / scale);
        }
      }
    } else {
      // linear between centres: output centre (i + 1/2) scale - 1/2 in source pixel coordinates
      const x = Math.min(n - 1, Math.max(0, (i + 0.5) * scale - 0.5));
      const j = Math.min(n - 2, Math.floor(x));
      if (n === 1) {
        idx.push(0);
        wt.push(1);
      } else {
        const f = x - j;
        idx.push(j, j + 1);
        wt.push(1 - f, f);
      }
    }
  }
  start[m] = idx.length;
  return { idx: Int32Array.from(idx), w: Float64Array.from(wt), start };
}

/** Resize to outH x outW (area average when shrinking, linear when growing, per axis). */
export function resize(img: PlanarImage, outH: number, outW: number): PlanarImage {
  const { channels: c, height: h, width: w } = img;
  if (h === outH && w === outW) return img;
  const wx = weights1d(w, outW);
  const wy = weights1d(h, outH);
  const tmp = new Float64Array(c * h * outW);
  for (let k = 0; k < c; k++) {
    for (let y = 0; y < h; y++) {
      const row = (k * h + y) * w;
      for (let x = 0; x < outW; x++) {
        let s = 0;
        for (let t = wx.start[x]; t < wx.start[x + 1]; t++) s += wx.w[t] * img.data[row + wx.idx[t]];
        tmp[(k * h + y) * outW + x] = s;
      }
    }
  }
  const out = new Float32Array(c * outH * outW);
  for (let k = 0; k < c; k++) {
    for (let y = 0; y < outH; y++) {
      for (let x = 0; x < outW; x++) {
        let s = 0;
        for (let t = wy.start[y]; t < wy.start[y + 1]; t++) s += wy.w[t] * tmp[(k * h + wy.idx[t]) * outW + x];
        out[(k * outH + y) * outW + x] = s;
      }
    }
  }
  return { channels: c, height: outH, width: outW, data: out };
}
