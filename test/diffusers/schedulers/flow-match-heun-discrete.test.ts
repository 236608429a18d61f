// FlowMatchHeunDiscreteScheduler. diffusers has no test file for it; the common laws of its scheduler tests
// are checked here (table layout, step shapes, begin index, config round trip), and the agreement with the
// library's Heun sampler (EDM Alg. 2), with and without churn.

import { describe, expect, it } from "vitest";
import { createScheduler, schedulerFromJson } from "../../../src/diffusers/schedulers/index.ts";
import { FlowMatchEulerDiscreteScheduler } from "../../../src/diffusers/schedulers/flow-euler.ts";
import { FlowMatchHeunDiscreteScheduler } from "../../../src/diffusers/schedulers/flow-heun.ts";
import { sampleHeun } from "../../../src/samplers/ode.ts";
import { Rng } from "../../../src/rng.ts";
import { GaussianMixture } from "../../../src/testbed/mixture.ts";
import { expectArgumentError } from "../../support/errors.ts";

describe("FlowMatchHeunDiscreteScheduler: tables and protocol", () => {
  it("timesteps repeat every entry after the first; sigmas every inner one; the Euler scheduler's values", () => {
    const h = new FlowMatchHeunDiscreteScheduler({ shift: 3 });
    const e = new FlowMatchEulerDiscreteScheduler({ shift: 3 });
    h.setTimesteps(5);
    e.setTimesteps(5);
    expect(h.order).toBe(2);
    expect(Array.from(h.timesteps)).toEqual([e.timesteps[0], ...[1, 2, 3, 4].flatMap((i) => [e.timesteps[i], e.timesteps[i]])]);
    expect(Array.from(h.sigmas)).toEqual([e.sigmas[0], ...[1, 2, 3, 4].flatMap((i) => [e.sigmas[i], e.sigmas[i]]), 0]);
  });

  it("the first call of a pair is Heun's Euler point, the second the trapezoidal correction; the step to 0 is Euler", () => {
    const h = new FlowMatchHeunDiscreteScheduler();
    h.setTimesteps(2);
    const x = Float32Array.from([1, -2]);
    const v1 = Float32Array.from([0.5, 0.25]);
    const [s0, s1] = [h.sigmas[0], h.sigmas[1]];
    expect(h.stateInFirstOrder).toBe(true);
    const mid = h.step(v1, h.timesteps[0], x).prevSample;
    expect(h.stateInFirstOrder).toBe(false);
    for (let j = 0; j < 2; j++) expect(mid[j]).toBeCloseTo(x[j] + (s1 - s0) * v1[j], 6);
    const v2 = Float32Array.from([0.1, -0.3]);
    const next = h.step(v2, h.timesteps[1], mid).prevSample;
    for (let j = 0; j < 2; j++) expect(next[j]).toBeCloseTo(x[j] + (s1 - s0) * 0.5 * (v1[j] + v2[j]), 6);
    const last = h.step(v2, h.timesteps[2], next).prevSample;
    for (let j = 0; j < 2; j++) expect(last[j]).toBeCloseTo(next[j] - s1 * v2[j], 6);
    expectArgumentError(() => h.step(v2, h.timesteps[2], last), "t", "ended");
  });

  it("setBeginIndex anchors the step index; arguments are checked", () => {
    const h = new FlowMatchHeunDiscreteScheduler();
    h.setTimesteps(4);
    h.setBeginIndex(2);
    h.step(new Float32Array(3), h.timesteps[0], new Float32Array(3));
    expect(h.stepIndex).toBe(3);
    expectArgumentError(() => h.setTimesteps(4, { mu: 1 }), "mu", "only the number of steps");
    expectArgumentError(() => h.step(new Float32Array(3), h.timesteps[3], new Float32Array(2)), "sample");
    expectArgumentError(() => createScheduler("FlowMatchHeunDiscreteScheduler", { use_dynamic_shifting: true }), "use_dynamic_shifting", "not a FlowMatchHeunDiscreteScheduler setting");
    expectArgumentError(() => createScheduler("FlowMatchHeunDiscreteScheduler", { shift: 0 }), "shift");
  });

  it("schedulerFromJson(toJson()) round-trips", () => {
    for (const c of [{}, { shift: 3, num_train_timesteps: 500 }]) {
      const s = createScheduler("FlowMatchHeunDiscreteScheduler", c);
      const { _class_name: name, ...rest } = schedulerFromJson(s.toJson()).config;
      expect(name).toBe("FlowMatchHeunDiscreteScheduler");
      expect(rest).toEqual(s.config);
    }
  });

  it("scaleNoise is the rectified-flow forward process at the run's sigma", () => {
    const h = new FlowMatchHeunDiscreteScheduler({ shift: 2 });
    h.setTimesteps(3);
    const t = h.timesteps[1];
    const sg = h.sigmas[h.indexForTimestep(t)];
    const out = h.scaleNoise(new Float32Array(4).fill(2), t, new Float32Array(4).fill(-1));
    for (const v of out) expect(v).toBeCloseTo((1 - sg) * 2 - sg, 6);
  });
});

