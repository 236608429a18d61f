// Shared pieces of the VP scheduler tests: diffusers' dummy model with per-item timesteps, the full
// loops of tests/schedulers/test_scheduler_*.py, and the fixture loops recorded by diffusers.
import { readFileSync } from "node:fs";
import path from "node:path";
import { expect } from "vitest";
import type { Scheduler, StepOptions } from "../../../src/diffusers/schedulers/types.ts";
import { readSafetensors, toFloat32 } from "../../../src/io/safetensors.ts";
import { absSumMean } from "../../support/diffusers-dummies.ts";

/** dummy_model with one timestep per item (t reshaped to [B, 1, 1, 1]). */
export function dummyModelPerItem(sample: Float32Array, ts: number[]): Float32Array {
  const n = sample.length / ts.length;
  return sample.map((x, j) => {
    const t = Math.fround(ts[Math.floor(j / n)]);
    return Math.fround(Math.fround(x * t) / Math.fround(t + 1));
  });
}

/** diffusers' assertions: |sum - s| < 1e-2 and |mean - m| < 1e-3 of |sample|. */
export function expectSumMean(x: Float32Array, sum: number, mean: number, sumTol = 1e-2, meanTol = 1e-3): void {
  const r = absSumMean(x);
  expect(Math.abs(r.sum - sum), `result_sum ${r.sum} vs ${sum}`).toBeLessThan(sumTol);
  expect(Math.abs(r.mean - mean), `result_mean ${r.mean} vs ${mean}`).toBeLessThan(meanTol);
}

export const FIXTURES = path.resolve(import.meta.dirname, "../../..", "../shared/fixtures/diffusers/pipelines");

export interface Loop {
  config: string;
  timesteps: number[];
  shape: number[];
  modelOutputs: Float32Array[];
  samples: Float32Array[];
  final: Float32Array;
  /** The noise of step i (diffusers' variance_noise_steps are step indices). */
  noise: Map<number, Float32Array>;
}

/** A recorded diffusers sampling loop (README of the fixtures): per-step model outputs, samples and noise. */
export function readLoop(name: string): Loop {
  const dir = path.join(FIXTURES, name);
  const f = readSafetensors(new Uint8Array(readFileSync(path.join(dir, "loop.safetensors"))));
  const split = (key: string): Float32Array[] => {
    const t = f.tensors[key];
    const all = toFloat32(t);
    const per = all.length / t.shape[0];
    return Array.from({ length: t.shape[0] }, (_, i) => all.slice(i * per, (i + 1) * per));
  };
  const noise = new Map<number, Float32Array>();
  if (f.tensors.variance_noise) {
    const steps = Array.from(toFloat32(f.tensors.variance_noise_steps));
    split("variance_noise").forEach((z, i) => noise.set(steps[i], z));
  }
  return {
    config: readFileSync(path.join(dir, "scheduler_config.json"), "utf8"),
    timesteps: Array.from(toFloat32(f.tensors.timesteps)),
    shape: f.tensors.init_noise.shape,
    modelOutputs: split("model_outputs"),
    samples: split("samples"),
    final: toFloat32(f.tensors.final),
    noise,
  };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Replay a recorded loop through a scheduler step by step; returns the worst per-step and final differences. */
export function replay(s: Scheduler, loop: Loop, stepOpts: (i: number) => StepOptions): { perStep: number; final: number } {
  s.setTimesteps(loop.timesteps.length);
  expect(Array.from(s.timesteps)).toEqual(loop.timesteps);
  let perStep = 0;
  let x = loop.samples[0];
  for (let i = 0; i < loop.timesteps.length; i++) {
    const t = loop.timesteps[i];
    // one step from diffusers' own state: the step's error alone
    const one = s.step(loop.modelOutputs[i], t, loop.samples[i], { shape: loop.shape, ...stepOpts(i) }).prevSample;
    perStep = Math.max(perStep, maxAbsDiff(one, loop.samples[i + 1]));
    // the whole loop from the initial noise on our own states
    x = s.step(loop.modelOutputs[i], t, x, { shape: loop.shape, ...stepOpts(i) }).prevSample;
  }
  return { perStep, final: maxAbsDiff(x, loop.final) };
}
