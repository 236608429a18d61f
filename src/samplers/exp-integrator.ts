// What the exponential-integrator solvers (UniPC, DEIS, SA-Solver) share: a grid node as the VP pair
// (alpha, sigma) of x = alpha x0 + sigma eps, its log-SNR lambda = log(alpha / sigma), the small dense
// solve UniPC's coefficients need, and the history a multistep sampler carries between resumed pieces.
//
// The solvers are written on nodes so one step function serves both callers: the library's samplers run
// in VE space (alpha = 1, sigma = the VE sigma), diffusers' schedulers pass their VP pairs (or the flow
// pair alpha = 1 - s, sigma = s). Every update below is invariant under x -> x / alpha (the integrators are
// exact for the linear part), so the two forms give the same sample up to that scale.

import { dlog } from "../math/detmath.ts";
import { ArgumentError } from "../validate.ts";
import type { Carry, Loop } from "./common.ts";

/** One noise level of the solver's grid: x = alpha x0 + sigma eps there. */
export interface Node {
  alpha: number;
  sigma: number;
}

/** The VE node of noise level sigma (x = x0 + sigma eps). */
export const veNode = (sigma: number): Node => ({ alpha: 1, sigma });

/** lambda = log(alpha / sigma), the half log-SNR DPM-Solver-type methods integrate in (+Infinity at sigma = 0). */
export function lambdaOf(n: Node): number {
  return dlog(n.alpha) - dlog(n.sigma);
}

/** Solve A x = b for a small dense A (row-major, n x n) by Gaussian elimination with partial pivoting. */
export function solveSmall(a: readonly number[][], b: readonly number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row.slice(0, n), b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    if (m[p][c] === 0) throw new ArgumentError("nodes", "give a singular system (two nodes share a noise level)");
    [m[c], m[p]] = [m[p], m[c]];
    for (let r = c + 1; r < n; r++) {
      const f = m[r][c] / m[c][c];
      for (let k = c; k <= n; k++) m[r][k] -= f * m[c][k];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = m[r][n];
    for (let k = r + 1; k < n; k++) s -= m[r][k] * x[k];
    x[r] = s / m[r][r];
  }
  return x;
}

/** out = sum_k w[k] * xs[k], elementwise (float64 accumulation, one float32 rounding). */
export function combine(out: Float32Array, w: readonly number[], xs: readonly ArrayLike<number>[]): Float32Array {
  for (let j = 0; j < out.length; j++) {
    let s = 0;
    for (let k = 0; k < w.length; k++) if (w[k] !== 0) s += w[k] * xs[k][j];
    out[j] = s;
  }
  return out;
}

/**
 * The model outputs a multistep sampler keeps (newest first) and how they cross a resume: as carry keys
 * `<prefix>0`, `<prefix>1`, ... with their count, so a continued run has exactly the history of one run.
 */
export class History {
  readonly items: (Float32Array | Float64Array)[] = [];
  constructor(private readonly max: number) {}

  push(m: Float32Array | Float64Array): void {
    this.items.unshift(m);
    if (this.items.length > this.max) this.items.length = this.max;
  }

  get length(): number {
    return this.items.length;
  }

  /** The history the previous piece of this run carried (empty at step 0). */
  static carried(loop: Loop, prefix: string, max: number, size: number): History {
    const h = new History(max);
    const n = loop.carriedNumber(`${prefix}Count`, 0);
    if (!Number.isInteger(n) || n < 0 || n > max) throw new ArgumentError(`from.carry.${prefix}Count`, `must be an integer in [0, ${max}], got ${n}`);
    for (let k = 0; k < n; k++) h.items.push(loop.carriedArray(`${prefix}${k}`, size) as Float64Array);
    return h;
  }

  /** This history as carry entries. */
  toCarry(prefix: string, carry: Carry = {}): Carry {
    carry[`${prefix}Count`] = this.items.length;
    this.items.forEach((m, k) => (carry[`${prefix}${k}`] = Array.from(m)));
    return carry;
  }
}
