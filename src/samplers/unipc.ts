// UniPC (Zhao et al. 2023, "UniPC: A Unified Predictor-Corrector Framework for Fast Sampling of
// Diffusion Models"): a multistep exponential integrator in lambda = log(alpha / sigma) whose predictor
// (UniP-p, eq. 8 / Alg. 2) is corrected after each model evaluation by UniC-p (eq. 9 / Alg. 1), which
// reuses that evaluation, so the order rises by one at no extra cost.

import { dexpm1 } from "../math/detmath.ts";
import { ArgumentError, int, oneOf } from "../validate.ts";
import { type Denoiser, Loop, type SamplerOptions, type SamplerResult } from "./common.ts";
import { combine, History, lambdaOf, type Node, solveSmall, veNode } from "./exp-integrator.ts";

/** UniPC's two forms of B(h) (sec. 3.2): bh1 = h, bh2 = e^h - 1. */
export type UniPcVariant = "bh1" | "bh2";

export interface UniPcForm {
  /** true: integrate the data prediction x0 (UniPC's "data prediction"), false: the noise eps. */
  predictX0: boolean;
  variant: UniPcVariant;
}

/** x_t = a x + sum_k w[k] m_k (+ wT m_t for the corrector): the update as weights on its inputs. */
export interface UniPcWeights {
  a: number;
  w: number[];
  wT: number;
}

/**
 * The weights of one UniP (predictor) or UniC (corrector) update from nodes[0] to `target`, of order
 * p = nodes.length, on model outputs m_k at nodes[k] (newest first; x0 or eps per `form`). The
 * predictor's extra terms fit the divided differences D_k = (m_k - m_0) / r_k with
 * r_k = (lambda_k - lambda_0) / h through the B(h) system of Alg. 1/2 (order 2 uses the paper's fixed
 * rho = 1/2); the corrector adds the output at the target, m_t, with the full system's last coefficient.
 * The step to sigma = 0 (lambda = Infinity) is defined for the first-order predictor only: x0 there.
 */
export function unipcWeights(nodes: readonly Node[], target: Node, form: UniPcForm, corrector: boolean): UniPcWeights {
  const p = nodes.length;
  if (p < 1) throw new ArgumentError("nodes", "must hold at least one node");
  const s0 = nodes[0];
  const scale = form.predictX0 ? target.alpha : target.sigma;
  const a = form.predictX0 ? target.sigma / s0.sigma : target.alpha / s0.alpha;
  const w = new Array<number>(p).fill(0);
  if (target.sigma === 0) {
    if (p !== 1 || corrector) throw new ArgumentError("order", "must be 1 for the step to sigma = 0 (h is infinite there)");
    // data form: x_t = alpha_t x0; noise form: x_t = (alpha_t / alpha_s)(x - sigma_s eps), the same point
    w[0] = form.predictX0 ? target.alpha : (-target.alpha * s0.sigma) / s0.alpha;
    return { a, w, wT: 0 };
  }
  const l0 = lambdaOf(s0);
  const h = lambdaOf(target) - l0;
  const rks: number[] = [];
  for (let k = 1; k < p; k++) rks.push((lambdaOf(nodes[k]) - l0) / h);
  rks.push(1);
  const hh = form.predictX0 ? -h : h;
  const hPhi1 = dexpm1(hh); // h phi_1(h) = e^h - 1
  const bh = form.variant === "bh1" ? hh : hPhi1;
  // R[i][k] = r_k^i, b_i = (i+1)! h phi_{i+1}(h) / B(h), phi_{k+1} from phi_k by the recurrence of eq. 7
  const R: number[][] = [];
  const b: number[] = [];
  let hPhiK = hPhi1 / hh - 1;
  let fact = 1;
  for (let i = 1; i <= p; i++) {
    R.push(rks.map((r) => r ** (i - 1)));
    b.push((hPhiK * fact) / bh);
    fact *= i + 1;
    hPhiK = hPhiK / hh - 1 / fact;
  }
  let rhos: number[];
  if (corrector) rhos = p === 1 ? [0.5] : solveSmall(R, b);
  else if (p === 1) rhos = [];
  else if (p === 2) rhos = [0.5];
  else rhos = solveSmall(R.slice(0, p - 1).map((row) => row.slice(0, p - 1)), b.slice(0, p - 1));
  w[0] = -scale * hPhi1;
  const c = scale * bh;
  for (let k = 1; k < p; k++) {
    const rho = rhos[k - 1] / rks[k - 1];
    w[k] -= c * rho;
    w[0] += c * rho;
  }
  let wT = 0;
  if (corrector) {
    wT = -c * rhos[p - 1];
    w[0] += c * rhos[p - 1];
  }
  return { a, w, wT };
}

