// One step of the multistep DPM-Solver family, written once for the library's samplers (dpmpp_2m,
// dpmpp_2m_sde, dpm_solver, dpmpp_3m_sde) and for diffusers' DPMSolverMultistepScheduler (and its inverse).
//
// VE form. In the library's notation x = x0 + sigma n, lambda = -log sigma. A VP solver step of
// Lu et al. on x_vp = alpha x (alpha = 1 / sqrt(1 + sigma^2)) divided by alpha_t is this step: every
// coefficient of the papers' updates, divided by alpha_t, is a function of sigma, sigma' alone
// (sigma_t / sigma_s / (alpha_t / alpha_s) = sigma' / sigma, sigma_t (e^h - 1) / alpha_t = sigma - sigma',
// sigma_t sqrt(e^{2h} - 1) / alpha_t = sqrt(sigma^2 - sigma'^2)), so diffusers' scheduler converts its
// sample to VE, calls this, and converts back.
//
// Data prediction ("++", Lu et al. 2022b, "DPM-Solver++", Alg. 1/2 and eq. 9-10 for 2M; the 3rd-order
// multistep and "heun" second-order forms follow DPM-Solver's Taylor terms on the x0 estimates), noise
// prediction (Lu et al. 2022a, "DPM-Solver", sec. 3.3 and App. B multistep forms), and the SDE variants
// (DPM-Solver++ paper sec. 5: the reverse SDE's exponential integrator, with fresh noise each step).

import { dexp, dexpm1, dlog } from "../math/detmath.ts";
import { ArgumentError } from "../validate.ts";

export type DpmAlgorithm = "dpmsolver++" | "dpmsolver" | "sde-dpmsolver++" | "sde-dpmsolver";
export type DpmSolverType = "midpoint" | "heun";

export interface DpmStepArgs {
  algorithm: DpmAlgorithm;
  /** How the 2nd-order term is formed (diffusers' solver_type); the 3rd order has one form. */
  solverType: DpmSolverType;
  /** 1, 2 or 3; the caller lowers it where history is missing (first steps, lower_order_final). */
  order: number;
  sigma: number;
  sigmaNext: number;
  /**
   * The previous steps' sizes in lambda = -log sigma, newest first: hPrev[0] = lambda_s0 - lambda_s1
   * (order >= 2), hPrev[1] = lambda_s1 - lambda_s2 (order 3).
   */
  hPrev: readonly number[];
  /**
   * Model outputs, newest first (m0 at sigma, m1 at the previous sigma, ...): x0 estimates for the "++"
   * algorithms, noise estimates eps for the others.
   */
  outputs: readonly ArrayLike<number>[];
  /** Standard normal noise for the SDE algorithms (unused by the ODE ones). */
  noise?: ArrayLike<number> | null;
  /** SDE "++" only: noise scale eta (1 = Lu et al.'s SDE, 0 = the ODE solver) and s_noise (k-diffusion). */
  eta?: number;
  sNoise?: number;
}

/** lambda_s - lambda_t = log(sigma) - log(sigma') for a step sigma -> sigma' (the step size h). */
export function dpmStepSize(sigma: number, sigmaNext: number): number {
  return dlog(sigma) - dlog(sigmaNext);
}

/**
 * One multistep DPM-Solver step from x at args.sigma to args.sigmaNext, written into `out` (same length
 * as x). A Float32Array `out` rounds each stage as the library's samplers always have; a Float64Array
 * keeps the sum in float64 (the diffusers scheduler rounds once, after converting back to VP).
 *
 * The step to sigma' = 0 is the first-order limit (h = infinity): x0 for the data-prediction forms,
 * x - sigma eps for the noise-prediction forms; higher-order terms are not defined there.
 */
export function dpmSolverStep(out: Float32Array | Float64Array, x: ArrayLike<number>, a: DpmStepArgs): void {
  const n = out.length;
  const order = a.order;
  if (!(order === 1 || order === 2 || order === 3)) throw new ArgumentError("order", `must be 1, 2 or 3, got ${order}`);
  if (a.outputs.length < order) throw new ArgumentError("outputs", `must hold ${order} model outputs for a step of order ${order}, got ${a.outputs.length}`);
  if (a.hPrev.length < order - 1) throw new ArgumentError("hPrev", `must hold ${order - 1} previous step sizes for order ${order}, got ${a.hPrev.length}`);
  for (const m of a.outputs) if (m.length !== n) throw new ArgumentError("outputs", `must each hold ${n} values, got ${m.length}`);
  const s = a.sigma;
  const sn = a.sigmaNext;
  const m0 = a.outputs[0];
  const sde = a.algorithm === "sde-dpmsolver++" || a.algorithm === "sde-dpmsolver";
  const z = a.noise ?? null;
  if (sde && (a.eta ?? 1) > 0 && sn > 0 && (z === null || z.length !== n)) {
    throw new ArgumentError("noise", `must hold ${n} standard normals for a step of ${a.algorithm}, got ${z === null ? "none" : z.length}`);
  }
  if (a.algorithm === "dpmsolver++" || a.algorithm === "sde-dpmsolver++") {
    if (sn === 0) {
      for (let j = 0; j < n; j++) out[j] = m0[j];
      return;
    }
    if (a.algorithm === "dpmsolver++") dataOde(out, x, a, order);
    else dataSde(out, x, a, order, z as ArrayLike<number>);
    return;
  }
  if (sn === 0) {
    for (let j = 0; j < n; j++) out[j] = x[j] - s * m0[j];
    return;
  }
  noiseForm(out, x, a, order, sde, z);
}

