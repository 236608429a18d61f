// The network wrappers (src/denoiser/wrappers.ts, network-denoiser.ts, src/diffusers/denoiser.ts) against the exact
// denoiser of the Gaussian-mixture test bed: a network that outputs the true eps, x0, v or score of the
// point it is shown, in its own space (VP or VE), must come out of every wrapper as the mixture's
// E[x0 | x]. The true kinds are written out here from Tweedie's formula, not taken from conversions.ts.
import { describe, expect, it } from "vitest";
import { Tensor } from "../../src/autograd/tensor.ts";
import type { Prediction } from "../../src/denoiser/conversions.ts";
import type { Network } from "../../src/denoiser/network.ts";
import { networkDenoiser } from "../../src/denoiser/network-denoiser.ts";
import { edmPreconditioner, vpPreconditioner } from "../../src/denoiser/precondition.ts";
import { discreteDenoiser, edmDenoiser, predictionDenoiser, type Model } from "../../src/denoiser/wrappers.ts";
import { createScheduler, schedulerDenoiser, schedulerSigmas, trainingAlphasCumprod } from "../../src/diffusers/index.ts";
import { Rng } from "../../src/rng.ts";
import { VPLinear } from "../../src/schedule/continuous.ts";
import { discreteSchedule } from "../../src/schedule/discrete.ts";
import { GaussianMixture } from "../../src/testbed/mixture.ts";
import { U32 } from "../support/ulp.ts";

const gm = GaussianMixture.example2d();
const d = gm.dim;
const KINDS: readonly Prediction[] = ["eps", "x0", "v", "score"];

/** B noisy points x = x0 + sigma n of the mixture, sigma log-uniform in [lo, hi] (VE space). */
function noisy(B: number, seed: number, lo = 0.02, hi = 80): { x: Float32Array; sigma: Float64Array } {
  const rng = new Rng(seed);
  const x0 = gm.sample(B, rng.stream("x0"));
  const n = rng.stream("n").randn(B, d);
  const u = rng.stream("sigma").uniform(new Float64Array(B));
  const sigma = Float64Array.from(u, (v) => lo * (hi / lo) ** v);
  const x = Float32Array.from(x0, (v, i) => v + sigma[Math.floor(i / d)] * n[i]);
  return { x, sigma };
}

/** VP: the network sees x_vp = alpha x, alpha = 1/sqrt(1 + sigma^2), noise level sigma_vp = alpha sigma. */
const vpAlpha = (sigma: number) => 1 / Math.sqrt(1 + sigma * sigma);

/**
 * The oracle network: shown x_in = a x (a = alpha in VP space, 1 in VE space) at VE level sigma (decoded
 * from its noise input by `sigmaOf`), it outputs the true kind in its own frame x_in = a x0 + s eps,
 * s = a sigma: x0 = D, eps = (x - D) / sigma, v = a eps - s x0 (Salimans & Ho 2022), score = -eps / s.
 */
function oracle(kind: Prediction, space: "vp" | "ve", sigmaOf: (c: number) => number): Model {
  return (xin, cNoise, batch) => {
    const sigma = Float64Array.from(cNoise, sigmaOf);
    const a = Float64Array.from(sigma, (s) => (space === "vp" ? vpAlpha(s) : 1));
    const x = Float32Array.from(xin, (v, i) => v / a[Math.floor(i / d)]);
    const D = gm.denoiser(x, sigma, batch);
    return Float32Array.from(D, (x0, i) => {
      const b = Math.floor(i / d);
      const eps = (x[i] - x0) / sigma[b];
      const s = a[b] * sigma[b];
      return kind === "x0" ? x0 : kind === "eps" ? eps : kind === "v" ? a[b] * eps - s * x0 : -eps / s;
    });
  };
}

/**
 * |got - D(x)| per value, in units of the float32 rounding it can carry: the network input x_in = a x and
 * the output are float32 (relative U32 each), and recombining them cancels up to |x| + |D| (eps at large
 * sigma: x0 = x - sigma eps). 8 U32 (|x| + |D| + 1) leaves room for the mixture's own float32 rounding and
 * its slope (the worst seen here is 2 U32); a wrong coefficient (sigma for sigma_vp, a missing alpha, an
 * off-by-one timestep) is off by orders of magnitude more.
 */
