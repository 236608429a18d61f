// Exact likelihood against a Gaussian's closed form; guidance, inpainting, img2img, augmentation.
import { describe, expect, it } from "vitest";
import { guidedDenoiser } from "../../src/denoiser/guidance.ts";
import { Rng } from "../../src/rng.ts";
import { karrasSigmas } from "../../src/schedule/index.ts";
import { augment, getSampler, img2img, img2imgSigmas, initialNoise, inpaint, logLikelihood } from "../../src/samplers/index.ts";
import { GaussianMixture } from "../../src/testbed/mixture.ts";
import { ArgumentError } from "../../src/validate.ts";
import { componentStats, worstZ } from "../support/stats.ts";

describe("exact log-likelihood through the probability-flow ODE", () => {
  const g = new GaussianMixture({ weights: [1], means: [[0.5, -1]], covariances: [[[0.5, 0.2], [0.2, 0.3]]] });
  const B = 100;
  const xs = g.sample(B, new Rng(3));
  const closed = Array.from({ length: B }, (_, b) => g.logDensity(xs.subarray(2 * b, 2 * b + 2), 1e-3));
  const maxDiff = (ll: Float64Array) => Math.max(...closed.map((c, b) => Math.abs(ll[b] - c)));
  it("exact divergence with the exact prior matches N(x; mu, S + sigmaMin^2 I) to 1e-3 nats", () => {
    const r = logLikelihood(g.denoiser, xs, { batch: B, jvp: g.jvp, prior: (x, s) => g.logDensity(x, s) });
    const md = maxDiff(r.logLikelihood);
    expect(md, `max |error| in nats after ${r.nfe} ODE evaluations`).toBeLessThan(1e-3);
    for (let b = 0; b < B; b++) expect(r.bitsPerDim[b]).toBeCloseTo(-r.logLikelihood[b] / (2 * Math.LN2), 12);
  });
  it("finite-difference divergence and the default N(0, sigmaMax^2) prior stay within 0.06 nats", () => {
    const r = logLikelihood(g.denoiser, xs, { batch: B });
    const md = maxDiff(r.logLikelihood);
    expect(md, "max |error| in nats").toBeLessThan(0.06);
  });
  it("Hutchinson's estimator is unbiased: mean error within 4 standard errors", () => {
    const r = logLikelihood(g.denoiser, xs, { batch: B, jvp: g.jvp, divergence: "hutchinson", rng: new Rng(5), prior: (x, s) => g.logDensity(x, s) });
    const e = closed.map((c, b) => r.logLikelihood[b] - c);
    const mean = e.reduce((a, v) => a + v) / B;
    const sd = Math.sqrt(e.reduce((a, v) => a + (v - mean) ** 2, 0) / (B - 1));
    expect(Math.abs(mean), `|mean error| in nats (sd ${sd.toFixed(4)})`).toBeLessThan((4 * sd) / Math.sqrt(B) + 1e-3);
  });
  it("rejects bad arguments", () => {
    expect(() => logLikelihood(g.denoiser, xs, { batch: B, sigmaMin: 2, sigmaMax: 1 })).toThrow(ArgumentError);
    expect(() => logLikelihood(g.denoiser, xs, { batch: B, divergence: "hutchinson" })).toThrow(/rng/);
  });
});

