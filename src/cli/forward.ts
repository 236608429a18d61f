// `edge-diffusion forward`: show the forward process on the built-in shapes. Each row is one image, each
// column a time t from 0 (the data) to the schedule's end, x_t = alpha(t) x_0 + sigma(t) eps with the same
// eps along a row (or, with --chain, the seed article's step-by-step chain). Prints, per column, the
// measured pixel variance next to the law Var(x_t) = alpha^2 Var(x_0) + sigma^2.

import { shapeImages, SHAPE_NAMES } from "../data/shapes.ts";
import { imageGrid } from "../image/grid.ts";
import { encodePng } from "../image/png.ts";
import { forwardChain, qSample } from "../process.ts";
import { Rng } from "../rng.ts";
import { EDM, VE, VPCosine, VPLinear } from "../schedule/continuous.ts";
import { DiscreteSchedule, discreteSchedule, type BetaScheduleName } from "../schedule/discrete.ts";
import type { Schedule } from "../schedule/types.ts";
import { ArgumentError, int, oneOf } from "../validate.ts";

export const SCHEDULE_NAMES = ["linear", "scaled_linear", "cosine", "sigmoid", "geometric", "vp-linear", "vp-cosine", "ve", "edm"] as const;
export type ScheduleName = (typeof SCHEDULE_NAMES)[number];

export function scheduleByName(name: string, T: number): Schedule {
  const n = oneOf("--schedule", name, SCHEDULE_NAMES);
  switch (n) {
    case "vp-linear":
      return new VPLinear();
    case "vp-cosine":
      return new VPCosine();
    case "ve":
      return new VE();
    case "edm":
      return new EDM();
    default:
      return discreteSchedule(n as BetaScheduleName, { T });
  }
}

export interface ForwardOptions {
  schedule: string;
  T: number;
  columns: number;
  seed: number;
  size: number;
  scale: number;
  chain: boolean;
}

export interface ForwardResult {
  png: Uint8Array;
  rows: { t: number; alpha: number; sigma: number; theory: number; measured: number }[];
  schedule: Schedule;
}

export function runForward(o: ForwardOptions, log: (line: string) => void = () => {}): ForwardResult {
  const T = int("--T", o.T, 1, 100_000);
  const cols = int("--columns", o.columns, 2, 64);
  const size = int("--size", o.size, 8, 256);
  const schedule = scheduleByName(o.schedule, T);
  if (o.chain && !(schedule instanceof DiscreteSchedule)) {
    throw new ArgumentError("--chain", `needs a discrete schedule (the chain steps through beta_t), got ${schedule.name}`);
  }
  log(`forward process, ${schedule.name}${o.chain ? ", step-by-step chain" : ""}:`);
  const N = SHAPE_NAMES.length;
  const D = size * size;
  const x0 = shapeImages(size);
  let mean0 = 0;
  for (const v of x0) mean0 += v;
  mean0 /= x0.length;
  let var0 = 0;
  for (const v of x0) var0 += (v - mean0) ** 2;
  var0 /= x0.length;

  const rng = new Rng(o.seed);
  const eps = rng.stream("forward-eps").randn(N, D);
  const strip = new Float32Array(N * cols * D);
  const rows: ForwardResult["rows"] = [];
  for (let c = 0; c < cols; c++) {
    let t = schedule.tMin + ((schedule.tMax - schedule.tMin) * c) / (cols - 1);
    if (schedule.discrete) t = Math.round(t);
    const xt =
      o.chain && schedule instanceof DiscreteSchedule
        ? forwardChain(schedule, x0, t, rng.stream("forward-chain"), N)
        : qSample(schedule, x0, eps, t, N);
    // Var(x_t) over all pixels of all images: alpha^2 Var(x0) + sigma^2 (the mean shifts by alpha, and
    // eps is independent of x0 with unit variance).
    let m = 0;
    for (const v of xt) m += v;
    m /= xt.length;
    let s2 = 0;
    for (const v of xt) s2 += (v - m) ** 2;
    s2 /= xt.length;
    const a = schedule.alpha(t);
    const s = schedule.sigma(t);
    rows.push({ t, alpha: a, sigma: s, theory: a * a * var0 + s * s, measured: s2 });
    // Show each x_t scaled back to the data range so noise and signal are comparable: x_t / sqrt(Var).
    const k = 1 / Math.sqrt(a * a + s * s);
    for (let n = 0; n < N; n++) {
      const dst = (n * cols + c) * D;
      for (let i = 0; i < D; i++) strip[dst + i] = xt[n * D + i] * k;
    }
    log(`  t=${Number.isInteger(t) ? String(t) : fmt(t)}  alpha=${fmt(a)}  sigma=${fmt(s)}  Var(x_t): law ${fmt(a * a * var0 + s * s)}, measured ${fmt(s2)}`);
  }
  const img = imageGrid(strip, [N * cols, 1, size, size], { cols, gap: 2, scale: o.scale });
  return { png: encodePng(img), rows, schedule };
}

function fmt(x: number): string {
  if (x === 0) return "0";
  const a = Math.abs(x);
  return a >= 1e4 || a < 1e-3 ? x.toExponential(3) : x.toFixed(4);
}
