// What the inverse-problem solvers share: the measurement's checks, and its spectral form ȳ = Σ^+ U^T y.

import { ArgumentError, finite, int } from "../validate.ts";
import type { LinearOperator } from "./operators.ts";

/** Options every solver takes besides the sampler options: the operator and the measurement. */
export interface MeasurementOptions {
  /** The operator A; x's items must have A.inSize values. */
  operator: LinearOperator;
  /** The measurement y = A x + sigmaY n, batch items of A.outSize values (one per item of x). */
  y: ArrayLike<number>;
  /** The standard deviation of the measurement noise, >= 0. Default 0 (noiseless). */
  sigmaY?: number;
}

/** Check operator, y and sigmaY against a batch of `batch` items of `size` values. */
export function checkMeasurement(opts: MeasurementOptions, batch: number, size: number): { op: LinearOperator; y: Float64Array; sigmaY: number } {
  if (!opts || typeof opts !== "object") throw new ArgumentError("opts", "must give operator and y");
  const op = opts.operator;
  if (!op || typeof op.A !== "function" || typeof op.Vt !== "function") throw new ArgumentError("operator", "must be a LinearOperator (averagePool, gaussianBlur, maskOperator, colorToGray)");
  if (op.inSize !== size) throw new ArgumentError("operator", `takes items of ${op.inSize} values (${op.inShape.join("x")}), but x's items have ${size}`);
  const y = opts.y;
  if (!y || typeof y.length !== "number") throw new ArgumentError("y", "must be an array of numbers");
  if (y.length !== batch * op.outSize) {
    throw new ArgumentError("y", `must hold ${batch} items of ${op.outSize} values (${op.outShape.join("x")}), got ${y.length} values`);
  }
  const yy = Float64Array.from(y);
  for (let i = 0; i < yy.length; i++) finite(`y[${i}]`, yy[i]);
  const sigmaY = finite("sigmaY", opts.sigmaY ?? 0);
  if (sigmaY < 0) throw new ArgumentError("sigmaY", `must be >= 0, got ${sigmaY}`);
  int("batch", batch, 1);
  return { op, y: yy, sigmaY };
}

/** ȳ = Σ^+ U^T y per item (outSize values each; 0 where s_i = 0). */
export function spectralMeasurement(op: LinearOperator, y: Float64Array, batch: number): Float64Array {
  const ybar = op.Ut(y, batch);
  const s = op.singulars;
  for (let b = 0; b < batch; b++) for (let i = 0; i < op.outSize; i++) ybar[b * op.outSize + i] = s[i] > 0 ? ybar[b * op.outSize + i] / s[i] : 0;
  return ybar;
}

/** ||A x - y|| per item: the consistency of a result with its measurement. */
export function residualNorms(op: LinearOperator, x: ArrayLike<number>, y: ArrayLike<number>, batch: number): Float64Array {
  const ax = op.A(x, batch);
  const out = new Float64Array(batch);
  for (let b = 0; b < batch; b++) {
    let s = 0;
    for (let i = b * op.outSize; i < (b + 1) * op.outSize; i++) s += (ax[i] - y[i]) ** 2;
    out[b] = Math.sqrt(s);
  }
  return out;
}