/**
 * DPM-Solver++ on the ODE. With c = 1 - e^{-h}: 1st order x' = (sigma'/sigma) x + c D0 (= DDIM);
 * 2M midpoint (Alg. 2) x' = (sigma'/sigma) x + c ((1 + b) D0 - b D1), b = h / (2 h_prev);
 * "heun" adds (1 - c/h) (h / h_prev)(D0 - D1) instead of the midpoint term; 3M adds the Taylor terms of
 * D' and D'' estimated from three outputs.
 */
function dataOde(out: Float32Array | Float64Array, x: ArrayLike<number>, a: DpmStepArgs, order: number): void {
  const n = out.length;
  const s = a.sigma;
  const sn = a.sigmaNext;
  const h = dlog(s) - dlog(sn); // lambda_{i+1} - lambda_i
  const ratio = sn / s; // e^-h
  const c = -dexpm1(-h); // 1 - e^-h
  const [m0, m1, m2] = a.outputs;
  if (order === 1) {
    for (let j = 0; j < n; j++) out[j] = ratio * x[j] + c * m0[j];
  } else if (order === 2 && a.solverType === "midpoint") {
    const b = h / (2 * a.hPrev[0]); // 1 / (2 r), r = h_{i-1} / h_i
    const a1 = 1 + b;
    for (let j = 0; j < n; j++) out[j] = ratio * x[j] + c * (a1 * m0[j] - b * m1[j]);
  } else if (order === 2) {
    const k = (1 - c / h) * (h / a.hPrev[0]);
    for (let j = 0; j < n; j++) out[j] = ratio * x[j] + c * m0[j] + k * (m0[j] - m1[j]);
  } else {
    const [c1, c2, w0, w1] = thirdOrder(h, a.hPrev[0], a.hPrev[1]);
    const k1 = 1 - c / h; // coefficient of D1
    const k2 = -((h - c) / (h * h) - 0.5); // coefficient of D2
    for (let j = 0; j < n; j++) {
      const d10 = (m0[j] - m1[j]) * c1;
      const d11 = (m1[j] - m2[j]) * c2;
      out[j] = ratio * x[j] + c * m0[j] + k1 * (d10 + w0 * (d10 - d11)) + k2 * w1 * (d10 - d11);
    }
  }
}

/**
 * The 3rd-order differences (Lu et al. 2022a App. B, multistep): with r0 = h0/h, r1 = h1/h,
 * D1_0 = (m0 - m1)/r0, D1_1 = (m1 - m2)/r1, D1 = D1_0 + r0/(r0 + r1) (D1_0 - D1_1),
 * D2 = (D1_0 - D1_1)/(r0 + r1). Returns [1/r0, 1/r1, r0/(r0 + r1), 1/(r0 + r1)].
 */
function thirdOrder(h: number, h0: number, h1: number): [number, number, number, number] {
  const r0 = h0 / h;
  const r1 = h1 / h;
  return [1 / r0, 1 / r1, r0 / (r0 + r1), 1 / (r0 + r1)];
}

/**
 * DPM-Solver++ on the reverse SDE (k-diffusion's sample_dpmpp_2m_sde / sample_dpmpp_3m_sde form with
 * noise scale eta; eta = 1 is diffusers' sde-dpmsolver++): with h_eta = (1 + eta) h and
 * B = 1 - e^{-h_eta}, x' = (sigma'/sigma) e^{-eta h} x + B D0 [+ 2nd/3rd-order terms]
 * + sigma' sqrt(1 - e^{-2 eta h}) s_noise z. The 2nd-order term is B D1 / 2 ("midpoint") or phi2 D1
 * ("heun", phi2 = 1 - B / h_eta); the 3rd order (k-diffusion's 3M SDE) is phi2 D1 - phi3 D2 with
 * phi3 = phi2 / h_eta - 1/2. Each stage is written into `out`, so a Float32Array rounds after each, as
 * the library samplers always did.
 */
