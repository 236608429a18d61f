// DEIS (Zhang & Chen 2023, "Fast Sampling of Diffusion Models with Exponential Integrator"), the
// multistep "log-rho" variant diffusers ships: in rho = sigma / alpha (the VE noise level) the
// probability-flow ODE is d(x / alpha) = eps d rho (eq. 8 with the exponential integrator's change of
// variables), and the eps history is fitted by a Lagrange polynomial in log rho whose integral over
// [rho_s, rho_t] has a closed form (the paper's AB-DEIS with the fit moved from t to log rho).

import { dlog } from "../math/detmath.ts";
import { ArgumentError, int } from "../validate.ts";
import { type Denoiser, Loop, type SamplerOptions, type SamplerResult } from "./common.ts";
import { combine, History, type Node, veNode } from "./exp-integrator.ts";

/**
 * Integral over rho of the Lagrange basis polynomial in L = log rho through the nodes' log rho values,
 * the one equal to 1 at `own` and 0 at `others`, from rho_s to rho_t. Antiderivatives (d/dt of each is the
 * integrand): order 2, t (L - 1 - lc) / (lb - lc); order 3, t (L^2 - 2L + 2 - (lc + ld)(L - 1) + lc ld)
 * / ((lb - lc)(lb - ld)).
 */
function basisIntegral(rhoS: number, rhoT: number, own: number, others: readonly number[]): number {
  const lb = dlog(own);
  const ls = others.map((o) => dlog(o));
  const anti = (t: number) => {
    const L = dlog(t);
    if (ls.length === 1) return (t * (L - 1 - ls[0])) / (lb - ls[0]);
    const [lc, ld] = ls;
    return (t * (L * L - 2 * L + 2 - (lc + ld) * (L - 1) + lc * ld)) / ((lb - lc) * (lb - ld));
  };
  return anti(rhoT) - anti(rhoS);
}

/**
 * The coefficients c_k of one DEIS step from nodes[0] to `target`, of order nodes.length (1 to 3):
 * x_t / alpha_t = x / alpha_s + sum_k c_k eps_k, eps_k the noise predictions at nodes[k] (newest first).
 * Order 1 is DDIM (c = rho_t - rho_s); it is the only order defined for the step to rho = 0.
 */
export function deisCoefficients(nodes: readonly Node[], target: Node): number[] {
  const rho = (n: Node) => n.sigma / n.alpha;
  const r = nodes.map(rho);
  const rt = rho(target);
  const p = nodes.length;
  if (p === 1) return [rt - r[0]];
  if (p > 3) throw new ArgumentError("order", `must be 1, 2 or 3, got ${p}`);
  if (rt === 0) throw new ArgumentError("order", "must be 1 for the step to sigma = 0 (log rho is -Infinity there)");
  return r.map((own, k) => basisIntegral(r[0], rt, own, r.filter((_, j) => j !== k)));
}

/** One DEIS step into `out`: x at nodes[0], eps predictions (newest first, one per node) -> the sample at `target`. */
export function deisUpdate(out: Float32Array, x: ArrayLike<number>, eps: readonly ArrayLike<number>[], nodes: readonly Node[], target: Node): Float32Array {
  if (eps.length !== nodes.length) throw new ArgumentError("eps", `must hold one noise prediction per node (${nodes.length}), got ${eps.length}`);
  const c = deisCoefficients(nodes, target);
  const at = target.alpha;
  return combine(out, [at / nodes[0].alpha, ...c.map((ck) => at * ck)], [x, ...eps]);
}

export interface DeisOptions extends SamplerOptions {
  /** Multistep order 1 (DDIM), 2 or 3. Default 2 (diffusers' default). */
  order?: number;
  /** Lower the order on the last two steps of a run of fewer than 15 (diffusers' lower_order_final, default true). */
  lowerOrderFinal?: boolean;
}

/**
 * DEIS (Zhang & Chen 2023), multistep log-rho AB-DEIS, on the library's VE sigmas (rho = sigma): warms up
 * with lower orders and takes the step to sigma = 0 at order 1 (it returns the x0 estimate). Carries the
 * last noise predictions.
 */
export function sampleDeis(denoiser: Denoiser, x: Float32Array, sigmas: ArrayLike<number>, opts: DeisOptions = {}): SamplerResult {
  const order = int("order", opts.order ?? 2, 1, 3);
  const lowerOrderFinal = opts.lowerOrderFinal ?? true;
  if (typeof lowerOrderFinal !== "boolean") throw new ArgumentError("lowerOrderFinal", "must be a boolean");
  const loop = new Loop("deis", denoiser, x, sigmas, opts, false);
  const n = loop.x.length;
  const hist = History.carried(loop, "eps", order, n);
  let xc = loop.x;
  for (let i = loop.start; i < loop.end; i++) {
    const s = loop.sigmas[i];
    const den = loop.denoise(xc, s);
    const eps = new Float32Array(n);
    for (let j = 0; j < n; j++) eps[j] = (xc[j] - den[j]) / s;
    hist.push(eps);
    const p = deisOrder(order, hist.length, i, loop.steps, lowerOrderFinal, loop.sigmas[i + 1] === 0);
    const nodes = Array.from({ length: p }, (_, k) => veNode(loop.sigmas[i - k]));
    xc = deisUpdate(new Float32Array(n), xc, hist.items.slice(0, p), nodes, veNode(loop.sigmas[i + 1]));
    loop.after(i, xc, den);
  }
  return loop.finish(xc, hist.toCarry("eps"));
}

/**
 * The order of step i of `steps` (diffusers' rule): at most `order` and the outputs available; with
 * lowerOrderFinal and fewer than 15 steps, 1 on the last step and at most 2 on the one before.
 */
export function deisOrder(order: number, available: number, i: number, steps: number, lowerOrderFinal: boolean, toZero: boolean): number {
  let p = Math.min(order, available);
  if (lowerOrderFinal && steps < 15) {
    if (i === steps - 1) p = 1;
    else if (i === steps - 2) p = Math.min(p, 2);
  }
  return toZero ? 1 : p;
}