describe("guidance and applications", () => {
  const gm = GaussianMixture.example2d();
  const N = 1000;
  it("classifier-free guidance: one batched call of 2B items; scale 1 samples the class, 0 the mixture", () => {
    const labels = new Int32Array(N).fill(1);
    let calls = 0;
    const model = (x: Float32Array, s: Float64Array, b: number, l?: Int32Array) => {
      calls++;
      expect(b).toBe(2 * N);
      return gm.conditionalDenoiser(x, s, b, l);
    };
    const sig = karrasSigmas(20, 0.002, 40);
    const x = getSampler("heun")(guidedDenoiser(model, labels, 1), initialNoise(new Rng(2), N, 2, 40), sig, { batch: N }).x;
    expect(calls).toBe(39);
    const st = componentStats(gm, x);
    expect(st.weight[1]).toBeGreaterThan(0.995);
    expect(Math.abs(st.mean[1][0] - 2)).toBeLessThan(4.5 * Math.sqrt(0.15 / N));
    const u = getSampler("heun")(guidedDenoiser(model, labels, 0), initialNoise(new Rng(2), N, 2, 40), sig, { batch: N }).x;
    expect(worstZ(gm, u).z).toBeLessThan(4.5);
    expect(() => guidedDenoiser(gm.denoiser as never, labels, 3)).toThrow(/conditional model/);
  });
  it("inpainting: the unknown coordinate follows p(x2 | x1) (RePaint resampling), the known one is kept", () => {
    // condition on x1 = -2: component 0 dominates; x2 | x1 ~ N(mu2 + S21/S11 (x1 - mu1), S22 - S21^2/S11)
    const known = new Float32Array(2 * N);
    const mask = new Float32Array(2 * N);
    for (let b = 0; b < N; b++) {
      known[2 * b] = -2;
      mask[2 * b] = 1;
    }
    // exact conditional mean/var of x2 given x1 = -2 under the mixture
    const d = gm.dim;
    let wsum = 0;
    let m1 = 0;
    let m2 = 0;
    for (let k = 0; k < gm.components; k++) {
      const S = (i: number, j: number) => gm.covariances[(k * d + i) * d + j];
      const mu = (i: number) => gm.means[k * d + i];
      const w = gm.weights[k] * Math.exp(-0.5 * (-2 - mu(0)) ** 2 / S(0, 0)) / Math.sqrt(S(0, 0));
      const cm = mu(1) + (S(1, 0) / S(0, 0)) * (-2 - mu(0));
      const cv = S(1, 1) - S(1, 0) ** 2 / S(0, 0);
      wsum += w;
      m1 += w * cm;
      m2 += w * (cv + cm * cm);
    }
    const mean = m1 / wsum;
    const variance = m2 / wsum - mean * mean;
    const sig = karrasSigmas(50, 0.002, 40);
    const x = inpaint(gm.denoiser, initialNoise(new Rng(3), N, 2, 40), sig, { batch: N, rng: new Rng(3), known, mask, resample: 4 }).x;
    let s1 = 0;
    let s2 = 0;
    for (let b = 0; b < N; b++) {
      expect(x[2 * b]).toBe(-2);
      s1 += x[2 * b + 1];
      s2 += x[2 * b + 1] ** 2;
    }
    const em = s1 / N;
    const ev = s2 / N - em * em;
    expect(Math.abs(em - mean), `x2 | x1 = -2: mean ${em.toFixed(4)}, exact ${mean.toFixed(4)}`).toBeLessThan(4.5 * Math.sqrt(variance / N));
    expect(Math.abs(ev - variance), `x2 | x1 = -2: variance ${ev.toFixed(4)}, exact ${variance.toFixed(4)}`).toBeLessThan(4.5 * variance * Math.sqrt(2 / N));
    expect(() => inpaint(gm.denoiser, known, sig, { batch: N, rng: new Rng(3), known, mask: new Float32Array(3) })).toThrow(ArgumentError);
  });
  it("img2img: strength picks the tail of the sigmas; low strength stays near the image, strength 1 samples the data", () => {
    const sig = karrasSigmas(20, 0.002, 40);
    expect(img2imgSigmas(sig, 1).length).toBe(21);
    expect(img2imgSigmas(sig, 0.5).length).toBe(11);
    expect(img2imgSigmas(sig, 0.01).length).toBe(2);
    for (const bad of [0, 1.5, Number.NaN]) expect(() => img2imgSigmas(sig, bad)).toThrow(/strength/);
    const image = new Float32Array(2 * N).fill(0.3);
    const near = img2img(getSampler("euler"), gm.denoiser, image, sig, { batch: N, rng: new Rng(4), strength: 0.2 }).x;
    let far = 0;
    for (let j = 0; j < near.length; j++) far = Math.max(far, Math.abs(near[j] - 0.3));
    expect(far).toBeLessThan(0.5);
    const full = img2img(getSampler("heun"), gm.denoiser, image, sig, { batch: N, rng: new Rng(4), strength: 1 }).x;
    expect(worstZ(gm, full).z).toBeLessThan(4.5);
    // cut short, it continues with the sampler over the tail it ran on, to the same bytes
    const o = { batch: 64, rng: new Rng(4), strength: 0.5 };
    const one = img2img(getSampler("dpmpp_2m_sde"), gm.denoiser, image.subarray(0, 128), sig, o);
    const part = img2img(getSampler("dpmpp_2m_sde"), gm.denoiser, image.subarray(0, 128), sig, { ...o, maxSteps: 4 });
    expect(part.step).toBe(4);
    const rest = getSampler("dpmpp_2m_sde")(gm.denoiser, part.x, img2imgSigmas(sig, 0.5), { ...o, from: part });
    expect(rest.step).toBe(10);
    expect(Array.from(rest.x)).toEqual(Array.from(one.x));
    expect(() => img2img(getSampler("euler"), gm.denoiser, image, sig, { ...o, from: part })).toThrow(/from/);
  });
  it("augment: class-conditional samples, the same whatever the chunk size", () => {
    const labels = Int32Array.from({ length: 10 }, (_, i) => i % 3);
    const cond = (l: Int32Array) => guidedDenoiser(gm.conditionalDenoiser, l, 1);
    const sig = karrasSigmas(10, 0.01, 40);
    const a = augment(getSampler("euler"), cond, sig, { labels, size: 2, rng: new Rng(6), chunk: 4 });
    const b = augment(getSampler("euler"), cond, sig, { labels, size: 2, rng: new Rng(6), chunk: 10 });
    expect(Array.from(a.x)).toEqual(Array.from(b.x));
    const assigned = gm.assign(a.x);
    expect(Array.from(assigned)).toEqual(Array.from(labels));
  });
});