function worst(got: Float32Array, x: Float32Array, sigma: Float64Array): number {
  const want = gm.denoiser(x, sigma, sigma.length);
  let w = 0;
  for (let i = 0; i < got.length; i++) w = Math.max(w, Math.abs(got[i] - want[i]) / (8 * U32 * (Math.abs(x[i]) + Math.abs(want[i]) + 1)));
  return w;
}

describe("predictionDenoiser: an exact network of any kind is the exact denoiser", () => {
  const { x, sigma } = noisy(400, 1);
  // c_noise = ln(sigma) / 4 (EDM's); the oracle inverts it
  const cNoise = (s: number) => Math.log(s) / 4;
  const sigmaOf = (c: number) => Math.exp(4 * c);
  for (const space of ["vp", "ve"] as const) {
    for (const kind of KINDS) {
      it(`${kind} in ${space.toUpperCase()} space`, () => {
        const den = predictionDenoiser(oracle(kind, space, sigmaOf), { prediction: kind, space, cNoise });
        expect(worst(den(x, sigma, 400), x, sigma)).toBeLessThanOrEqual(1);
      });
    }
  }

  it("clip clamps the x0 estimate to [-clip, clip] and nothing else", () => {
    const free = predictionDenoiser(oracle("eps", "vp", sigmaOf), { prediction: "eps", space: "vp", cNoise })(x, sigma, 400);
    const clipped = predictionDenoiser(oracle("eps", "vp", sigmaOf), { prediction: "eps", space: "vp", cNoise, clip: 1 })(x, sigma, 400);
    expect(free.some((v) => Math.abs(v) > 1)).toBe(true);
    clipped.forEach((v, i) => expect(v).toBe(Math.fround(Math.max(-1, Math.min(1, free[i])))));
  });
});

describe("discreteDenoiser: a DDPM network called at its 0-indexed timestep", () => {
  const sched = discreteSchedule("linear");
  const veSigma = (t: number) => sched.sigma(t) / sched.alpha(t); // our t = 1..T
  const B = 300;
  const rng = new Rng(2);
  const t = Array.from(rng.stream("t").uniform(new Float64Array(B)), (u) => 1 + Math.floor(u * sched.T));
  const sigma = Float64Array.from(t, veSigma);
  const x0 = gm.sample(B, rng.stream("x0"));
  const n = rng.stream("n").randn(B, d);
  const x = Float32Array.from(x0, (v, i) => v + sigma[Math.floor(i / d)] * n[i]);

  it("at the schedule's own sigmas the network sees diffusers' timestep t - 1 (fractional, within 1e-6)", () => {
    const seen: number[] = [];
    const probe: Model = (xin, c) => {
      seen.push(...c);
      return new Float32Array(xin.length);
    };
    discreteDenoiser(probe, sched, "eps")(x, sigma, B);
    seen.forEach((c, b) => expect(Math.abs(c - (t[b] - 1))).toBeLessThan(1e-6));
  });

  for (const kind of ["eps", "x0", "v"] as const) {
    it(`an exact ${kind} network (round: true) is the exact denoiser`, () => {
      const sigmaOf = (c: number) => {
        expect(Number.isInteger(c)).toBe(true);
        return veSigma(c + 1);
      };
      const den = discreteDenoiser(oracle(kind, "vp", sigmaOf), sched, kind, { round: true });
      expect(worst(den(x, sigma, B), x, sigma)).toBeLessThanOrEqual(1);
    });
  }
});

describe("schedulerDenoiser: a diffusers-convention network under a scheduler config", () => {
  for (const [type, kind] of [["epsilon", "eps"], ["sample", "x0"], ["v_prediction", "v"]] as const) {
    it(`an exact ${type} network called at the run's sigmas is the exact denoiser`, () => {
      const sched = createScheduler("DDIMScheduler", { prediction_type: type, clip_sample: false });
      sched.setTimesteps(25);
      const sigmas = schedulerSigmas(sched);
      const ac = trainingAlphasCumprod(sched);
      // diffusers' VE sigma of timestep t: sqrt((1 - alphas_cumprod[t]) / alphas_cumprod[t])
      const net = oracle(kind, "vp", (tt) => {
        expect(Number.isInteger(tt)).toBe(true);
        return Math.sqrt((1 - ac[tt]) / ac[tt]);
      });
      const den = schedulerDenoiser(sched, (xin, tt, batch) => net(xin, tt, batch));
      const B = 25 * 8;
      const sigma = Float64Array.from({ length: B }, (_, i) => sigmas[i % 25]);
      const rng = new Rng(3);
      const x0 = gm.sample(B, rng.stream("x0"));
      const n = rng.stream("n").randn(B, d);
      const x = Float32Array.from(x0, (v, i) => v + sigma[Math.floor(i / d)] * n[i]);
      expect(worst(den(x, sigma, B), x, sigma)).toBeLessThanOrEqual(1);
    });
  }
});

