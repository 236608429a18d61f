// The diffusers bridge: runSchedulerLoop (a diffusers pipeline's loop over any Scheduler) against float64
// transcriptions of diffusers' step math, and schedulerDenoiser + schedulerSigmas driving the library's
// own samplers to the scheduler's results (the property "one method, two callers, the same samples").
import { describe, expect, it } from "vitest";
import { createScheduler, runSchedulerLoop, schedulerDenoiser, schedulerSigmas, trainingAlphasCumprod } from "../../src/diffusers/index.ts";
import { Rng } from "../../src/rng.ts";
import { sampleDdim, sampleDdpm } from "../../src/samplers/ancestral.ts";
import { expectArgumentError } from "../support/errors.ts";

const SD = { beta_start: 0.00085, beta_end: 0.012, beta_schedule: "scaled_linear", num_train_timesteps: 1000, clip_sample: false };
const B = 4;
const N = 3;

/** A toy eps model that depends on x and on t (so an off-by-one timestep shows), one t per item. */
const net = (x: Float32Array, t: ArrayLike<number>, batch: number) => {
  const n = x.length / batch;
  const out = new Float32Array(x.length);
  for (let b = 0; b < batch; b++) for (let j = b * n; j < (b + 1) * n; j++) out[j] = 0.6 * Math.tanh(x[j]) * (1 + t[b] / 700) + 0.05 * Math.sin(t[b] / 37 + j);
  return out;
};
const loopModel = (x: Float32Array, t: number) => net(x, new Float64Array(B).fill(t), B);
const latents = new Rng(9).randn(B, N);

const maxRel = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let j = 0; j < a.length; j++) m = Math.max(m, Math.abs(a[j] - b[j]) / Math.max(1, Math.abs(b[j])));
  return m;
};

describe("timesteps of known configs", () => {
  it("DDIM, SD config (leading, steps_offset 1, 50 steps): 981, 961, ..., 1; trailing 7: 999, 856, ...; DDPM linspace 4: 999, 666, 333, 0", () => {
    const a = createScheduler("DDIMScheduler", { ...SD, steps_offset: 1 });
    a.setTimesteps(50);
    expect(Array.from(a.timesteps)).toEqual(Array.from({ length: 50 }, (_, i) => 981 - 20 * i));
    const b = createScheduler("DDIMScheduler", { ...SD, timestep_spacing: "trailing" });
    b.setTimesteps(7);
    expect(Array.from(b.timesteps)).toEqual([999, 856, 713, 570, 428, 285, 142]);
    const c = createScheduler("DDPMScheduler", { ...SD, timestep_spacing: "linspace" });
    c.setTimesteps(4);
    expect(Array.from(c.timesteps)).toEqual([999, 666, 333, 0]);
  });
});

describe("runSchedulerLoop matches float64 transcriptions of diffusers' step()", () => {
  const ac = trainingAlphasCumprod(createScheduler("DDIMScheduler", SD));
  it("DDIMScheduler, set_alpha_to_one true and false (the old bridge threw on false: a duplicate closing sigma)", () => {
    for (const one of [true, false]) {
      const n = 10;
      const x = Float64Array.from(latents);
      const s = createScheduler("DDIMScheduler", { ...SD, steps_offset: 1, set_alpha_to_one: one });
      s.setTimesteps(n);
      for (const t of s.timesteps) {
        const prev = t - 1000 / n;
        const at = ac[t];
        const ap = prev >= 0 ? ac[prev] : one ? 1 : ac[0];
        const eps = loopModel(Float32Array.from(x), t);
        for (let j = 0; j < x.length; j++) {
          const x0 = (x[j] - Math.sqrt(1 - at) * eps[j]) / Math.sqrt(at);
          x[j] = Math.sqrt(ap) * x0 + Math.sqrt(1 - ap) * eps[j];
        }
      }
      const ours = runSchedulerLoop(createScheduler("DDIMScheduler", { ...SD, steps_offset: 1, set_alpha_to_one: one }), loopModel, latents, { steps: n, shape: [B, N] });
      expect(maxRel(ours, x), `set_alpha_to_one ${one}`).toBeLessThan(2e-5);
    }
  });

  it("DDPMScheduler fixed_small, step i drawing rng.stream(i)", () => {
    const n = 8;
    const s = createScheduler("DDPMScheduler", SD);
    s.setTimesteps(n);
    const ts = Array.from(s.timesteps);
    const rng = new Rng(3);
    const x = Float64Array.from(latents);
    ts.forEach((t, i) => {
      const prev = i + 1 < ts.length ? ts[i + 1] : -1;
      const at = ac[t];
      const ap = prev >= 0 ? ac[prev] : 1;
      const beta = 1 - at / ap;
      const eps = loopModel(Float32Array.from(x), t);
      const z = rng.stream(i).randn(B, N);
      const variance = Math.max(((1 - ap) / (1 - at)) * beta, 1e-20);
      for (let j = 0; j < x.length; j++) {
        const x0 = (x[j] - Math.sqrt(1 - at) * eps[j]) / Math.sqrt(at);
        const mean = ((Math.sqrt(ap) * beta) / (1 - at)) * x0 + ((Math.sqrt(1 - beta) * (1 - ap)) / (1 - at)) * x[j];
        x[j] = mean + (t > 0 ? Math.sqrt(variance) * z[j] : 0);
      }
    });
    const ours = runSchedulerLoop(createScheduler("DDPMScheduler", SD), loopModel, latents, { steps: n, shape: [B, N], rng: new Rng(3) });
    expect(maxRel(ours, x)).toBeLessThan(2e-5);
  });

  it("a wrong timestep reaching the model is caught (the check can fail)", () => {
    const s = () => createScheduler("DDIMScheduler", { ...SD, steps_offset: 1 });
    const a = runSchedulerLoop(s(), loopModel, latents, { steps: 10 });
    const b = runSchedulerLoop(s(), (x, t) => loopModel(x, t - 1), latents, { steps: 10 });
    expect(maxRel(a, b)).toBeGreaterThan(1e-4);
  });

  it("onStep sees every step; an aborted signal stops the loop; bad arguments name themselves", () => {
    const seen: number[] = [];
    runSchedulerLoop(createScheduler("DDIMScheduler", SD), loopModel, latents, { steps: 5, onStep: (e) => seen.push(e.t) });
    expect(seen).toEqual([800, 600, 400, 200, 0]);
    const ac2 = new AbortController();
    let calls = 0;
    expect(() =>
      runSchedulerLoop(createScheduler("DDIMScheduler", SD), (x, t) => (++calls === 2 && ac2.abort(new Error("stop")), loopModel(x, t)), latents, { steps: 5, signal: ac2.signal }),
    ).toThrow("stop");
    expect(calls).toBe(2);
    expectArgumentError(() => runSchedulerLoop(createScheduler("DDIMScheduler", SD), loopModel, latents, {}), "steps");
    expectArgumentError(() => runSchedulerLoop(createScheduler("DDIMScheduler", SD), loopModel, latents, { steps: 0 }), "steps");
    expectArgumentError(() => runSchedulerLoop(createScheduler("DDPMScheduler", SD), loopModel, latents, { steps: 4 }), "noise", /stochastic/);
    expectArgumentError(() => createScheduler("DDIMScheduler", { ...SD, beta_schedule: "quadratic" }), "beta_schedule");
    expectArgumentError(() => createScheduler("PLMSScheduler", SD), "className");
  });
});

