// diffusers' TCDScheduler: trajectory consistency distillation's strategic stochastic sampling (Zheng et
// al. 2024, "Trajectory Consistency Distillation", sec. 4.4 / Alg. 4): from t, predict x0 and eps, move
// deterministically to s = floor((1 - gamma) t_prev) along the DDIM path, then re-noise forward from s
// to t_prev with fresh noise; gamma = 0 is DDIM, gamma = 1 is LCM-like. Both moves are ddimUpdateVp
// (the noise as eps for the forward one). Timesteps as LCM's.

import { ddimUpdateVp } from "../../samplers/vp-steps.ts";
import { ArgumentError } from "../../validate.ts";
import type { Check, ConfigSpec } from "./config.ts";
import { bool } from "./config.ts";
import { LCM_SPEC, LCMScheduler } from "./lcm.ts";
import type { StepOptions, StepResult } from "./types.ts";
import { batchOf } from "./vp-common.ts";

const fround = Math.fround;

/** diffusers' TCD step neither clips nor thresholds: the keys exist, only false is faithful. */
const onlyFalse: Check = (key, v) => {
  if (bool(key, v) === true) throw new ArgumentError(key, "is not applied by diffusers' TCDScheduler.step (it never clips or thresholds x0); only false is accepted");
  return v;
};

export const TCD_SPEC: ConfigSpec = {
  ...LCM_SPEC,
  clip_sample: { default: false, check: onlyFalse },
  thresholding: { default: false, check: onlyFalse },
};

export class TCDScheduler extends LCMScheduler {
  constructor(config: Record<string, unknown> = {}) {
    super(config, "TCDScheduler", TCD_SPEC);
  }

  /** diffusers' previous_timestep: the next entry of the run (-1 after the last), or t - 1 before setTimesteps. */
  previousTimestep(t: number): number {
    if (this.numInferenceSteps === null) return t - 1;
    const i = this.indexOf(t);
    return i === this.timesteps.length - 1 ? -1 : this.timesteps[i + 1];
  }

  /** opts.eta is TCD's gamma in [0, 1] (diffusers' default 0.3). */
  override step(modelOutput: Float32Array, t: number, sample: Float32Array, opts: StepOptions = {}): StepResult {
    this.checkStep(modelOutput, t, sample);
    if (this.numInferenceSteps === null) throw new ArgumentError("t", "there are no timesteps yet: call setTimesteps first");
    const gamma = opts.eta ?? 0.3;
    if (typeof gamma !== "number" || !(gamma >= 0 && gamma <= 1)) throw new ArgumentError("eta", `(TCD's gamma) must be in [0, 1], got ${String(gamma)}`);
    const i = this.indexFor(t);
    const last = i === this.timesteps.length - 1;
    const prevT = last ? 0 : this.timesteps[i + 1];
    const s = Math.floor(fround(fround(1 - gamma) * prevT));
    const abar = this.alphasCumprod[t];
    const abarPrev = prevT >= 0 ? this.alphasCumprod[prevT] : this.finalAlphaCumprod;
    const abarS = this.alphasCumprod[s];
    const batch = batchOf(sample, opts.shape);
    const { x0, eps } = this.predict(modelOutput, sample, [abar], batch, opts.shape !== undefined);
    const noised = ddimUpdateVp(x0, eps, [abarS], [0], null);
    let prevSample: Float32Array = noised;
    if (gamma > 0 && !last) {
      const z = this.stepNoise(sample.length, batch, opts, i);
      prevSample = ddimUpdateVp(noised, z, [fround(abarPrev / abarS)], [0], null);
    }
    this.stepIndex = i + 1;
    return { prevSample, predOriginalSample: x0 };
  }
}
