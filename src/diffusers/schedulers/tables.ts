// The training tables every discrete diffusers scheduler starts from — betas, alphas, alphas_cumprod —
// computed in float32 exactly as PyTorch computes them, so timesteps and sigmas derived from them agree
// with diffusers bit for bit rather than "closely".

import { dcos, dexp } from "../../math/detmath.ts";
import { ArgumentError } from "../../validate.ts";
import { choice, integer, nullable, num, numbers, type ConfigSpec } from "./config.ts";

const fround = Math.fround;

/**
 * torch.linspace(start, end, steps, dtype=float32) on CPU: step = float32((end - start) / (steps - 1));
 * the first half counts up from start (start + step * i), the second half down from end
 * (end - step * (steps - 1 - i)), so both ends are exact; every operation rounds to float32. This is
 * the form whose alphas_cumprod differs from a float64 linspace in exactly the 273 of 1000 entries
 * measured against PyTorch (a vectorised or fused-multiply-add variant gives 215 to 712), so it is
 * PyTorch's arithmetic, not only close to it.
 */
export function torchLinspaceF32(start: number, end: number, steps: number): Float32Array {
  const out = new Float32Array(steps);
  if (steps === 0) return out;
  const s = fround(start);
  const e = fround(end);
  if (steps === 1) {
    out[0] = s;
    return out;
  }
  const step = fround(fround(e - s) / (steps - 1));
  const half = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) out[i] = i < half ? fround(s + fround(step * i)) : fround(e - fround(step * (steps - i - 1)));
  return out;
}

/** The config keys that define the betas, shared by every discrete scheduler (diffusers' defaults). */
export function betaKeys(defaults: { betaStart?: number; betaEnd?: number; schedule?: string; schedules?: readonly string[] } = {}): ConfigSpec {
  return {
    num_train_timesteps: { default: 1000, check: integer(2, 100_000) },
    beta_start: { default: defaults.betaStart ?? 0.0001, check: num(0, 1, { openLo: true }) },
    beta_end: { default: defaults.betaEnd ?? 0.02, check: num(0, 1, { openLo: true }) },
    beta_schedule: { default: defaults.schedule ?? "linear", check: choice(defaults.schedules ?? BETA_SCHEDULES) },
    trained_betas: { default: null, check: nullable(numbers(100_000, num(0, 1))) },
  };
}

export const BETA_SCHEDULES = ["linear", "scaled_linear", "squaredcos_cap_v2", "sigmoid"] as const;

/**
 * diffusers' betas_for_alpha_bar with the cosine alpha-bar of improved DDPM (Nichol & Dhariwal 2021,
 * eq. 17): beta_i = min(1 - abar((i+1)/T) / abar(i/T), maxBeta), in float64 (Python floats) and then
 * stored as float32.
 */
export function cosineBetasF32(T: number, maxBeta = 0.999): Float32Array {
  const abar = (t: number) => {
    const c = dcos(((t + 0.008) / 1.008) * (Math.PI / 2));
    return c * c;
  };
  const out = new Float32Array(T);
  for (let i = 0; i < T; i++) out[i] = Math.min(1 - abar((i + 1) / T) / abar(i / T), maxBeta);
  return out;
}

/** The betas of a checked config (keys of betaKeys), float32 as PyTorch holds them. */
export function betasOf(config: Readonly<Record<string, unknown>>): Float32Array {
  const T = config.num_train_timesteps as number;
  const trained = config.trained_betas as number[] | null;
  if (trained) {
    if (trained.length !== T) throw new ArgumentError("trained_betas", `has ${trained.length} values; num_train_timesteps is ${T}`);
    return Float32Array.from(trained);
  }
  const b0 = config.beta_start as number;
  const b1 = config.beta_end as number;
  switch (config.beta_schedule) {
    case "linear":
      return torchLinspaceF32(b0, b1, T);
    case "scaled_linear": {
      // Latent Diffusion's schedule: linear in sqrt(beta) (python float sqrt, then float32), squared in float32
      const r = torchLinspaceF32(Math.sqrt(b0), Math.sqrt(b1), T);
      for (let i = 0; i < T; i++) r[i] = fround(r[i] * r[i]);
      return r;
    }
    case "squaredcos_cap_v2":
      return cosineBetasF32(T);
    case "sigmoid": {
      // GeoDiff's schedule: sigmoid(linspace(-6, 6)) * (b1 - b0) + b0, float32 throughout
      const x = torchLinspaceF32(-6, 6, T);
      const d = fround(b1 - b0);
      for (let i = 0; i < T; i++) x[i] = fround(fround(fround(1 / fround(1 + fround(dexp(-x[i])))) * d) + fround(b0));
      return x;
    }
    default:
      throw new ArgumentError("beta_schedule", `must be one of ${BETA_SCHEDULES.join(", ")}, got ${String(config.beta_schedule)}`);
  }
}

/** alphas = 1 - betas (float32). */
export function alphasOf(betas: Float32Array): Float32Array {
  return betas.map((b) => fround(1 - b));
}

/**
 * torch.cumprod of float32 alphas: PyTorch's CPU kernel accumulates in double (acc_type of float) and
 * rounds each output to float32, which is what this does.
 */
export function cumprodF32(alphas: Float32Array): Float32Array {
  const out = new Float32Array(alphas.length);
  let p = 1;
  for (let i = 0; i < alphas.length; i++) {
    p *= alphas[i];
    out[i] = p;
  }
  return out;
}

/**
 * Zero-terminal-SNR rescale of float32 betas (Lin et al. 2023, Alg. 1), in float32 like diffusers'
 * rescale_zero_terminal_snr: shift sqrt(alphas_cumprod) so the last is 0, scale so the first is kept.
 */
export function rescaleZeroTerminalSnrF32(betas: Float32Array): Float32Array {
  const T = betas.length;
  const sq = cumprodF32(alphasOf(betas)).map((a) => fround(Math.sqrt(a)));
  const first = sq[0];
  const last = sq[T - 1];
  const span = fround(first - last);
  for (let i = 0; i < T; i++) sq[i] = fround(fround(fround(sq[i] - last) * first) / span);
  const abar = sq.map((v) => fround(v * v));
  const out = new Float32Array(T);
  out[0] = fround(1 - abar[0]);
  for (let i = 1; i < T; i++) out[i] = fround(1 - fround(abar[i] / abar[i - 1]));
  return out;
}

/** ((1 - abar) / abar) ** 0.5 in float32: diffusers' sigma table of a VP schedule (index = timestep). */
export function sigmaTableF32(alphasCumprod: Float32Array): Float32Array {
  return alphasCumprod.map((a) => fround(Math.sqrt(fround(fround(1 - a) / a))));
}