describe("FlowMatchHeunDiscreteScheduler agrees with the library's Heun sampler", () => {
  // Heun's correction is not invariant under a change of coordinates, so the comparison runs both in the
  // scheduler's: x = x_t with sigma = t, where the PF-ODE's slope (x - D) / t is the velocity and D is
  // E[x0 | x_t] (the mixture's denoiser at x_ve = x_t / (1 - t); the data mean at t = 1)
  const mix = GaussianMixture.example2d();
  const B = 32;
  const mean = [0, 1].map((i) => Array.from(mix.weights).reduce((a, w, k) => a + w * mix.means[k * 2 + i], 0));
  const flowDenoiser = (x: Float32Array, t: Float64Array, batch: number): Float32Array => {
    const tt = t[0];
    if (tt === 1) return Float32Array.from(x, (_, j) => mean[j % 2]);
    return mix.denoiser(Float32Array.from(x, (v) => v / (1 - tt)), new Float64Array(batch).fill(tt / (1 - tt)), batch);
  };

  function schedulerRun(h: FlowMatchHeunDiscreteScheduler, x0: Float32Array, churn?: { sChurn: number; noise: (call: number, step: number) => Float32Array }): Float32Array {
    let x: Float32Array = Float32Array.from(x0);
    h.timesteps.forEach((t, call) => {
      const i = h.stepIndex ?? 0;
      const sig = h.sigmas[i];
      const d = flowDenoiser(x, new Float64Array(B).fill(sig), B);
      const v = Float32Array.from(x, (y, j) => (y - d[j]) / sig);
      // calls 0, 2, 4, ... start step call / 2
      x = h.step(v, t, x, churn ? { sChurn: churn.sChurn, noise: churn.noise(call, call / 2) } : {}).prevSample;
    });
    return x;
  }

  const worstDiff = (a: Float32Array, b: Float32Array) => a.reduce((w, v, j) => Math.max(w, Math.abs(v - b[j])), 0);

  it("without churn: the same samples to float32 rounding (2e-5), from t = 1", () => {
    const h = new FlowMatchHeunDiscreteScheduler({ shift: 3 });
    h.setTimesteps(8);
    const z = new Rng(4).randn(B, 2);
    const out = schedulerRun(h, z);
    const levels = [0, 1, 3, 5, 7, 9, 11, 13, 15].map((i) => h.sigmas[i]);
    expect(levels[8]).toBe(0);
    const lib = sampleHeun(flowDenoiser, z, levels, { batch: B }).x;
    expect(worstDiff(lib, out)).toBeLessThan(2e-5);
  });

  it("with churn, diffusers' arithmetic: the noise enters inside step, after the model saw the un-churned x", () => {
    // x_hat = x + sqrt(sigma_hat^2 - sigma^2) z, sigma_hat = sigma (1 + gamma), gamma = min(s_churn / (2N - 1), sqrt 2 - 1);
    // x0 = x_hat - sigma v, slope (x_hat - x0) / sigma_hat, Euler point x_hat + (sigma' - sigma_hat) slope. EDM's
    // Alg. 2 (the library's heun with sChurn) evaluates the model at x_hat instead: diffusers cannot, as the
    // pipeline calls the model before step; docs/samplers.md notes the difference.
    const h = new FlowMatchHeunDiscreteScheduler({ shift: 3 });
    h.setTimesteps(4); // 7 table steps
    const x = Float32Array.from([0.3, -1.2, 2]);
    const v = Float32Array.from([1, 0.5, -0.25]);
    const z = Float32Array.from([0.7, -0.1, 1.5]);
    const [sg, sn] = [h.sigmas[0], h.sigmas[1]];
    const gamma = Math.min(1.4 / 7, Math.SQRT2 - 1);
    const sh = sg * (1 + gamma);
    const out = h.step(v, h.timesteps[0], x, { sChurn: 1.4, noise: z }).prevSample;
    for (let j = 0; j < 3; j++) {
      const xh = x[j] + Math.sqrt(sh * sh - sg * sg) * z[j];
      expect(out[j]).toBeCloseTo(xh + (sn - sh) * ((sg * v[j]) / sh), 5);
    }
    expectArgumentError(() => h.step(v, h.timesteps[1], out, { sChurn: 1.4 }), "noise", "stochastic");
});
});