/**
 * One UniPC update into `out`: the predictor from x at nodes[0] to `target` with outputs ms (newest
 * first, one per node), or, given `mT` (the output at the target), the corrector of the sample the
 * previous predictor produced. Returns `out`.
 */
export function unipcUpdate(
  out: Float32Array,
  x: ArrayLike<number>,
  ms: readonly ArrayLike<number>[],
  nodes: readonly Node[],
  target: Node,
  form: UniPcForm,
  mT?: ArrayLike<number>,
): Float32Array {
  if (ms.length !== nodes.length) throw new ArgumentError("ms", `must hold one model output per node (${nodes.length}), got ${ms.length}`);
  const { a, w, wT } = unipcWeights(nodes, target, form, mT !== undefined);
  const weights = [a, ...w];
  const inputs: ArrayLike<number>[] = [x, ...ms];
  if (mT !== undefined) {
    weights.push(wT);
    inputs.push(mT);
  }
  return combine(out, weights, inputs);
}

export interface UniPcOptions extends SamplerOptions {
  /** Predictor order p (UniPC-p; the corrector makes it p + 1). Default 2 (diffusers' default). */
  order?: number;
  /** "bh2" (default, diffusers' default) or "bh1" (the paper's choice for unconditional few-step sampling). */
  variant?: UniPcVariant;
  /** Integrate x0 (default, as diffusers' predict_x0) or eps. */
  predictX0?: boolean;
  /** Lower the order on the last steps (diffusers' lower_order_final, default true). */
  lowerOrderFinal?: boolean;
  /** Steps whose following correction is skipped (diffusers' disable_corrector: step i - 1 disables UniC at step i). */
  disableCorrector?: readonly number[];
}

/**
 * UniPC (Zhao et al. 2023) Alg. 3, multistep UniP-p with UniC after every model evaluation, on the
 * library's VE sigmas (alpha = 1, lambda = -log sigma). The first steps warm up with lower orders, the
 * step to sigma = 0 is first order (it returns the x0 estimate). Carries the last outputs, the sample
 * before the last predictor and that predictor's order.
 */
export function sampleUniPc(denoiser: Denoiser, x: Float32Array, sigmas: ArrayLike<number>, opts: UniPcOptions = {}): SamplerResult {
  const order = int("order", opts.order ?? 2, 1, 4);
  const form: UniPcForm = {
    variant: oneOf("variant", opts.variant ?? "bh2", ["bh1", "bh2"] as const),
    predictX0: opts.predictX0 ?? true,
  };
  if (typeof form.predictX0 !== "boolean") throw new ArgumentError("predictX0", "must be a boolean");
  const lowerOrderFinal = opts.lowerOrderFinal ?? true;
  const disable = opts.disableCorrector ?? [];
  if (!Array.isArray(disable) || disable.some((d) => !Number.isInteger(d))) throw new ArgumentError("disableCorrector", "must be an array of step indices");
  const loop = new Loop("unipc", denoiser, x, sigmas, opts, false);
  const n = loop.x.length;
  const hist = History.carried(loop, "m", order, n);
  let last: Float32Array | Float64Array | null = loop.start > 0 ? loop.carriedArray("last", n) : null;
  let lastOrder = loop.carriedNumber("lastOrder", 0);
  let xc = loop.x;
  const node = (i: number) => veNode(loop.sigmas[i]);
  for (let i = loop.start; i < loop.end; i++) {
    const s = loop.sigmas[i];
    const den = loop.denoise(xc, s);
    let m: Float32Array = den;
    if (!form.predictX0) {
      m = new Float32Array(n);
      for (let j = 0; j < n; j++) m[j] = (xc[j] - den[j]) / s; // eps = (x - x0) / sigma
    }
    // UniC: correct the predictor's sample with the output just computed there (Alg. 1)
    if (i > 0 && last !== null && !disable.includes(i - 1)) {
      const nodes = Array.from({ length: lastOrder }, (_, k) => node(i - 1 - k));
      xc = unipcUpdate(new Float32Array(n), last, hist.items.slice(0, lastOrder), nodes, node(i), form, m);
    }
    hist.push(m);
    let p = Math.min(lowerOrderFinal ? Math.min(order, loop.steps - i) : order, hist.length);
    if (loop.sigmas[i + 1] === 0) p = 1;
    last = xc;
    lastOrder = p;
    const nodes = Array.from({ length: p }, (_, k) => node(i - k));
    xc = unipcUpdate(new Float32Array(n), last, hist.items.slice(0, p), nodes, node(i + 1), form);
    loop.after(i, xc, den);
  }
  const carry = hist.toCarry("m", { lastOrder, last: last ? Array.from(last) : null });
  return loop.finish(xc, carry);
}
