// The laws of diffusers' SchedulerCommonTest that carry meaning here, written once for the sigma-space
// schedulers: check_over_configs / test_from_save_pretrained (a config through scheduler_config.json
// gives the same tables and the same step), test_step_shape, add_noise (x + sigma n at the timestep's
// sigma), scale_model_input, and a reported full-loop value within diffusers' tolerance.
import { expect } from "vitest";
import { createScheduler, schedulerFromJson, type Scheduler } from "../../../src/diffusers/schedulers/index.ts";
import { dummyNoiseDeter, dummySampleDeter } from "../../support/diffusers-dummies.ts";
import { manualSeed } from "../../support/torch-rng.ts";

/** |ours - diffusers'| < tol for torch.sum(abs) and torch.mean(abs), as the ported assertions read. */
export function expectSumMean(r: { sum: number; mean: number }, sum: number, sumTol: number, mean: number, meanTol: number): void {
  expect(Math.abs(r.sum - sum), `result_sum ${r.sum}, diffusers ${sum}`).toBeLessThan(sumTol);
  expect(Math.abs(r.mean - mean), `result_mean ${r.mean}, diffusers ${mean}`).toBeLessThan(meanTol);
}

/** Two steps from the first timesteps of a fresh run with the dummy sample and residual 0.1 x. */
function twoSteps(s: Scheduler, steps: number): Float32Array[] {
  s.setTimesteps(steps);
  const gen = manualSeed(0);
  const sample = dummySampleDeter();
  const outs: Float32Array[] = [];
  for (const t of Array.from(s.timesteps).slice(0, 2)) {
    const scaled = s.scaleModelInput(sample, t);
    outs.push(s.step(scaled.map((v) => 0.1 * v), t, sample, { noise: gen.randn(sample.length) }).prevSample);
  }
  return outs;
}

/**
 * check_over_configs: the scheduler read back from its toJson() has the same config, tables and step
 * outputs as the original; each step keeps the sample's shape (test_step_shape).
 */
export function expectRoundTrip(className: string, config: Record<string, unknown>, steps = 10): void {
  const a = createScheduler(className, config);
  const b = schedulerFromJson(a.toJson());
  expect(b.className).toBe(className);
  const { _class_name, ...read } = b.config;
  expect(_class_name).toBe(className);
  expect(read).toEqual(a.config);
  expect(b.toJson()).toBe(a.toJson());
  const oa = twoSteps(a, steps);
  const ob = twoSteps(b, steps);
  expect(Array.from(b.timesteps)).toEqual(Array.from(a.timesteps));
  expect(Array.from(b.sigmas ?? [])).toEqual(Array.from(a.sigmas ?? []));
  for (let k = 0; k < oa.length; k++) {
    expect(oa[k].length).toBe(768);
    expect(Array.from(ob[k])).toEqual(Array.from(oa[k]));
  }
}

/**
 * add_noise at one timestep per item: item b is x_b + sigma(t_b) n_b with the sigma of t_b's position
 * in the run (float32), and a single timestep applies to every item.
 */
export function expectAddNoise(s: Scheduler): void {
  const x = dummySampleDeter();
  const n = dummyNoiseDeter();
  const ts = Array.from(s.timesteps);
  const pick = [ts[0], ts[Math.floor(ts.length / 2)], ts[ts.length - 1], ts[1]];
  const noisy = s.addNoise(x, n, pick);
  const size = x.length / 4;
  for (let b = 0; b < 4; b++) {
    const hits = ts.flatMap((t, i) => (t === pick[b] ? [i] : []));
    const sigma = Math.fround((s.sigmas as Float64Array)[hits[hits.length > 1 ? 1 : 0]]);
    for (const j of [b * size, b * size + 7, (b + 1) * size - 1]) expect(noisy[j]).toBe(Math.fround(x[j] + Math.fround(n[j] * sigma)));
  }
  const all = s.addNoise(x, n, [ts[0]]);
  const s0 = Math.fround((s.sigmas as Float64Array)[0]);
  expect(all[700]).toBe(Math.fround(x[700] + Math.fround(n[700] * s0)));
}
