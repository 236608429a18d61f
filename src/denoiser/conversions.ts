// Parameterizations of a network's output, and every conversion between them, in one place.
//
// With x = alpha x0 + sigma eps (any schedule), each kind is a linear combination k0 x0 + k1 eps:
//   x0    = (1, 0)
//   eps   = (0, 1)
//   v     = (-sigma, alpha)        v = alpha eps - sigma x0  (Salimans & Ho 2022, "progressive distillation")
//   score = (0, -1/sigma)          grad log q(x_t | x_0) = -eps / sigma  (Song et al. 2021; Vincent 2011)
//   flow  = (-1, 1)                v_flow = eps - x0, the rectified-flow velocity dx_t/dt on the path
//                                  x_t = (1 - t) x0 + t eps (Liu et al. 2023; Lipman et al. 2023; SD3)
// Given x and a prediction p of kind F, solve [alpha sigma; f0 f1] [x0; eps] = [x; p] and recombine as
// kind G: out = cx x + cp p. One formula covers all 16 conversions, so they cannot drift apart; every
// wrapper and preconditioner of this folder takes its coefficients from here (vpToX0 for VP networks).

import type { PerItem } from "../process.ts";
import { ArgumentError, f32, finite, itemSize, oneOf, sameLength } from "../validate.ts";

export type Prediction = "eps" | "x0" | "v" | "score" | "flow";
export const PREDICTIONS: readonly Prediction[] = ["eps", "x0", "v", "score", "flow"];

function basis(kind: Prediction, alpha: number, sigma: number): [number, number] {
  switch (kind) {
    case "x0":
      return [1, 0];
    case "eps":
      return [0, 1];
    case "v":
      return [-sigma, alpha];
    case "score":
      return [0, -1 / sigma];
    case "flow":
      return [-1, 1];
  }
}

/**
 * Coefficients (cx, cp) with to = cx x + cp pred, where pred is of kind `from`, at (alpha, sigma).
 * Throws where the conversion is undefined (eps or score at sigma = 0, x0 from eps at alpha = 0).
 */
export function conversionCoefficients(from: Prediction, to: Prediction, alpha: number, sigma: number): [number, number] {
  oneOf("from", from, PREDICTIONS);
  oneOf("to", to, PREDICTIONS);
  finite("alpha", alpha);
  finite("sigma", sigma);
  if (alpha < 0 || sigma < 0) throw new ArgumentError(alpha < 0 ? "alpha" : "sigma", "must be >= 0");
  if (from === to) return [0, 1];
  if (sigma === 0 && (from === "score" || to === "score")) {
    throw new ArgumentError("sigma", "must be > 0 for a score conversion (the score is -eps/sigma)");
  }
  const [f0, f1] = basis(from, alpha, sigma);
  const [g0, g1] = basis(to, alpha, sigma);
  const det = alpha * f1 - sigma * f0;
  if (det === 0 || !Number.isFinite(det)) {
    throw new ArgumentError(
      from === "eps" ? "alpha" : "sigma",
      `${from} -> ${to} is undefined at alpha = ${alpha}, sigma = ${sigma} (the prediction does not determine x0)`,
    );
  }
  return [(g0 * f1 - g1 * f0) / det, (g1 * alpha - g0 * sigma) / det];
}

/**
 * Convert a batch of predictions of kind `from` to kind `to`, given x_t and per-item alpha and sigma.
 * Scalar coefficients are float64; the data stay float32.
 */
export function convertPrediction(
  pred: Float32Array,
  from: Prediction,
  to: Prediction,
  x: Float32Array,
  alpha: PerItem,
  sigma: PerItem,
  batch = 1,
  out?: Float32Array,
): Float32Array {
  f32("pred", pred);
  f32("x", x);
  sameLength("x", x, "pred", pred);
  const n = itemSize("pred", pred, batch);
  const y = out === undefined ? new Float32Array(pred.length) : f32("out", out);
  sameLength("pred", pred, "out", y);
  for (const [arg, v] of [["alpha", alpha], ["sigma", sigma]] as const) {
    if (typeof v !== "number" && v.length !== batch) {
      throw new ArgumentError(arg, `must be a number or have one value per batch item (${batch}), got length ${v.length}`);
    }
  }
  for (let b = 0; b < batch; b++) {
    const a = typeof alpha === "number" ? alpha : alpha[b];
    const s = typeof sigma === "number" ? sigma : sigma[b];
    const [cx, cp] = conversionCoefficients(from, to, a, s);
    for (let i = b * n; i < (b + 1) * n; i++) y[i] = cx * x[i] + cp * pred[i];
  }
  return y;
}

/**
 * alpha and sigma of the VP process whose VE-space noise level is sigmaVe (x_ve = x_vp / alpha,
 * sigmaVe = sigma / alpha, alpha^2 + sigma^2 = 1): how a VP network is called from a VE-space sampler.
 */
export function vpFromVeSigma(sigmaVe: number): { alpha: number; sigma: number } {
  const alpha = 1 / veScale(sigmaVe);
  return { alpha, sigma: sigmaVe * alpha };
}

/** 1 / alpha = sqrt(1 + sigmaVe^2): the factor from a VP sample to the VE one at the same level (x_ve = x_vp / alpha). */
export function veScale(sigmaVe: number): number {
  finite("sigmaVe", sigmaVe);
  if (sigmaVe < 0) throw new ArgumentError("sigmaVe", `must be >= 0, got ${sigmaVe}`);
  return Math.sqrt(1 + sigmaVe * sigmaVe);
}

/**
 * How a VP network is read from a VE-space sampler: at VE level sigmaVe it sees x_vp = alpha x (alpha and
 * sigma from vpFromVeSigma), predicts `kind` in its own (VP) terms, and x0 = cx x_vp + cp pred. The one
 * VP conversion: the VP preconditioner, the prediction wrapper and diffusers' wrapper all read it here.
 */
export function vpToX0(kind: Prediction, sigmaVe: number): { alpha: number; sigma: number; cx: number; cp: number } {
  const { alpha, sigma } = vpFromVeSigma(sigmaVe);
  const [cx, cp] = conversionCoefficients(kind, "x0", alpha, sigma);
  return { alpha, sigma, cx, cp };
}

/**
 * alpha and sigma of the rectified-flow point whose VE-space noise level is sigmaVe: t = sigmaVe / (1 + sigmaVe),
 * alpha = 1 - t = 1 / (1 + sigmaVe), sigma = t (x_t = alpha x_ve): how a flow network is called from a VE sampler.
 */
export function flowFromVeSigma(sigmaVe: number): { alpha: number; sigma: number } {
  finite("sigmaVe", sigmaVe);
  if (sigmaVe < 0) throw new ArgumentError("sigmaVe", `must be >= 0, got ${sigmaVe}`);
  const alpha = 1 / (1 + sigmaVe);
  return { alpha, sigma: sigmaVe * alpha };
}

/**
 * How a flow-path network is read from a VE-space sampler (the flow twin of vpToX0): at VE level sigmaVe it
 * sees x_t = alpha x, predicts `kind` in flow terms, and x0 = cx x_t + cp pred (for the velocity: x0 = x_t - t v).
 */
export function flowToX0(kind: Prediction, sigmaVe: number): { alpha: number; sigma: number; cx: number; cp: number } {
  const { alpha, sigma } = flowFromVeSigma(sigmaVe);
  const [cx, cp] = conversionCoefficients(kind, "x0", alpha, sigma);
  return { alpha, sigma, cx, cp };
}
