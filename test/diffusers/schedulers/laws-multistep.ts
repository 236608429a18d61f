// The laws of diffusers' SchedulerCommonTest for the exponential-integrator suites (DEIS, UniPC, SA-Solver):
// check_over_configs / check_over_forward (a scheduler saved with save_config and reloaded steps
// exactly like the original: here toJson -> schedulerFromJson), test_step_shape, and the round trip.
import { expect } from "vitest";
import { createScheduler, schedulerFromJson } from "../../../src/diffusers/schedulers/index.ts";
import { dummySampleDeter } from "../../support/diffusers-dummies.ts";

/** diffusers' dummy_sample is torch.rand; any fixed sample serves the law: the deterministic one, shifted. */
const sample = () => dummySampleDeter().map((v) => v * 0.9 + 0.05);

/**
 * check_over_configs: from `timeIndex`, `steps` steps of the residual 0.1 sample with the original and the
 * reloaded scheduler give outputs whose absolute difference sums below 1e-5 (here: identical), and finite.
 */
export function checkOverConfigs(className: string, config: Record<string, unknown>, numInferenceSteps: number, steps: number, stepOpts: () => Record<string, unknown> = () => ({})): void {
  const a = createScheduler(className, config);
  const b = schedulerFromJson(a.toJson());
  expect(b.toJson()).toBe(a.toJson());
  a.setTimesteps(numInferenceSteps);
  b.setTimesteps(numInferenceSteps);
  let x: Float32Array = sample();
  let y: Float32Array = sample();
  const n = Math.min(steps, a.timesteps.length);
  for (let k = 0; k < n; k++) {
    const t = a.timesteps[k];
    x = a.step(x.map((v) => 0.1 * v), t, x, { shape: [4, 3, 8, 8], ...stepOpts() }).prevSample;
    y = b.step(y.map((v) => 0.1 * v), t, y, { shape: [4, 3, 8, 8], ...stepOpts() }).prevSample;
    expect(Array.from(y)).toEqual(Array.from(x));
    expect(x.every(Number.isFinite)).toBe(true);
  }
}

/** test_step_shape: steps at timesteps[5] and [6] return the sample's shape (length). */
export function checkStepShape(className: string, config: Record<string, unknown>, numInferenceSteps: number, stepOpts: () => Record<string, unknown> = () => ({})): void {
  const s = createScheduler(className, config);
  s.setTimesteps(numInferenceSteps);
  const x = sample();
  const r = x.map((v) => 0.1 * v);
  const o0 = s.step(r, s.timesteps[5], x, stepOpts()).prevSample;
  const o1 = s.step(r, s.timesteps[6], x, stepOpts()).prevSample;
  expect(o0.length).toBe(x.length);
  expect(o1.length).toBe(x.length);
}
