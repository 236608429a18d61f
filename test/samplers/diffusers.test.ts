// diffusers compatibility, checked against values derived independently from diffusers' documented
// formulas: known timesteps and sigmas, and whole sampling loops transcribed from the schedulers' step()
// math in float64 on a toy discrete model.
import { describe, expect, it } from "vitest";
import { diffusersAlphasCumprod, diffusersPlan, sampleDiffusers, type DiffusersConfig } from "../../src/diffusers/index.ts";
import { Rng } from "../../src/rng.ts";

const SD: DiffusersConfig = { beta_start: 0.00085, beta_end: 0.012, beta_schedule: "scaled_linear", num_train_timesteps: 1000 };

/** A toy discrete model: depends on x and on t (so off-by-one timesteps show). */
const model = (x: Float32Array, t: Float64Array, batch: number) => {
  const n = x.length / batch;
  const out = new Float32Array(x.length);
  for (let b = 0; b < batch; b++) for (let j = b * n; j < (b + 1) * n; j++) out[j] = 0.6 * Math.tanh(x[j]) * (1 + t[b] / 700) + 0.05 * Math.sin(t[b] / 37 + j);
  return out;
};

const B = 4;
const latents = new Rng(9).randn(B, 3);
const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string) => {
  let md = 0;
  for (let j = 0; j < a.length; j++) md = Math.max(md, Math.abs(a[j] - b[j]) / Math.max(1, Math.abs(b[j])));
  expect(md, `${what}: max relative difference`).toBeLessThan(tol);
};

describe("timesteps and sigmas of known configs", () => {
  it("DDIM, SD config (leading, steps_offset 1, 50 steps): 981, 961, ..., 1", () => {
    const p = diffusersPlan("DDIMScheduler", { ...SD, steps_offset: 1 }, 50);
    expect(Array.from(p.timesteps)).toEqual(Array.from({ length: 50 }, (_, i) => 981 - 20 * i));
    expect(p.sigmas[p.sigmas.length - 1]).toBe(0);
  });
  it("DPM-Solver multistep linspace, 10 steps: 999, 899, ..., 500 (half to even), ..., 100", () => {
    expect(Array.from(diffusersPlan("DPMSolverMultistepScheduler", SD, 10).timesteps)).toEqual([999, 899, 799, 699, 599, 500, 400, 300, 200, 100]);
  });
  it("Euler linspace (float timesteps), leading with offset, trailing", () => {
    expect(Array.from(diffusersPlan("EulerDiscreteScheduler", SD, 10).timesteps)).toEqual([999, 888, 777, 666, 555, 444, 333, 222, 111, 0]);
    expect(Array.from(diffusersPlan("EulerDiscreteScheduler", { ...SD, timestep_spacing: "leading", steps_offset: 1 }, 10).timesteps)).toEqual([901, 801, 701, 601, 501, 401, 301, 201, 101, 1]);
    expect(Array.from(diffusersPlan("DDIMScheduler", { ...SD, timestep_spacing: "trailing" }, 7).timesteps)).toEqual([999, 856, 713, 570, 428, 285, 142]);
    expect(Array.from(diffusersPlan("DDPMScheduler", { ...SD, timestep_spacing: "linspace" }, 4).timesteps)).toEqual([999, 666, 333, 0]);
  });
  it("Stable Diffusion's sigma range 0.0292 .. 14.6146 and init_noise_sigma", () => {
    const p = diffusersPlan("EulerDiscreteScheduler", SD, 1000);
    expect(p.sigmas[0]).toBeCloseTo(14.6146, 3);
    expect(p.sigmas[999]).toBeCloseTo(0.0292, 4);
    expect(p.initNoiseSigma).toBe(p.sigmas[0]);
    const q = diffusersPlan("EulerDiscreteScheduler", { ...SD, timestep_spacing: "leading" }, 10);
    expect(q.initNoiseSigma).toBeCloseTo(Math.sqrt(q.sigmas[0] ** 2 + 1), 5);
    const k = diffusersPlan("EulerDiscreteScheduler", { ...SD, use_karras_sigmas: true }, 10);
    expect(k.sigmas[0]).toBeCloseTo(14.6146, 3);
    expect(k.sigmas[9]).toBeCloseTo(0.0292, 4);
    expect(k.timesteps[0]).toBeCloseTo(999, 3);
  });
});

