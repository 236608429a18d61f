// SA-Solver (Xue et al. 2023, "SA-Solver: Stochastic Adams Solver for Fast Sampling of Diffusion
// Models"): a stochastic multistep predictor-corrector for the reverse SDE family whose noise scale is
// tau (tau = 0 the probability-flow ODE, tau = 1 the reverse diffusion SDE). The model outputs are fitted
// by a Lagrange polynomial in lambda = log(alpha / sigma) and integrated against the exponential weight
// of the variation-of-constants formula (eq. 14 / 15 for the data prediction, 16 / 17 for the noise).

import { dexp, dexpm1 } from "../math/detmath.ts";
import { ArgumentError, int } from "../validate.ts";
import { type Denoiser, Loop, type SamplerOptions, type SamplerResult } from "./common.ts";
import { combine, History, lambdaOf, type Node, veNode } from "./exp-integrator.ts";

/** The coefficients (highest degree first) of the Lagrange basis polynomial of `xs` that is 1 at xs[i]. */
function lagrangeBasis(xs: readonly number[], i: number): number[] {
  let poly = [1];
  let denom = 1;
  xs.forEach((xj, j) => {
    if (j === i) return;
    // poly * (x - xj)
    const next = new Array<number>(poly.length + 1).fill(0);
    poly.forEach((c, k) => {
      next[k] += c;
      next[k + 1] -= c * xj;
    });
    poly = next;
    denom *= xs[i] - xj;
  });
  return poly.map((c) => c / denom);
}

/** The integral of x^k e^{c x} over [a, b]: [e^{c x} sum_j (-1)^j k!/(k-j)! x^{k-j} / c^{j+1}]_a^b. */
function expMoment(k: number, c: number, a: number, b: number): number {
  const anti = (x: number) => {
    let s = 0;
    let f = 1; // k! / (k - j)!
    for (let j = 0; j <= k; j++) {
      s += ((j % 2 === 0 ? 1 : -1) * f * x ** (k - j)) / c ** (j + 1);
      f *= k - j;
    }
    return dexp(c * x) * s;
  };
  return anti(b) - anti(a);
}

/** The form SA-Solver integrates: the data prediction x0 (default) or the noise eps. */
export interface SaForm {
  predictX0: boolean;
}

/**
 * One SA-Solver update into `out`, from x at `from` to `target` with noise scale tau and standard normal
 * `noise`. The model outputs ms (x0 or eps per `form`, newest first) sit at `nodes`: the predictor
 * (SA-Predictor, eq. 14) uses nodes [from, older...]; the corrector (SA-Corrector, eq. 15) uses
 * [target, from, older...] with the output at the target first and the predictor's noise. The
 * data-prediction form of order 2 adds diffusers' O(h^3) term (as UniPC does), which keeps the order.
 */
export function saUpdate(
  out: Float32Array,
  x: ArrayLike<number>,
  ms: readonly ArrayLike<number>[],
  nodes: readonly Node[],
  from: Node,
  target: Node,
  tau: number,
  noise: ArrayLike<number> | null,
  form: SaForm,
): Float32Array {
  const p = nodes.length;
  if (ms.length !== p) throw new ArgumentError("ms", `must hold one model output per node (${p}), got ${ms.length}`);
  if (!(tau >= 0 && Number.isFinite(tau))) throw new ArgumentError("tau", `must be finite and >= 0, got ${tau}`);
  const t2 = tau * tau;
  const c = 1 + t2;
  const w = new Array<number>(p).fill(0);
  let a: number;
  let noiseScale: number;
  if (target.sigma === 0) {
    // the limit lambda_t -> Infinity, defined for order 1 only (the polynomial diverges otherwise)
    if (p !== 1) throw new ArgumentError("order", "must be 1 for the step to sigma = 0 (lambda is infinite there)");
    if (form.predictX0) {
      a = 0;
      w[0] = target.alpha;
      noiseScale = 0;
    } else {
      const r = target.alpha / from.alpha;
      a = r;
      w[0] = -c * r * from.sigma;
      noiseScale = tau * r * from.sigma;
    }
  } else {
    const ls = lambdaOf(from);
    const lt = lambdaOf(target);
    const h = lt - ls;
    const lams = nodes.map(lambdaOf);
    const coef = lams.map((_, i) => {
      const basis = lagrangeBasis(lams, i);
      return basis.reduce((s, b, j) => s + b * expMoment(p - 1 - j, form.predictX0 ? c : -1, ls, lt), 0);
    });
    if (form.predictX0 && p === 2) {
      // diffusers' extra O(h^3) term on the two newest outputs, over the spacing of their nodes
      const extra = (dexp(c * lt) * ((h * h) / 2 - (h * c - 1 + dexp(-c * h)) / (c * c))) / (lams[0] - lams[1]);
      coef[0] += extra;
      coef[1] -= extra;
    }
    if (form.predictX0) {
      a = dexp(-t2 * h) * (target.sigma / from.sigma);
      const g = c * target.sigma * dexp(-t2 * lt);
      coef.forEach((k, i) => (w[i] = g * k));
      noiseScale = target.sigma * Math.sqrt(-dexpm1(-2 * t2 * h));
    } else {
      a = target.alpha / from.alpha;
      coef.forEach((k, i) => (w[i] = -c * target.alpha * k));
      noiseScale = tau * target.sigma * Math.sqrt(dexpm1(2 * h));
    }
  }
  const weights = [a, ...w];
  const inputs: ArrayLike<number>[] = [x, ...ms];
  if (noiseScale !== 0) {
    if (noise === null) throw new ArgumentError("noise", `is needed: the step has noise scale ${noiseScale} (tau = ${tau})`);
    weights.push(noiseScale);
    inputs.push(noise);
  }
  return combine(out, weights, inputs);
}

