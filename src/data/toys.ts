// 2-D toy distributions for score MLPs, as seeded functions (n, rng) -> Float32Array [n, 2].
//
// Scale: every toy is centred (population mean 0) and scaled, keeping its aspect ratio, so that
// E|x|^2 = 2, the second moment of a standard 2-D normal: "std about 1" pooled over both axes. The
// constants come from closed-form moments of each generative definition, so they are exact, not
// estimated. Data is not clipped to [-1, 1] (Gaussian noise has unbounded tails).
//
// Determinism: uniforms come from rng item 0 and normals from item 1, point i at fixed offsets, with
// the deterministic sin/cos (math/detmath.ts): the same seed gives the same bytes in every runtime, and
// the first m points of a draw of n are the draw of m.

import { cosSin2Pi } from "../math/detmath.ts";
import type { Rng } from "../rng.ts";
import { ArgumentError, finite, int } from "../validate.ts";
import { DatasetError } from "./dataset.ts";

export interface ToyOptions {
  /** Gaussian noise std, in the toy's raw units (before scaling); defaults per toy. */
  noise?: number;
  /** If given (length n), receives each point's component / class index. */
  labels?: Int32Array;
}

type Gen = (n: number, rng: Rng, opts?: ToyOptions) => Float32Array;

function draws(n: number, rng: Rng, uniformsPerPoint: number): { u: Float64Array; z: Float64Array } {
  return { u: rng.uniform(new Float64Array(n * uniformsPerPoint), 0), z: rng.normal(new Float64Array(n * 2), 1) };
}

function prepare(name: string, n: number, opts: ToyOptions, defaultNoise: number): number {
  int("n", n, 1, 1 << 26);
  if (opts.labels !== undefined && (!(opts.labels instanceof Int32Array) || opts.labels.length !== n)) {
    throw new ArgumentError("opts.labels", `must be an Int32Array of length ${n}`);
  }
  const noise = opts.noise ?? defaultNoise;
  finite(`${name} noise`, noise);
  if (noise < 0) throw new ArgumentError("opts.noise", `must be >= 0, got ${noise}`);
  return noise;
}

const cs = new Float64Array(2);

/**
 * Two interleaved half circles (sklearn's make_moons): class 0 is (cos t, sin t), class 1 is
 * (1 - cos t, 1/2 - sin t), t uniform in [0, pi]; noise std 0.05 by default.
 * Raw moments: mean (1/2, 1/4); Var x = 3/4, Var y = 1/2 - 4/pi^2 + (2/pi - 1/4)^2.
 */
export const moons: Gen = (n, rng, opts = {}) => {
  const noise = prepare("moons", n, opts, 0.05);
  const varY = 0.5 - 4 / Math.PI ** 2 + (2 / Math.PI - 0.25) ** 2;
  const s = Math.sqrt(2 / (0.75 + varY + 2 * noise * noise));
  const { u, z } = draws(n, rng, 2);
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const c = u[2 * i] < 0.5 ? 0 : 1;
    cosSin2Pi(u[2 * i + 1] / 2, cs); // t = pi u
    const x = c === 0 ? cs[0] : 1 - cs[0];
    const y = c === 0 ? cs[1] : 0.5 - cs[1];
    out[2 * i] = s * (x - 0.5 + noise * z[2 * i]);
    out[2 * i + 1] = s * (y - 0.25 + noise * z[2 * i + 1]);
    if (opts.labels) opts.labels[i] = c;
  }
  return out;
};

/**
 * The 2-D swiss roll (t cos t, t sin t), t uniform in [3pi/2, 9pi/2] (sklearn's range); noise std 0.5.
 * Raw moments: E[t cos t] = (a + b)/(b - a) = 2, E[t sin t] = 2/(b - a) = 2/(3 pi), E|x|^2 = E[t^2] = (a^2 + ab + b^2)/3.
 * Labels: 0 for the inner half of t, 1 for the outer.
 */
export const swissRoll: Gen = (n, rng, opts = {}) => {
  const noise = prepare("swissroll", n, opts, 0.5);
  const a = 1.5 * Math.PI;
  const b = 4.5 * Math.PI;
  const mx = 2;
  const my = 2 / (3 * Math.PI);
  const totalVar = (a * a + a * b + b * b) / 3 - mx * mx - my * my + 2 * noise * noise;
  const s = Math.sqrt(2 / totalVar);
  const { u, z } = draws(n, rng, 1);
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    // t = 1.5 pi (1 + 2u) = 2 pi (3/4 + 3u/2): cos and sin from the turn fraction
    cosSin2Pi((0.75 + 1.5 * u[i]) % 1, cs);
    const t = a + (b - a) * u[i];
    out[2 * i] = s * (t * cs[0] - mx + noise * z[2 * i]);
    out[2 * i + 1] = s * (t * cs[1] - my + noise * z[2 * i + 1]);
    if (opts.labels) opts.labels[i] = u[i] < 0.5 ? 0 : 1;
  }
  return out;
};

