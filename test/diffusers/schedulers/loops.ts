// The loops of diffusers' scheduler tests (tests/schedulers/test_scheduler_*.py), shared by the ported
// suites: full_loop (10 steps of the dummy model from dummy_sample_deter) and full_loop_with_noise
// (add_noise at timesteps[8], then the last steps).
import { createScheduler, type Scheduler } from "../../../src/diffusers/schedulers/index.ts";
import { absSumMean, dummyModel, dummyNoiseDeter, dummySampleDeter } from "../../support/diffusers-dummies.ts";

export function fullLoop(className: string, config: Record<string, unknown>, shape?: readonly number[], steps = 10): Float32Array {
  const s = createScheduler(className, config);
  s.setTimesteps(steps);
  let sample = dummySampleDeter(shape);
  for (const t of s.timesteps) sample = s.step(dummyModel(sample, t), t, sample, { shape }).prevSample;
  return sample;
}

export function fullLoopWithNoise(className: string, config: Record<string, unknown>, shape?: readonly number[]): { sum: number; mean: number } {
  const s: Scheduler = createScheduler(className, config);
  s.setTimesteps(10);
  const ts = s.timesteps.slice(8 * s.order);
  let sample = s.addNoise(dummySampleDeter(shape), dummyNoiseDeter(shape), ts[0]);
  for (const t of ts) sample = s.step(dummyModel(sample, t), t, sample, { shape }).prevSample;
  return absSumMean(sample);
}

export const meanAbs = (x: Float32Array): number => absSumMean(x).mean;