/**
 * The predictor and corrector orders of step i of `steps` (diffusers' rule): at most the configured ones,
 * warmed up by the outputs available (`done` steps before this one), lowered at the end with
 * lowerOrderFinal.
 */
export function saOrders(predictor: number, corrector: number, i: number, steps: number, done: number, lowerOrderFinal: boolean): [number, number] {
  let p = predictor;
  let c = corrector;
  if (lowerOrderFinal) {
    p = Math.min(p, steps - i);
    c = Math.min(c, steps - i + 1);
  }
  return [Math.min(p, done + 1), Math.min(c, done + 2)];
}

export interface SaSolverOptions extends SamplerOptions {
  /** Predictor order 1-4 (default 2, diffusers' default). */
  predictorOrder?: number;
  /** Corrector order 1-4 (default 2); 1 corrects with the new output alone. */
  correctorOrder?: number;
  /** Noise scale tau: a number, or a function of the step's sigma. Default 1 (the reverse SDE). */
  tau?: number | ((sigma: number) => number);
  /** Integrate the data prediction (default) or the noise prediction. */
  predictX0?: boolean;
  lowerOrderFinal?: boolean;
}

/**
 * SA-Solver (Xue et al. 2023) Alg. 1, SA-Predictor then SA-Corrector after each evaluation, on the
 * library's VE sigmas. Step i draws its noise from rng.stream(i); the corrector of step i + 1 reuses it.
 * Carries the last outputs, the sample before the last predictor, its noise and orders.
 */
export function sampleSaSolver(denoiser: Denoiser, x: Float32Array, sigmas: ArrayLike<number>, opts: SaSolverOptions = {}): SamplerResult {
  const pOrder = int("predictorOrder", opts.predictorOrder ?? 2, 1, 4);
  const cOrder = int("correctorOrder", opts.correctorOrder ?? 2, 1, 4);
  const tauOpt = opts.tau ?? 1;
  if (typeof tauOpt !== "function" && !(typeof tauOpt === "number" && tauOpt >= 0 && Number.isFinite(tauOpt))) {
    throw new ArgumentError("tau", `must be a number >= 0 or a function of sigma, got ${String(tauOpt)}`);
  }
  const tauAt = (s: number) => (typeof tauOpt === "function" ? tauOpt(s) : tauOpt);
  const form: SaForm = { predictX0: opts.predictX0 ?? true };
  const lowerOrderFinal = opts.lowerOrderFinal ?? true;
  const stochastic = typeof tauOpt === "function" || tauOpt > 0;
  const loop = new Loop("sa_solver", denoiser, x, sigmas, opts, stochastic);
  const n = loop.x.length;
  const keep = Math.max(pOrder, cOrder - 1);
  const hist = History.carried(loop, "m", Math.max(keep, 1), n);
  let last: Float32Array | Float64Array | null = loop.start > 0 ? loop.carriedArray("last", n) : null;
  let lastNoise: Float32Array | Float64Array | null = loop.carriedNumber("hasNoise", 0) === 1 ? loop.carriedArray("lastNoise", n) : null;
  let lastCorrector = loop.carriedNumber("lastCorrector", 0);
  let xc = loop.x;
  const node = (i: number) => veNode(loop.sigmas[i]);
  for (let i = loop.start; i < loop.end; i++) {
    const s = loop.sigmas[i];
    const den = loop.denoise(xc, s);
    let m: Float32Array = den;
    if (!form.predictX0) {
      m = new Float32Array(n);
      for (let j = 0; j < n; j++) m[j] = (xc[j] - den[j]) / s;
    }
    if (i > 0 && last !== null) {
      const q = lastCorrector;
      const nodes = Array.from({ length: q }, (_, k) => node(i - k));
      const ms = [m, ...hist.items.slice(0, q - 1)];
      xc = saUpdate(new Float32Array(n), last, ms, nodes, node(i - 1), node(i), tauAt(loop.sigmas[i - 1]), lastNoise, form);
    }
    hist.push(m);
    let [p, q] = saOrders(pOrder, cOrder, i, loop.steps, Math.min(i, keep), lowerOrderFinal);
    if (loop.sigmas[i + 1] === 0) p = 1;
    const tau = tauAt(s);
    const z = tau > 0 ? loop.noise(i) : null;
    last = xc;
    lastNoise = z;
    lastCorrector = q;
    const nodes = Array.from({ length: p }, (_, k) => node(i - k));
    xc = saUpdate(new Float32Array(n), xc, hist.items.slice(0, p), nodes, node(i), node(i + 1), tau, z, form);
    loop.after(i, xc, den);
  }
  const carry = hist.toCarry("m", { last: last ? Array.from(last) : null, hasNoise: lastNoise ? 1 : 0, lastNoise: lastNoise ? Array.from(lastNoise) : null, lastCorrector });
  return loop.finish(xc, carry);
}
