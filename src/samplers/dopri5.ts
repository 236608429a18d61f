// An adaptive Runge-Kutta 4(5) integrator (Dormand & Prince 1980) for a batch of ODEs, each item with its
// own step-size controller, so an item's path does not depend on which batch it is in. Used by the RK45
// sampler and by the likelihood, both on the probability-flow ODE in u = log sigma.

import { dexp, dpow } from "../math/detmath.ts";
import { ArgumentError } from "../validate.ts";

// Dormand-Prince 5(4) tableau.
const C = [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1];
const A = [
  [],
  [1 / 5],
  [3 / 40, 9 / 40],
  [44 / 45, -56 / 15, 32 / 9],
  [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
  [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
  [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
];
// error weights b5 - b4
const E = [71 / 57600, 0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40];

/**
 * The right-hand side for the whole batch: y is batch x dim, u has one entry per item; returns batch x dim.
 * `items` is always 0..batch-1 (row b is item b).
 */
export type BatchRhs = (y: Float64Array, u: Float64Array, items: Int32Array) => Float64Array;

/**
 * Integrate dy/du = f(y, u) for every item from u0 to u1 (either direction) with per-item adaptive
 * DOPRI5 steps. y (batch x dim) is updated in place; h holds each item's step size (in: initial guess,
 * out: the last accepted proposal). Returns the number of f calls.
 *
 * f always sees the whole batch in item order: an item that has reached u1 rides along frozen (step 0,
 * its result discarded) rather than being dropped from the call. A denoiser may carry per-item state that
 * is lined up with the batch (classifier-free guidance's labels, an inpainting mask, Hutchinson probes),
 * and the Denoiser contract has no way to say "these rows are items 3 and 7"; evaluating a sub-batch would
 * pair rows with the wrong state (issue 14 #3). The cost is the finished items' evaluations in the rounds
 * the slowest item still needs.
 */
export function dopri5(
  f: BatchRhs,
  y: Float64Array,
  dim: number,
  batch: number,
  u0: number,
  u1: number,
  h: Float64Array,
  rtol: number,
  atol: number,
  maxRounds = 100_000,
): number {
  const dir = u1 >= u0 ? 1 : -1;
  const u = new Float64Array(batch).fill(u0);
  const done = new Uint8Array(batch);
  const items = Int32Array.from({ length: batch }, (_, b) => b);
  let calls = 0;
  if (u0 === u1) return 0;
  for (let b = 0; b < batch; b++) if (!(Math.abs(h[b]) > 0)) h[b] = 0.05 * (u1 - u0);
  // k1 = f(y, u0); afterwards the last stage of an accepted step is the next k1 (FSAL)
  const k1 = f(Float64Array.from(y), Float64Array.from(u), items).slice();
  calls++;
  const hs = new Float64Array(batch);
  for (let round = 0; round < maxRounds; round++) {
    let active = 0;
    // step sizes, clamped to land on u1; a finished item steps by 0 (it stays where it is)
    for (let b = 0; b < batch; b++) {
      if (done[b]) {
        hs[b] = 0;
        continue;
      }
      active++;
      let hb = dir * Math.abs(h[b]);
      if (dir * (u[b] + hb - u1) > 0) hb = u1 - u[b];
      hs[b] = hb;
    }
    if (active === 0) return calls;
    const K: Float64Array[] = [k1];
    let y5 = new Float64Array(0);
    for (let s = 1; s < 7; s++) {
      const ys = new Float64Array(batch * dim);
      const us = new Float64Array(batch);
      for (let b = 0; b < batch; b++) {
        us[b] = s === 6 ? u[b] + hs[b] : u[b] + C[s] * hs[b];
        for (let i = 0; i < dim; i++) {
          let acc = 0;
          for (let r = 0; r < s; r++) acc += A[s][r] * K[r][b * dim + i];
          ys[b * dim + i] = y[b * dim + i] + hs[b] * acc;
        }
      }
      if (s === 6) y5 = ys;
      K.push(f(ys, us, items));
      calls++;
    }
    for (let b = 0; b < batch; b++) {
      if (done[b]) continue;
      let err = 0;
      for (let i = 0; i < dim; i++) {
        let e = 0;
        for (let r = 0; r < 7; r++) e += E[r] * K[r][b * dim + i];
        e *= hs[b];
        const sc = atol + rtol * Math.max(Math.abs(y[b * dim + i]), Math.abs(y5[b * dim + i]));
        err += (e / sc) * (e / sc);
      }
      err = Math.sqrt(err / dim);
      if (!Number.isFinite(err)) throw new ArgumentError("denoiser", `returned a non-finite value at sigma = ${dexp(u[b])}`);
      const fac = err === 0 ? 5 : Math.min(5, Math.max(0.2, 0.9 * dpow(err, -0.2)));
      if (err <= 1) {
        const landed = u[b] + hs[b];
        u[b] = dir * (landed - u1) >= 0 ? u1 : landed;
        y.set(y5.subarray(b * dim, (b + 1) * dim), b * dim);
        k1.set(K[6].subarray(b * dim, (b + 1) * dim), b * dim);
        if (u[b] === u1) done[b] = 1;
        h[b] = hs[b] * fac;
      } else {
        h[b] = hs[b] * fac;
      }
    }
  }
  throw new ArgumentError("rtol", `the ODE needed more than ${maxRounds} steps; loosen rtol/atol`);
}