function dataSde(out: Float32Array | Float64Array, x: ArrayLike<number>, a: DpmStepArgs, order: number, z: ArrayLike<number>): void {
  const n = out.length;
  const s = a.sigma;
  const sn = a.sigmaNext;
  const eta = a.eta ?? 1;
  const sNoise = a.sNoise ?? 1;
  const [m0, m1, m2] = a.outputs;
  const h = dlog(s) - dlog(sn);
  const etaH = eta * h;
  const A = (sn / s) * dexp(-etaH);
  const B = -dexpm1(-h - etaH);
  for (let j = 0; j < n; j++) out[j] = A * x[j] + B * m0[j];
  if (order === 2) {
    const invR = h / a.hPrev[0];
    const c = a.solverType === "heun" ? (B / (-h - etaH) + 1) * invR : 0.5 * B * invR;
    for (let j = 0; j < n; j++) out[j] += c * (m0[j] - m1[j]);
  } else if (order === 3) {
    const [c1, c2, w0, w1] = thirdOrder(h, a.hPrev[0], a.hPrev[1]);
    const phi2 = B / (-h - etaH) + 1;
    const phi3 = phi2 / (h + etaH) - 0.5;
    for (let j = 0; j < n; j++) {
      const d10 = (m0[j] - m1[j]) * c1;
      const d11 = (m1[j] - m2[j]) * c2;
      out[j] += phi2 * (d10 + w0 * (d10 - d11)) - phi3 * w1 * (d10 - d11);
    }
  }
  if (eta > 0) {
    const sd = sn * Math.sqrt(-dexpm1(-2 * etaH)) * sNoise;
    for (let j = 0; j < n; j++) out[j] += sd * z[j];
  }
}

/**
 * DPM-Solver on noise predictions (Lu et al. 2022a): with E = sigma - sigma' = sigma'(e^h - 1),
 * 1st order x' = x - E eps0 (= DDIM); 2nd order midpoint x' = x - E (eps0 + D1/2), "heun"
 * x' = x - E eps0 - sigma'((e^h - 1)/h - 1) D1, D1 = (h/h0)(eps0 - eps1); 3rd order adds
 * -sigma'((e^h - 1 - h)/h^2 - 1/2) D2. The SDE variant ("sde-dpmsolver", Lu et al. 2022b sec. 5) doubles
 * the eps0 term (and the heun D1 term; the midpoint D1 term stays E D1), and adds sqrt(sigma^2 - sigma'^2) z.
 */
function noiseForm(
  out: Float32Array | Float64Array,
  x: ArrayLike<number>,
  a: DpmStepArgs,
  order: number,
  sde: boolean,
  z: ArrayLike<number> | null,
): void {
  const n = out.length;
  const s = a.sigma;
  const sn = a.sigmaNext;
  const h = dlog(s) - dlog(sn);
  const em1 = dexpm1(h);
  const E = sn * em1;
  const [m0, m1, m2] = a.outputs;
  const k0 = sde ? 2 * E : E;
  let k1 = 0;
  let k2 = 0;
  let w0 = 0;
  let w1 = 0;
  let c1 = 0;
  let c2 = 0;
  if (order === 2) {
    c1 = h / a.hPrev[0];
    k1 = a.solverType === "midpoint" ? (sde ? E : 0.5 * E) : (sde ? 2 : 1) * sn * (em1 / h - 1);
  } else if (order === 3) {
    if (sde) throw new ArgumentError("order", "the SDE solver has orders 1 and 2 (diffusers has no 3rd-order SDE update)");
    [c1, c2, w0, w1] = thirdOrder(h, a.hPrev[0], a.hPrev[1]);
    k1 = sn * (em1 / h - 1);
    k2 = sn * ((em1 - h) / (h * h) - 0.5);
  }
  for (let j = 0; j < n; j++) {
    let v = x[j] - k0 * m0[j];
    if (order === 2) v -= k1 * c1 * (m0[j] - m1[j]);
    else if (order === 3) {
      const d10 = (m0[j] - m1[j]) * c1;
      const d11 = (m1[j] - m2[j]) * c2;
      v -= k1 * (d10 + w0 * (d10 - d11)) + k2 * w1 * (d10 - d11);
    }
    out[j] = v;
  }
  if (sde) {
    const sd = Math.sqrt(s * s - sn * sn);
    for (let j = 0; j < n; j++) out[j] += sd * (z as ArrayLike<number>)[j];
  }
}

