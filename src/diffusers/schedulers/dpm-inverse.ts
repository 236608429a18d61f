// diffusers' DPMSolverMultistepInverseScheduler: the multistep DPM-Solver run backwards in time, from the
// data towards noise (DDIM-style inversion of an image into its latent), with the same step function on
// an ascending sigma sequence (h < 0).

import { ArgumentError } from "../../validate.ts";
import { dpmInverseKeys } from "./dpm-common.ts";
import { DpmSolverMultistep } from "./dpm-multistep.ts";
import { npArange, npInterp, npLinspace, npRound } from "./numpy.ts";
import { betaSigmas, exponentialSigmas, karrasSigmas, logSigmaTable, sigmaToT } from "./sigma-schedules.ts";
import type { SetTimestepsOptions } from "./types.ts";

const fround = Math.fround;

/** The ascending timesteps of an inversion for a timestep_spacing, up to `noisiest` (diffusers' set_timesteps). */
export function inverseSpacing(spacing: string, n: number, noisiest: number, T: number, offset: number): number[] {
  if (spacing === "linspace") return Array.from(npLinspace(0, noisiest, n + 1), npRound).slice(0, n);
  if (spacing === "leading") {
    const ratio = Math.floor((noisiest + 1) / (n + 1));
    return Array.from(npArange(0, n + 1), (i) => npRound(i * ratio) + offset).slice(0, n);
  }
  return Array.from(npArange(noisiest + 1, 0, -T / n), (t) => npRound(t) - 1).reverse();
}

export class DpmSolverMultistepInverse extends DpmSolverMultistep {
  constructor(raw: Record<string, unknown>) {
    super(raw, "DPMSolverMultistepInverseScheduler", dpmInverseKeys());
    if (String(this.config.algorithm_type).startsWith("sde-") && this.config.solver_order === 3) {
      throw new ArgumentError("solver_order", "3 has no SDE update in the inverse scheduler (diffusers calls it without noise); allowed with an SDE algorithm: 1, 2");
    }
    this.timesteps = Float64Array.from({ length: this.tables.T }, (_, i) => i);
  }

  protected override finalIsFirstOrder(): boolean {
    return false;
  }

  override setTimesteps(numInferenceSteps: number | null, opts: SetTimestepsOptions = {}): void {
    const c = this.config;
    const T = this.tables.T;
    if (opts.timesteps !== undefined || opts.sigmas !== undefined || opts.mu !== undefined) {
      const key = opts.timesteps !== undefined ? "timesteps" : opts.sigmas !== undefined ? "sigmas" : "mu";
      throw new ArgumentError(key, `${this.className} takes only a number of steps`);
    }
    const n = numInferenceSteps as number;
    if (!Number.isInteger(n) || n < 1 || n > T) throw new ArgumentError("numInferenceSteps", `must be an integer in [1, ${T}], got ${n}`);
    const noisiest = this.lastTimestep() - 1;
    let ts = inverseSpacing(c.timestep_spacing as string, n, noisiest, T, c.steps_offset as number);
    for (const t of ts) if (t < 0 || t >= T) throw new ArgumentError("steps_offset", `puts timestep ${t} outside [0, ${T - 1}]`);
    const table = this.tables.sigmas;
    const logTable = logSigmaTable(table);
    let sig: number[];
    if (c.use_karras_sigmas || c.use_exponential_sigmas || c.use_beta_sigmas) {
      // ascending from sigma(0) to sigma(T - 1) (diffusers passes the unflipped table, so its "sigma_min"
      // is the largest), the last sigma repeated as the end of the run
      const up = c.use_karras_sigmas ? karrasSigmas(table[T - 1], table[0], n) : c.use_exponential_sigmas ? exponentialSigmas(table[T - 1], table[0], n) : betaSigmas(table[T - 1], table[0], n);
      ts = Array.from(up, (s) => (c.use_karras_sigmas ? npRound(sigmaToT(s, logTable)) : Math.trunc(sigmaToT(s, logTable))));
      sig = [...up, up[n - 1]];
    } else {
      const grid = Float64Array.from({ length: T }, (_, k) => k);
      sig = [...ts.map((t) => npInterp(t, grid, table)), table[noisiest]];
    }
    // diffusers drops repeated timesteps (np.unique, first occurrences in order); the sigmas stay
    const seen = new Set<number>();
    ts = ts.filter((t) => (seen.has(t) ? false : (seen.add(t), true)));
    this.sigmas = Float64Array.from(sig, fround);
    this.timesteps = Float64Array.from(ts);
    this.numInferenceSteps = ts.length;
    this.resetRun();
  }
}
