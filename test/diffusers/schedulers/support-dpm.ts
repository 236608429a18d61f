// The loops of diffusers' DPM-Solver scheduler tests (full_loop, full_loop_custom_timesteps,
// check_over_configs), over this library's scheduler API, with diffusers' dummies and its generator.
import { createScheduler, schedulerFromJson, type Scheduler } from "../../../src/diffusers/schedulers/index.ts";
import { DUMMY_SHAPE, dummyModel, dummySampleDeter } from "../../support/diffusers-dummies.ts";
import { manualSeed } from "../../support/torch-rng.ts";

export const N = DUMMY_SHAPE.reduce((a, b) => a * b, 1);

/** true when the class's step draws noise (the SDE algorithms). */
function stochastic(s: Scheduler): boolean {
  return String(s.config.algorithm_type ?? "").startsWith("sde-");
}

/**
 * diffusers' full_loop: 10 steps of the dummy model from dummy_sample_deter, a torch.manual_seed(0)
 * generator passed to every step (an SDE step draws randn(shape) from it, in order).
 */
export function fullLoop(s: Scheduler, steps = 10, custom?: ArrayLike<number>): Float32Array {
  if (custom) s.setTimesteps(null, { timesteps: custom });
  else s.setTimesteps(steps);
  const g = manualSeed(0);
  let x = dummySampleDeter();
  for (const t of s.timesteps) {
    const noise = stochastic(s) ? g.randn(N) : undefined;
    x = s.step(dummyModel(x, t), t, x, { noise, shape: DUMMY_SHAPE }).prevSample;
  }
  return x;
}

export function make(cls: string, base: Record<string, unknown>, extra: Record<string, unknown> = {}): Scheduler {
  return createScheduler(cls, { ...base, ...extra });
}

/**
 * diffusers' check_over_configs without its injected past residuals (the API has no setter for the
 * history): a scheduler and the one read back from its JSON take solver_order + 1 steps with the residual
 * 0.1 x from timesteps[timeStep..] and must agree; returns the sum of |difference| (diffusers: < 1e-5).
 */
export function overConfigs(cls: string, base: Record<string, unknown>, extra: Record<string, unknown>, steps = 25, timeStep = 0): number {
  const a = make(cls, base, extra);
  const b = schedulerFromJson(a.toJson());
  a.setTimesteps(steps);
  b.setTimesteps(steps);
  const sample = dummySampleDeter();
  const residual = sample.map((v) => Math.fround(0.1 * v));
  const order = (a.config.solver_order as number) ?? 1;
  let x = sample;
  let y = sample;
  let diff = 0;
  const g1 = manualSeed(0);
  const g2 = manualSeed(0);
  for (let k = timeStep; k < Math.min(timeStep + order + 1, a.timesteps.length); k++) {
    const t = b.timesteps[k];
    x = a.step(residual, t, x, { noise: stochastic(a) ? g1.randn(N) : undefined, shape: DUMMY_SHAPE }).prevSample;
    y = b.step(residual, t, y, { noise: stochastic(b) ? g2.randn(N) : undefined, shape: DUMMY_SHAPE }).prevSample;
    for (let j = 0; j < N; j++) diff += Math.abs(x[j] - y[j]);
  }
  return diff;
}
