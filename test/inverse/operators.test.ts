// The laws of the inverse-problem operators (src/inverse/operators.ts): each computes A and A^T directly
// (averaging, convolution, gathering) and its SVD in closed form; these tests hold the two against each
// other in float64, where a wrong index, sign or normalisation is off by O(1) and rounding by ~1e-15.
import { describe, expect, it } from "vitest";
import { averagePool, colorToGray, gaussianBlur, gaussianTaps, maskOperator, pinv, type LinearOperator } from "../../src/inverse/operators.ts";
import { Rng } from "../../src/rng.ts";
import { expectArgumentError } from "../support/errors.ts";

const TOL = 1e-12;
const B = 3;

const OPERATORS: [string, () => LinearOperator][] = [
  ["average pool x2 on [2, 4, 6]", () => averagePool([2, 4, 6], 2)],
  ["average pool x4 on [1, 28, 28]", () => averagePool([1, 28, 28], 4)],
  ["average pool x3 on [3, 6, 9]", () => averagePool([3, 6, 9], 3)],
  ["gaussian blur sigma 1.2 on [2, 5, 7]", () => gaussianBlur([2, 5, 7], 1.2)],
  ["gaussian blur sigma 3 (kernel wider than the image) on [1, 4, 6]", () => gaussianBlur([1, 4, 6], 3)],
  ["colour to gray on [3, 3, 4]", () => colorToGray([3, 3, 4])],
  ["mask on [1, 3, 3]", () => maskOperator([1, 3, 3], [1, 0, 1, 1, 0, 0, 1, 1, 0])],
];

const randn = (seed: number, n: number) => Float64Array.from(new Rng(seed).randn(1, n));
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};
/** s ⊙ x̄[0..outSize) per item. */
const scaleSpectral = (op: LinearOperator, xbar: Float64Array, batch: number) => {
  const out = new Float64Array(batch * op.outSize);
  for (let b = 0; b < batch; b++) for (let i = 0; i < op.outSize; i++) out[b * op.outSize + i] = op.singulars[i] * xbar[b * op.inSize + i];
  return out;
};

describe.each(OPERATORS)("%s", (_, make) => {
  const op = make();
  const x = randn(1, B * op.inSize);
  const y = randn(2, B * op.outSize);

  it("its SVD reconstructs A: U diag(s) V^T x = A x", () => {
    expect(maxDiff(op.U(scaleSpectral(op, op.Vt(x, B), B), B), op.A(x, B))).toBeLessThan(TOL);
  });

  it("V and U are orthogonal: V V^T x = x, V^T V x̄ = x̄, U U^T y = y, and V^T preserves norms", () => {
    expect(maxDiff(op.V(op.Vt(x, B), B), x)).toBeLessThan(TOL);
    expect(maxDiff(op.Vt(op.V(x, B), B), x)).toBeLessThan(TOL);
    expect(maxDiff(op.U(op.Ut(y, B), B), y)).toBeLessThan(TOL);
    expect(Math.abs(dot(op.Vt(x, B), op.Vt(x, B)) - dot(x, x))).toBeLessThan(TOL * dot(x, x));
  });

  it("A^T is the adjoint: <A x, y> = <x, A^T y>, and V diag(s) U^T y = A^T y", () => {
    expect(Math.abs(dot(op.A(x, B), y) - dot(x, op.At(y, B)))).toBeLessThan(TOL * 100);
    const ubar = op.Ut(y, B);
    const xbar = new Float64Array(B * op.inSize);
    for (let b = 0; b < B; b++) for (let i = 0; i < op.outSize; i++) xbar[b * op.inSize + i] = op.singulars[i] * ubar[b * op.outSize + i];
    expect(maxDiff(op.V(xbar, B), op.At(y, B))).toBeLessThan(TOL);
  });

  it("A A^T = U diag(s^2) U^T", () => {
    const ubar = op.Ut(y, B);
    for (let b = 0; b < B; b++) for (let i = 0; i < op.outSize; i++) ubar[b * op.outSize + i] *= op.singulars[i] ** 2;
    expect(maxDiff(op.A(op.At(y, B), B), op.U(ubar, B))).toBeLessThan(TOL);
  });

  it("the pseudo-inverse: A A^+ y = y (full row rank), A^+ A is an orthogonal projector, A^+ y is orthogonal to A's null space", () => {
    // A^+ divides by s_i: rounding grows with the condition number (a wide blur on a small image is ill-conditioned)
    const cond = Math.max(...op.singulars) / Math.min(...op.singulars);
    const tol = 1e-12 * Math.max(1, cond);
    const p = pinv(op, y, B);
    expect(maxDiff(op.A(p, B), y)).toBeLessThan(tol);
    const P = (v: Float64Array) => pinv(op, op.A(v, B), B);
    const px = P(x);
    expect(maxDiff(P(px), px)).toBeLessThan(tol); // idempotent
    const x2 = randn(3, B * op.inSize);
    expect(Math.abs(dot(P(x2), x) - dot(x2, px))).toBeLessThan(tol * op.inSize); // symmetric
    const pbar = op.Vt(p, B);
    for (let b = 0; b < B; b++) for (let i = op.outSize; i < op.inSize; i++) expect(Math.abs(pbar[b * op.inSize + i])).toBeLessThan(tol);
  });

  it("batches are item by item: item 1 of a batch is the item alone", () => {
    const one = x.subarray(op.inSize, 2 * op.inSize);
    expect(maxDiff(op.A(x, B).subarray(op.outSize, 2 * op.outSize), op.A(one, 1))).toBe(0);
    expect(maxDiff(op.Vt(x, B).subarray(op.inSize, 2 * op.inSize), op.Vt(one, 1))).toBe(0);
  });
});