/** Eight Gaussians with means on the unit circle at angles k pi/4 and std `noise` (0.1), then scaled. */
export const eightGaussians: Gen = (n, rng, opts = {}) => {
  const noise = prepare("8gaussians", n, opts, 0.1);
  const s = Math.sqrt(2 / (1 + 2 * noise * noise));
  const { u, z } = draws(n, rng, 1);
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const k = Math.min(7, Math.floor(8 * u[i]));
    cosSin2Pi(k / 8, cs);
    out[2 * i] = s * (cs[0] + noise * z[2 * i]);
    out[2 * i + 1] = s * (cs[1] + noise * z[2 * i + 1]);
    if (opts.labels) opts.labels[i] = k;
  }
  return out;
};

/** The centre of component k of eightGaussians (for tests and plots), after scaling. */
export function eightGaussiansMean(k: number, noise = 0.1): [number, number] {
  const s = Math.sqrt(2 / (1 + 2 * noise * noise));
  cosSin2Pi(k / 8, cs);
  return [s * cs[0], s * cs[1]];
}

/**
 * A 4 x 4 checkerboard on [-2, 2]^2 whose 8 cells with (column + row) even are filled uniformly
 * (no noise). Raw E[x^2] = E[y^2] = 4/3, so the scale is sqrt(3)/2 and the board spans +-sqrt(3).
 * Labels: the cell index 0..7.
 */
export const checkerboard: Gen = (n, rng, opts = {}) => {
  prepare("checkerboard", n, { ...opts, noise: 0 }, 0);
  const s = Math.sqrt(3) / 2;
  const { u } = draws(n, rng, 3);
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const c = Math.min(7, Math.floor(8 * u[3 * i]));
    const row = c >> 1;
    const col = (row & 1) + 2 * (c & 1);
    out[2 * i] = s * (col + u[3 * i + 1] - 2);
    out[2 * i + 1] = s * (row + u[3 * i + 2] - 2);
    if (opts.labels) opts.labels[i] = c;
  }
  return out;
};

/**
 * A Gaussian mixture of 25 components on the grid {-2, -1, 0, 1, 2}^2 with std `noise` (0.05), equal
 * weights. Raw E[x^2] = 2 + noise^2 per axis. Labels: the component 0..24 (row-major from (-2, -2)).
 */
export const gaussianGrid: Gen = (n, rng, opts = {}) => {
  const noise = prepare("25gaussians", n, opts, 0.05);
  const s = 1 / Math.sqrt(2 + noise * noise);
  const { u, z } = draws(n, rng, 1);
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const k = Math.min(24, Math.floor(25 * u[i]));
    out[2 * i] = s * ((k % 5) - 2 + noise * z[2 * i]);
    out[2 * i + 1] = s * (Math.floor(k / 5) - 2 + noise * z[2 * i + 1]);
    if (opts.labels) opts.labels[i] = k;
  }
  return out;
};

export interface MixtureComponents {
  weights: number[];
  means: [number, number][];
  /** isotropic std per component */
  stds: number[];
}

/**
 * A general isotropic 2-D Gaussian mixture, not rescaled (the caller chooses the scale). For full
 * covariances and exact scores use testbed's GaussianMixture.
 */
export function gaussianMixture(n: number, rng: Rng, spec: MixtureComponents, labels?: Int32Array): Float32Array {
  prepare("gaussianMixture", n, { labels }, 0);
  const K = spec?.weights?.length ?? 0;
  int("spec.weights.length", K, 1, 1 << 16);
  if (!Array.isArray(spec.means) || spec.means.length !== K) throw new ArgumentError("spec.means", `must hold ${K} points`);
  if (!Array.isArray(spec.stds) || spec.stds.length !== K) throw new ArgumentError("spec.stds", `must hold ${K} numbers`);
  const cum = new Float64Array(K);
  let total = 0;
  for (let k = 0; k < K; k++) {
    const w = finite(`spec.weights[${k}]`, spec.weights[k]);
    if (!(w > 0)) throw new ArgumentError(`spec.weights[${k}]`, `must be > 0, got ${w}`);
    finite(`spec.means[${k}][0]`, spec.means[k]?.[0]);
    finite(`spec.means[${k}][1]`, spec.means[k]?.[1]);
    if (!(finite(`spec.stds[${k}]`, spec.stds[k]) >= 0)) throw new ArgumentError(`spec.stds[${k}]`, "must be >= 0");
    total += w;
    cum[k] = total;
  }
  const { u, z } = draws(n, rng, 1);
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const target = u[i] * total;
    let k = 0;
    while (k < K - 1 && cum[k] <= target) k++;
    out[2 * i] = spec.means[k][0] + spec.stds[k] * z[2 * i];
    out[2 * i + 1] = spec.means[k][1] + spec.stds[k] * z[2 * i + 1];
    if (labels) labels[i] = k;
  }
  return out;
}

export const TOYS = {
  moons,
  swissroll: swissRoll,
  "8gaussians": eightGaussians,
  checkerboard,
  "25gaussians": gaussianGrid,
} as const;
export type ToyName = keyof typeof TOYS;
export const TOY_NAMES = Object.keys(TOYS) as ToyName[];

/** Draw n points of the toy called `name`; an unknown name is a DatasetError listing the known ones. */
export function toyData(name: string, n: number, rng: Rng, opts: ToyOptions = {}): Float32Array {
  if (!Object.prototype.hasOwnProperty.call(TOYS, name)) {
    throw new DatasetError("unknown_dataset", `unknown 2-D dataset ${JSON.stringify(name)}; known: ${TOY_NAMES.join(", ")}`);
  }
  return TOYS[name as ToyName](n, rng, opts);
}