describe("whole loops match transcriptions of diffusers' step()", () => {
  const ac = diffusersAlphasCumprod(SD);
  it("EulerDiscreteScheduler (epsilon and v_prediction)", () => {
    for (const pt of ["epsilon", "v_prediction"] as const) {
      const p = diffusersPlan("EulerDiscreteScheduler", { ...SD, prediction_type: pt }, 12);
      const x = Float64Array.from(latents, (v) => v * p.initNoiseSigma);
      for (let i = 0; i < 12; i++) {
        const s = p.sigmas[i];
        const inp = Float32Array.from(x, (v) => v / Math.sqrt(s * s + 1));
        const out = model(inp, new Float64Array(B).fill(p.timesteps[i]), B);
        for (let j = 0; j < x.length; j++) {
          const x0 = pt === "epsilon" ? x[j] - s * out[j] : out[j] * (-s / Math.sqrt(s * s + 1)) + x[j] / (s * s + 1);
          const d = (x[j] - x0) / s;
          x[j] = x[j] + d * (p.sigmas[i + 1] - s);
        }
      }
      const ours = sampleDiffusers(p, model, Float32Array.from(latents, (v) => v * p.initNoiseSigma), { batch: B });
      close(ours, x, 2e-5, `Euler ${pt}`);
    }
  });
  it("DDIMScheduler (leading + offset; set_alpha_to_one true and false)", () => {
    for (const one of [true, false]) {
      const n = 10;
      const cfg = { ...SD, steps_offset: 1, set_alpha_to_one: one };
      const p = diffusersPlan("DDIMScheduler", cfg, n);
      const x = Float64Array.from(latents);
      for (const t of p.timesteps) {
        const prev = t - 1000 / n;
        const at = ac[t];
        const ap = prev >= 0 ? ac[prev] : one ? 1 : ac[0];
        const eps = model(Float32Array.from(x), new Float64Array(B).fill(t), B);
        for (let j = 0; j < x.length; j++) {
          const x0 = (x[j] - Math.sqrt(1 - at) * eps[j]) / Math.sqrt(at);
          x[j] = Math.sqrt(ap) * x0 + Math.sqrt(1 - ap) * eps[j];
        }
      }
      const ours = sampleDiffusers(p, model, latents, { batch: B });
      close(ours, x, 2e-5, `DDIM set_alpha_to_one=${one}`);
    }
  });
  it("DDPMScheduler fixed_small, given the same noise", () => {
    const n = 8;
    const p = diffusersPlan("DDPMScheduler", SD, n);
    const rng = new Rng(3);
    const x = Float64Array.from(latents);
    const ts = Array.from(p.timesteps);
    ts.forEach((t, i) => {
      const prev = i + 1 < ts.length ? ts[i + 1] : -1;
      const at = ac[t];
      const ap = prev >= 0 ? ac[prev] : 1;
      const beta = 1 - at / ap;
      const eps = model(Float32Array.from(x), new Float64Array(B).fill(t), B);
      const z = rng.stream(i).randn(B, 3, 0);
      const variance = Math.max(((1 - ap) / (1 - at)) * beta, 1e-20);
      for (let j = 0; j < x.length; j++) {
        const x0 = (x[j] - Math.sqrt(1 - at) * eps[j]) / Math.sqrt(at);
        const mean = ((Math.sqrt(ap) * beta) / (1 - at)) * x0 + ((Math.sqrt(1 - beta) * (1 - ap)) / (1 - at)) * x[j];
        // our noise is in VE space: z_ve = z; the VP noise is sqrt(variance) z
        x[j] = mean + (t > 0 && prev >= 0 ? Math.sqrt(variance) * z[j] : 0);
      }
    });
    // our loop runs in VE space: its step-i noise sqrt(var_ve) z equals the VP noise divided by sqrt(ap)
    const ours = sampleDiffusers(p, model, latents, { batch: B, rng: new Rng(3) });
    close(ours, x, 2e-5, "DDPM");
  });
  it("DPMSolverMultistepScheduler dpmsolver++ 2M (midpoint, lower_order_final)", () => {
    const n = 10;
    const p = diffusersPlan("DPMSolverMultistepScheduler", SD, n);
    const x = Float64Array.from(latents);
    let m1: Float64Array | null = null;
    let hPrev = 0;
    const am = (s: number) => [1 / Math.sqrt(s * s + 1), s / Math.sqrt(s * s + 1)];
    for (let i = 0; i < n; i++) {
      const s = p.sigmas[i];
      const sn = p.sigmas[i + 1];
      const [as, ss] = am(s);
      const eps = model(Float32Array.from(x), new Float64Array(B).fill(p.timesteps[i]), B);
      const m0 = Float64Array.from(x, (v, j) => (v - ss * eps[j]) / as);
      if (sn === 0) {
        x.set(m0);
      } else {
        const [at, st] = am(sn);
        const h = Math.log(at / st) - Math.log(as / ss);
        for (let j = 0; j < x.length; j++) {
          let v = (st / ss) * x[j] - at * Math.expm1(-h) * m0[j];
          if (m1) v += -0.5 * at * Math.expm1(-h) * (m0[j] - m1[j]) / (hPrev / h);
          x[j] = v;
        }
        hPrev = h;
      }
      m1 = m0;
    }
    const ours = sampleDiffusers(p, model, latents, { batch: B });
    close(ours, x, 2e-5, "DPM-Solver++ 2M");
  });
  it("a wrong timestep mapping is caught (the check can fail)", () => {
    const p = diffusersPlan("DDIMScheduler", { ...SD, steps_offset: 1 }, 10);
    const shifted = { ...p, timesteps: p.timesteps.map((t) => t - 1) };
    const a = sampleDiffusers(p, model, latents, { batch: B });
    const b = sampleDiffusers(shifted, model, latents, { batch: B });
    let md = 0;
    for (let j = 0; j < a.length; j++) md = Math.max(md, Math.abs(a[j] - b[j]));
    expect(md).toBeGreaterThan(1e-4);
  });
  it("bad configs name the key", () => {
    expect(() => diffusersPlan("PNDMScheduler" as never, SD, 10)).toThrow(/scheduler/);
    expect(() => diffusersPlan("DDIMScheduler", { ...SD, beta_schedule: "quadratic" as never }, 10)).toThrow(/beta_schedule/);
    expect(() => diffusersPlan("DDIMScheduler", SD, 0)).toThrow(/steps/);
  });
});