describe("the library's samplers on a diffusers model (schedulerDenoiser, schedulerSigmas) agree with the schedulers", () => {
  // VE x at sigma = 0 is the VP sample: both runs end in diffusers' output space. Agreement is to float32
  // rounding of the per-step arithmetic (the VE samplers use float64 scalars, the schedulers PyTorch's
  // float32), accumulated over the steps: 1e-5 relative.
  it("sampleDdim (eta 0 and eta 1, same rng) = DDIMScheduler; the model sees the integer timesteps", () => {
    for (const eta of [0, 1]) {
      const s = createScheduler("DDIMScheduler", { ...SD, steps_offset: 1 });
      s.setTimesteps(12);
      const sigmas = schedulerSigmas(s);
      const seen = new Set<number>();
      const den = schedulerDenoiser(s, (x, t, batch) => {
        t.forEach((v) => seen.add(v));
        return net(x, t, batch);
      });
      const x = Float32Array.from(latents, (v) => v * Math.sqrt(1 + sigmas[0] * sigmas[0]));
      const lib = sampleDdim(den, x, sigmas, { batch: B, eta, rng: new Rng(5) }).x;
      expect([...seen].sort((a, b) => b - a)).toEqual(Array.from(s.timesteps));
      const sched = runSchedulerLoop(createScheduler("DDIMScheduler", { ...SD, steps_offset: 1 }), loopModel, latents, { steps: 12, shape: [B, N], eta, rng: new Rng(5) });
      expect(maxRel(lib, sched), `eta ${eta}`).toBeLessThan(1e-5);
    }
  });

  it("sampleDdpm (betaTilde, same rng) = DDPMScheduler fixed_small", () => {
    const s = createScheduler("DDPMScheduler", SD);
    s.setTimesteps(9);
    const sigmas = schedulerSigmas(s);
    const x = Float32Array.from(latents, (v) => v * Math.sqrt(1 + sigmas[0] * sigmas[0]));
    const lib = sampleDdpm(schedulerDenoiser(s, net), x, sigmas, { batch: B, rng: new Rng(6) }).x;
    const sched = runSchedulerLoop(createScheduler("DDPMScheduler", SD), loopModel, latents, { steps: 9, shape: [B, N], rng: new Rng(6) });
    expect(maxRel(lib, sched)).toBeLessThan(1e-5);
  });

  it("clip_sample and thresholding reach the Denoiser's x0; other prediction types are refused", () => {
    const clip = createScheduler("DDIMScheduler", { ...SD, clip_sample: true, clip_sample_range: 0.5 });
    const big = (x: Float32Array) => x.map(() => 9);
    const d = schedulerDenoiser(clip, big)(new Float32Array(6), Float64Array.of(1, 1), 2);
    // eps = 9 everywhere at x = 0: x0 = -sigma eps, clipped to -0.5
    expect(Array.from(d)).toEqual([-0.5, -0.5, -0.5, -0.5, -0.5, -0.5]);
    const th = createScheduler("DDIMScheduler", { ...SD, thresholding: true, sample_max_value: 4, prediction_type: "sample" });
    const y = schedulerDenoiser(th, (x) => x.map((_, j) => j))(new Float32Array(6), Float64Array.of(1, 1), 2);
    // item 1 holds 3, 4, 5: s = quantile(0.995) = 4.99 clamped to 4, x0 = clamp(x, -4, 4) / 4
    expect(y[5]).toBeCloseTo(1, 6);
    expect(y[3]).toBeCloseTo(0.75, 6);
  });
});