export interface DpmSinglestepArgs {
  algorithm: DpmAlgorithm;
  solverType: DpmSolverType;
  /** 1, 2 or 3: how many of the block's points the update uses. */
  order: number;
  /** The block's sigmas, from its start (where x is) to the current point: order values, descending. */
  sigmas: readonly number[];
  sigmaNext: number;
  /** The model outputs at those sigmas, in the same order (start first). */
  outputs: readonly ArrayLike<number>[];
  noise?: ArrayLike<number> | null;
}

/**
 * One singlestep DPM-Solver update (Lu et al. 2022a, DPM-Solver-2/3 with the intermediate points on the
 * schedule, as diffusers' DPMSolverSinglestepScheduler takes them): from x at the block's start
 * sigmas[0] to sigmaNext, with the outputs at the block's points. Orders 1 and 2 are the multistep
 * formulas with the difference taken forward inside the block (dpmSolverStep); order 3 uses the block's
 * two later points for D1 and D2 (the "midpoint" form keeps only the last point's difference).
 */
export function dpmSolverSinglestepStep(out: Float32Array | Float64Array, x: ArrayLike<number>, a: DpmSinglestepArgs): void {
  const order = a.order;
  if (a.sigmas.length !== order || a.outputs.length !== order) {
    throw new ArgumentError("sigmas", `must hold the ${order} sigmas of the block with one output each, got ${a.sigmas.length} sigmas and ${a.outputs.length} outputs`);
  }
  const base = { algorithm: a.algorithm, solverType: a.solverType, sigma: a.sigmas[0], sigmaNext: a.sigmaNext, noise: a.noise };
  if (order === 1) return dpmSolverStep(out, x, { ...base, order: 1, hPrev: [], outputs: [a.outputs[0]] });
  // D1 = (h / h0)(m_mid - m_start) with h0 = lambda_mid - lambda_start: the multistep form with hPrev = -h0
  if (order === 2) return dpmSolverStep(out, x, { ...base, order: 2, hPrev: [dlog(a.sigmas[1]) - dlog(a.sigmas[0])], outputs: [a.outputs[0], a.outputs[1]] });
  if (order !== 3) throw new ArgumentError("order", `must be 1, 2 or 3, got ${order}`);
  if (a.algorithm === "sde-dpmsolver++" || a.algorithm === "sde-dpmsolver") throw new ArgumentError("order", "3 has no SDE update in the singlestep solver (diffusers has none)");
  singlestepThird(out, x, a);
}

/** DPM-Solver-3 on the block (s2, s1, s0) -> t: Lu et al. 2022a, Alg. 5 with r1, r2 taken from the schedule. */
function singlestepThird(out: Float32Array | Float64Array, x: ArrayLike<number>, a: DpmSinglestepArgs): void {
  const n = out.length;
  const [s2, s1, s0] = a.sigmas;
  const sn = a.sigmaNext;
  const [m2, m1, m0] = a.outputs;
  for (const m of a.outputs) if (m.length !== n) throw new ArgumentError("outputs", `must each hold ${n} values, got ${m.length}`);
  const data = a.algorithm === "dpmsolver++";
  if (sn === 0) {
    for (let j = 0; j < n; j++) out[j] = data ? m2[j] : x[j] - s2 * m2[j];
    return;
  }
  const h = dlog(s2) - dlog(sn);
  const r0 = (dlog(s2) - dlog(s0)) / h;
  const r1 = (dlog(s2) - dlog(s1)) / h;
  const mid = a.solverType === "midpoint";
  // data: x' = (s'/s2) x + c D0 + k1 D1 - k2 D2, c = 1 - e^-h, k1 = 1 - c/h, k2 = (h - c)/h^2 - 1/2
  // noise: x' = x - E D0 - k1 D1 - k2 D2, E = s'(e^h - 1), k1 = s'((e^h - 1)/h - 1), k2 = s'((e^h - 1 - h)/h^2 - 1/2)
  let a0: number;
  let c0: number;
  let k1: number;
  let k2: number;
  if (data) {
    const c = -dexpm1(-h);
    a0 = sn / s2;
    c0 = c;
    k1 = 1 - c / h;
    k2 = -((h - c) / (h * h) - 0.5);
  } else {
    const em1 = dexpm1(h);
    a0 = 1;
    c0 = -sn * em1;
    k1 = -sn * (em1 / h - 1);
    k2 = -sn * ((em1 - h) / (h * h) - 0.5);
  }
  for (let j = 0; j < n; j++) {
    const d10 = (m1[j] - m2[j]) / r1;
    const d11 = (m0[j] - m2[j]) / r0;
    let v = a0 * x[j] + c0 * m2[j];
    if (mid) v += k1 * d11;
    else v += k1 * ((r0 * d10 - r1 * d11) / (r0 - r1)) + k2 * ((2 * (d11 - d10)) / (r0 - r1));
    out[j] = v;
  }
}
