// Canvas drawing for the demo: image grids (nearest-neighbour upscaling, so pixels stay sharp), a
// scatter plot of 2-D points and a loss curve. Plain 2-D canvas, no chart library.

export interface GridLayout {
  cols: number;
  scale: number;
  gap: number;
}

/** Columns for n items: one row up to 5, then rows of 5 (10 digits are 2 rows of 5). */
export function gridLayout(n: number, scale: number): GridLayout {
  return { cols: Math.min(n, 5), scale, gap: Math.max(2, scale) };
}

/**
 * Draw n one-channel images [n, h, w] (values in [-1, 1] after dividing by `norm`) as a grid, white on
 * black like MNIST. Resizes the canvas to fit.
 */
export function drawImages(canvas: HTMLCanvasElement, data: Float32Array, n: number, h: number, w: number, layout: GridLayout, norm = 1): void {
  const { cols, scale, gap } = layout;
  const rows = Math.ceil(n / cols);
  const W = cols * w * scale + (cols + 1) * gap;
  const H = rows * h * scale + (rows + 1) * gap;
  if (canvas.width !== W || canvas.height !== H) {
    canvas.width = W;
    canvas.height = H;
  }
  const ctx = canvas.getContext("2d")!;
  const img = ctx.createImageData(W, H);
  const px = img.data;
  // background between tiles: dark grey, so black digit backgrounds still show their tile
  for (let i = 0; i < px.length; i += 4) {
    px[i] = px[i + 1] = px[i + 2] = 40;
    px[i + 3] = 255;
  }
  for (let k = 0; k < n; k++) {
    const ox = gap + (k % cols) * (w * scale + gap);
    const oy = gap + Math.floor(k / cols) * (h * scale + gap);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const v = data[k * h * w + y * w + x] / norm;
        const g = Math.round(Math.max(0, Math.min(1, (v + 1) / 2)) * 255);
        for (let dy = 0; dy < scale; dy++) {
          let o = ((oy + y * scale + dy) * W + ox + x * scale) * 4;
          for (let dx = 0; dx < scale; dx++, o += 4) px[o] = px[o + 1] = px[o + 2] = g;
        }
      }
    }
  }
  ctx.putImageData(img, 0, 0);
}

const css = (name: string, fallback: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;

/** A grey hint in the middle of an empty plot. */
function hint(ctx: CanvasRenderingContext2D, text: string): void {
  ctx.fillStyle = css("--muted", "#666");
  ctx.font = "13px system-ui, sans-serif";
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.fillText(text, ctx.canvas.width / 2, ctx.canvas.height / 2);
  ctx.textAlign = "start";
}

/** Scatter plot of 2-D points in [-range, range]^2: the data in grey, the model's samples in colour. */
export function drawScatter(canvas: HTMLCanvasElement, data: Float32Array | null, samples: Float32Array | null, range = 2.5): void {
  const ctx = canvas.getContext("2d")!;
  const { width: W, height: H } = canvas;
  ctx.fillStyle = css("--plot-bg", "#fff");
  ctx.fillRect(0, 0, W, H);
  const sx = (x: number) => ((x + range) / (2 * range)) * W;
  const sy = (y: number) => H - ((y + range) / (2 * range)) * H;
  ctx.strokeStyle = css("--grid", "#ddd");
  ctx.lineWidth = 1;
  for (let t = -Math.floor(range); t <= range; t++) {
    ctx.beginPath();
    ctx.moveTo(Math.round(sx(t)) + 0.5, 0);
    ctx.lineTo(Math.round(sx(t)) + 0.5, H);
    ctx.moveTo(0, Math.round(sy(t)) + 0.5);
    ctx.lineTo(W, Math.round(sy(t)) + 0.5);
    ctx.stroke();
  }
  const dots = (p: Float32Array, color: string, r: number) => {
    ctx.fillStyle = color;
    for (let i = 0; i + 1 < p.length; i += 2) {
      if (!Number.isFinite(p[i]) || !Number.isFinite(p[i + 1])) continue;
      ctx.fillRect(sx(p[i]) - r / 2, sy(p[i + 1]) - r / 2, r, r);
    }
  };
  if (!data && !samples) hint(ctx, "press Train: data and samples appear here");
  if (data) dots(data, css("--data", "rgba(0,0,0,0.18)"), 2);
  if (samples) dots(samples, css("--sample", "#d9480f"), 3);
}

/** Loss per step (log scale): the raw values faint, a moving average on top, axis labels at the ends. */
export function drawLoss(canvas: HTMLCanvasElement, losses: ArrayLike<number>, total: number): void {
  const ctx = canvas.getContext("2d")!;
  const { width: W, height: H } = canvas;
  ctx.fillStyle = css("--plot-bg", "#fff");
  ctx.fillRect(0, 0, W, H);
  const n = losses.length;
  if (n === 0) return hint(ctx, "the training loss appears here");
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = losses[i];
    if (v > 0 && Number.isFinite(v)) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  if (!(hi > 0)) return;
  if (hi / lo < 1.5) {
    lo /= 1.25;
    hi *= 1.25;
  }
  const pad = { l: 44, r: 8, t: 8, b: 18 };
  const px = (i: number) => pad.l + (i / Math.max(1, total - 1)) * (W - pad.l - pad.r);
  const py = (v: number) => pad.t + (1 - (Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo))) * (H - pad.t - pad.b);
  ctx.strokeStyle = css("--grid", "#ddd");
  ctx.strokeRect(pad.l + 0.5, pad.t + 0.5, W - pad.l - pad.r, H - pad.t - pad.b);
  ctx.fillStyle = css("--muted", "#666");
  ctx.font = "11px system-ui, sans-serif";
  ctx.textBaseline = "top";
  ctx.fillText(hi.toPrecision(2), 4, pad.t);
  ctx.textBaseline = "bottom";
  ctx.fillText(lo.toPrecision(2), 4, H - pad.b);
  ctx.fillText(`step ${n}`, W - pad.r - 60, H - 2);
  const line = (values: ArrayLike<number>, color: string, width: number) => {
    ctx.strokeStyle = color;
    ctx.lineWidth = width;
    ctx.beginPath();
    let started = false;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!(v > 0 && Number.isFinite(v))) continue;
      if (started) ctx.lineTo(px(i), py(v));
      else ctx.moveTo(px(i), py(v));
      started = true;
    }
    ctx.stroke();
  };
  line(losses, css("--loss-raw", "rgba(25,113,194,0.25)"), 1);
  const k = Math.max(1, Math.round(n / 40));
  const smooth = new Float64Array(n);
  let acc = 0;
  for (let i = 0; i < n; i++) {
    acc += losses[i];
    if (i >= k) acc -= losses[i - k];
    smooth[i] = acc / Math.min(i + 1, k);
  }
  line(smooth, css("--loss", "#1971c2"), 2);
}
