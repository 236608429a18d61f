// The loops of diffusers' scheduler tests (tests/schedulers/test_scheduler_*.py) over the dummy model,
// written once: the sample starts as dummy_sample_deter * init_noise_sigma (optionally noised with
// add_noise at timesteps[tStart * order]), then each timestep scales, runs the model and steps.
import type { Scheduler } from "../../../src/diffusers/schedulers/index.ts";
import { absSumMean, dummyModel, dummyNoiseDeter, dummySampleDeter } from "../../support/diffusers-dummies.ts";
import { manualSeed } from "../../support/torch-rng.ts";

const fround = Math.fround;

export interface LoopOptions {
  /** diffusers' tests pass the scaled sample to step (most) or the unscaled one (EDM, CM). */
  stepScaled?: boolean;
  /** add_noise(dummy_noise_deter) at timesteps[tStart * order], then step from there. */
  tStart?: number;
  /** Which steps draw from the torch.manual_seed(0) generator (index into the stepped timesteps). */
  drawsNoise?: (i: number, s: Scheduler) => boolean;
}

/** Runs the loop; returns the final sample and torch.sum / torch.mean of its absolute values. */
export function runLoop(s: Scheduler, opts: LoopOptions = {}): { sample: Float32Array; sum: number; mean: number } {
  const gen = manualSeed(0);
  const init = fround(s.initNoiseSigma);
  let sample: Float32Array = dummySampleDeter().map((v) => v * init);
  let timesteps = Array.from(s.timesteps);
  if (opts.tStart !== undefined) {
    timesteps = timesteps.slice(opts.tStart * s.order);
    sample = s.addNoise(sample, dummyNoiseDeter(), timesteps.slice(0, 1));
  }
  timesteps.forEach((t, i) => {
    const scaled = s.scaleModelInput(sample, t);
    const out = dummyModel(scaled, t);
    const noise = opts.drawsNoise?.(i, s) ? gen.randn(sample.length) : undefined;
    sample = s.step(out, t, opts.stepScaled === false ? sample : scaled, { noise }).prevSample;
  });
  return { sample, ...absSumMean(sample) };
}