describe("what each operator computes", () => {
  it("average pooling averages f x f blocks; its singular values are 1/f", () => {
    const op = averagePool([1, 4, 4], 2);
    const x = Float64Array.from({ length: 16 }, (_, i) => i);
    expect(Array.from(op.A(x, 1))).toEqual([2.5, 4.5, 10.5, 12.5]);
    expect(Array.from(op.singulars)).toEqual([0.5, 0.5, 0.5, 0.5]);
  });

  it("colour to gray averages the channels of each pixel", () => {
    const op = colorToGray([3, 1, 2]);
    expect(Array.from(op.A([1, 2, 4, 5, 7, 11], 1))).toEqual([4, 6]);
  });

  it("the mask keeps the 1s in order and its A^T fills the rest with 0", () => {
    const op = maskOperator([1, 1, 4], [0, 1, 0, 1]);
    expect(Array.from(op.A([5, 6, 7, 8], 1))).toEqual([6, 8]);
    expect(Array.from(op.At([6, 8], 1))).toEqual([0, 6, 0, 8]);
  });

  it("the blur keeps constants (the kernel sums to 1 and the boundary mirrors), and its largest singular value is 1", () => {
    const op = gaussianBlur([1, 6, 5], 1.5);
    const c = op.A(new Float64Array(30).fill(2), 1);
    for (const v of c) expect(v).toBeCloseTo(2, 12);
    expect(Math.max(...op.singulars)).toBeCloseTo(1, 12);
    const t = gaussianTaps(1.5);
    expect(t[0] + 2 * t.slice(1).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 14);
  });

  it("the blur mirrors about the edge (x_{-1} = x_0): a spike at a corner spreads as if reflected", () => {
    const op = gaussianBlur([1, 1, 8], 1);
    const t = gaussianTaps(1);
    const e = new Float64Array(8);
    e[0] = 1;
    const out = op.A(e, 1);
    // a 1 x 8 image: the vertical pass sees one row mirrored onto itself (sum of taps = 1)
    expect(out[0]).toBeCloseTo(t[0] + t[1], 12); // x_0 receives itself and its mirror x_{-1} = x_0
    expect(out[1]).toBeCloseTo(t[1] + t[2], 12);
  });
});

describe("bad arguments are one-line errors naming the value", () => {
  it("a pooling factor that does not divide the size lists the allowed ones", () => {
    expectArgumentError(() => averagePool([1, 28, 28], 3), "factor", /allowed: 1, 2, 4, 7, 14, 28/);
  });
  it("a one-channel image cannot be colour", () => {
    expectArgumentError(() => colorToGray([1, 28, 28]), "shape", /2 or more channels/);
  });
  it("a mask of the wrong size or with values other than 0 and 1", () => {
    expectArgumentError(() => maskOperator([1, 2, 2], [1, 0, 1]), "mask", /4 values/);
    expectArgumentError(() => maskOperator([1, 2, 2], [1, 0, 0.5, 1]), "mask[2]", /0 \(fill in\) or 1 \(keep\)/);
  });
  it("a blur sigma of 0 and an x of the wrong size", () => {
    expectArgumentError(() => gaussianBlur([1, 4, 4], 0), "sigma");
    expectArgumentError(() => averagePool([1, 4, 4], 2).A(new Float64Array(15), 1), "x");
  });
});