/** A Network whose forward is a plain function (no parameters): what networkDenoiser calls. */
function functionNetwork(fn: Model, numClasses: number): Network {
  return {
    forward: (x: Tensor, cNoise: ArrayLike<number>, labels?: Int32Array) => new Tensor(fn(x.data, Float64Array.from(cNoise), x.shape[0], labels), x.shape),
    parameters: () => new Map(),
    config: { numClasses },
  };
}

describe("edmDenoiser and the preconditioned network denoiser", () => {
  it("edmDenoiser gives the bytes of networkDenoiser under edmPreconditioner on the same network (sigma = 0 included)", () => {
    const { x, sigma } = noisy(64, 4, 0.002, 80);
    sigma[5] = 0;
    const labels = Int32Array.from({ length: 64 }, (_, b) => b % 3);
    const fn: Model = (xin, c, batch, l) => Float32Array.from(xin, (v, i) => Math.tanh(1.3 * v + c[Math.floor(i / d)]) + 0.25 * (l ? l[Math.floor(i / d)] : -1));
    for (const sd of [0.5, 0.6, 1]) {
      const a = edmDenoiser(fn, sd)(x, sigma, 64, labels);
      const b = networkDenoiser(functionNetwork(fn, 3), edmPreconditioner(sd), [d])(x, sigma, 64, labels);
      expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    }
    // and they depend on the labels (so passing them on is tested)
    const ul = edmDenoiser(fn, 0.5)(x, sigma, 64);
    expect(Buffer.from(ul.buffer).equals(Buffer.from(edmDenoiser(fn, 0.5)(x, sigma, 64, labels).buffer))).toBe(false);
  });

  it("an EDM network that outputs its regression target is the exact denoiser (Karras et al. 2022, Table 1)", () => {
    const { x, sigma } = noisy(400, 5);
    const sd = 0.5;
    // c_skip = sd^2 / (s^2 + sd^2), c_out = s sd / sqrt(s^2 + sd^2), c_in = 1 / sqrt(s^2 + sd^2), c_noise = ln(s) / 4
    const F: Model = (xin, c, batch) => {
      const s = Float64Array.from(c, (v) => Math.exp(4 * v));
      const xs = Float32Array.from(xin, (v, i) => v * Math.sqrt(s[Math.floor(i / d)] ** 2 + sd * sd));
      const D = gm.denoiser(xs, s, batch);
      return Float32Array.from(D, (x0, i) => {
        const q = s[Math.floor(i / d)] ** 2 + sd * sd;
        return (x0 - ((sd * sd) / q) * xs[i]) / ((s[Math.floor(i / d)] * sd) / Math.sqrt(q));
      });
    };
    expect(worst(edmDenoiser(F, sd)(x, sigma, 400), x, sigma)).toBeLessThanOrEqual(1);
  });

  for (const kind of ["eps", "x0", "v"] as const) {
    it(`networkDenoiser under vpPreconditioner("${kind}") with an exact ${kind} network is the exact denoiser`, () => {
      const sched = new VPLinear();
      const p = vpPreconditioner(kind, sched);
      const { x, sigma } = noisy(400, 6, p.sigmaMin, p.sigmaMax);
      // c_noise is the schedule's time t of that sigma: the oracle reads sigma back from t
      const net = functionNetwork(oracle(kind, "vp", (t) => sched.sigma(t) / sched.alpha(t)), 0);
      expect(worst(networkDenoiser(net, p, [d])(x, sigma, 400), x, sigma)).toBeLessThanOrEqual(1);
    });
  }
});
