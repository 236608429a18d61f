// Discrete beta schedules: beta_t for t = 1..T, stored at index t-1 of a Float64Array. All scalar math
// is float64 and deterministic (our own exp/cos; see math/detmath.ts).

import { dcos, dsigmoid, dpow } from "../math/detmath.ts";
import { ArgumentError, finite, inRange, int } from "../validate.ts";

/** Largest T the library accepts (memory for the cumulative products stays small). */
export const MAX_T = 1_000_000;

function linspace(a: number, b: number, n: number): Float64Array {
  const out = new Float64Array(n);
  if (n === 1) {
    out[0] = a;
    return out;
  }
  for (let i = 0; i < n; i++) out[i] = a + ((b - a) * i) / (n - 1);
  out[n - 1] = b; // exactly, as numpy and torch do (a + (b - a) can differ from b in the last bit)
  return out;
}

function checkStartEnd(start: number, end: number): void {
  inRange("betaStart", start, 0, 1, "()");
  inRange("betaEnd", end, 0, 1, "()");
}

/** DDPM (Ho et al. 2020, sec. 4): beta linear from betaStart to betaEnd. */
export function linearBetas(T: number, betaStart = 1e-4, betaEnd = 0.02): Float64Array {
  int("T", T, 1, MAX_T);
  checkStartEnd(betaStart, betaEnd);
  return linspace(betaStart, betaEnd, T);
}

/** Latent/Stable Diffusion's "scaled_linear": sqrt(beta) linear, then squared. */
export function scaledLinearBetas(T: number, betaStart = 0.00085, betaEnd = 0.012): Float64Array {
  int("T", T, 1, MAX_T);
  checkStartEnd(betaStart, betaEnd);
  const b = linspace(Math.sqrt(betaStart), Math.sqrt(betaEnd), T);
  for (let i = 0; i < T; i++) b[i] = b[i] * b[i];
  return b;
}

/** The cosine alpha-bar of Nichol & Dhariwal 2021 (eq. 17), f(t)/f(0) with f(t) = cos^2((t+s)/(1+s) pi/2). */
export function cosineAlphaBar(t: number, s = 0.008): number {
  const f = (u: number) => {
    const c = dcos(((u + s) / (1 + s)) * (Math.PI / 2));
    return c * c;
  };
  return f(t) / f(0);
}

/**
 * Improved DDPM's cosine schedule (Nichol & Dhariwal 2021, eq. 17; diffusers' "squaredcos_cap_v2"):
 * beta_t = min(1 - alphaBar(t/T) / alphaBar((t-1)/T), maxBeta). The cap keeps beta < 1 near t = T,
 * where the unclipped formula reaches 1.
 */
export function cosineBetas(T: number, s = 0.008, maxBeta = 0.999): Float64Array {
  int("T", T, 1, MAX_T);
  inRange("s", s, 0, 1, "[)");
  inRange("maxBeta", maxBeta, 0, 1, "()");
  const b = new Float64Array(T);
  for (let i = 0; i < T; i++) {
    b[i] = Math.min(1 - cosineAlphaBar((i + 1) / T, s) / cosineAlphaBar(i / T, s), maxBeta);
  }
  return b;
}

/** GeoDiff's "sigmoid" schedule (diffusers): sigmoid(linspace(-6, 6, T)) scaled to [betaStart, betaEnd]. */
export function sigmoidBetas(T: number, betaStart = 1e-4, betaEnd = 0.02): Float64Array {
  int("T", T, 1, MAX_T);
  checkStartEnd(betaStart, betaEnd);
  const x = linspace(-6, 6, T);
  for (let i = 0; i < T; i++) x[i] = dsigmoid(x[i]) * (betaEnd - betaStart) + betaStart;
  return x;
}

/**
 * The seed article's geometric schedule beta_t = beta (1 - beta)^(T-1-t) for its 0-indexed t = 0..T-1,
 * i.e. beta_t = beta (1 - beta)^(T - t) for our t = 1..T: beta grows geometrically to `beta` at t = T.
 * (The article presents it as the schedule that keeps unit variance; every VP schedule does that.)
 */
export function geometricBetas(T: number, beta = 0.1): Float64Array {
  int("T", T, 1, MAX_T);
  inRange("beta", beta, 0, 1, "()");
  const b = new Float64Array(T);
  for (let i = 0; i < T; i++) b[i] = beta * dpow(1 - beta, T - 1 - i);
  if (!(b[0] > 0)) {
    throw new ArgumentError("T", `beta (1 - beta)^(T-1) underflows to 0 for T = ${T}, beta = ${beta}: use a smaller T or beta`);
  }
  return b;
}

/** Validate a user's betas: every beta_t finite and in (0, 1). Returns a float64 copy. */
export function checkBetas(betas: ArrayLike<number>, arg = "betas"): Float64Array {
  if (!betas || typeof betas.length !== "number") throw new ArgumentError(arg, "must be an array of numbers");
  int(`${arg}.length`, betas.length, 1, MAX_T);
  const out = new Float64Array(betas.length);
  for (let i = 0; i < betas.length; i++) {
    const b = finite(`${arg}[${i}]`, betas[i]);
    if (!(b > 0 && b < 1)) throw new ArgumentError(`${arg}[${i}]`, `must be in (0, 1), got ${b}`);
    out[i] = b;
  }
  return out;
}

/**
 * Zero-terminal-SNR rescale (Lin et al. 2023, "Common diffusion noise schedules and sample steps are
 * flawed", Alg. 1): shift sqrt(alphaBar) so its last value is 0 and scale it so its first is unchanged,
 * then recover the betas. The last beta becomes exactly 1 (alphaBar_T = 0: pure noise); such a schedule
 * needs a v- or x0-prediction model, since epsilon carries no information at t = T.
 */
export function rescaleZeroTerminalSnr(betas: ArrayLike<number>): Float64Array {
  const b = checkBetas(betas);
  const T = b.length;
  if (T < 2) throw new ArgumentError("betas.length", `must be at least 2 to rescale, got ${T}`);
  const sq = new Float64Array(T);
  let ab = 1;
  for (let i = 0; i < T; i++) {
    ab *= 1 - b[i];
    sq[i] = Math.sqrt(ab);
  }
  const first = sq[0];
  const last = sq[T - 1];
  for (let i = 0; i < T; i++) sq[i] = ((sq[i] - last) * first) / (first - last);
  const out = new Float64Array(T);
  let prev = 1;
  for (let i = 0; i < T; i++) {
    const abar = sq[i] * sq[i];
    out[i] = 1 - abar / prev;
    prev = abar;
  }
  out[T - 1] = 1; // exactly: alphaBar_T = 0
  return out;
}
