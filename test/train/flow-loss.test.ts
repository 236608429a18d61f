// The flow-matching loss (train/loss.ts with the flow preconditioner): its minimiser is the conditional
// expectation E[eps - x0 | x_t], checked on the Gaussian-mixture test bed by the orthogonality principle
// (the residual of the minimiser is uncorrelated with every function of (x_t, t)); and its t draws: uniform,
// and logit-normal with SD3's density.

import { describe, expect, it } from "vitest";
import { Tensor } from "../../src/autograd/tensor.ts";
import type { Network } from "../../src/denoiser/network.ts";
import { flowPreconditioner } from "../../src/denoiser/precondition.ts";
import { Rng } from "../../src/rng.ts";
import { RectifiedFlow } from "../../src/schedule/flow.ts";
import { GaussianMixture } from "../../src/testbed/mixture.ts";
import { diffusionLoss, drawSigmas, type SigmaSampling } from "../../src/train/loss.ts";
import { dkwBound, normalCdf, Z } from "../support/stats.ts";

const gm = GaussianMixture.example2d();
const B = 20000;

/** A "network" that outputs a given function of (x_t, t) as a leaf tensor, so the loss's gradient gives the residual. */
function fieldNet(f: (xt: Float32Array, t: Float64Array, batch: number) => Float32Array): Network & { last: Tensor | null } {
  const net = {
    last: null as Tensor | null,
    config: { numClasses: 0 },
    parameters: () => new Map<string, Tensor>(),
    forward(x: Tensor, cNoise: ArrayLike<number>): Tensor {
      net.last = new Tensor(f(x.data, Float64Array.from(cNoise), x.shape[0]), x.shape, { requiresGrad: true });
      return net.last;
    },
  };
  return net;
}

/** The exact velocity E[eps - x0 | x_t] = (x_t - E[x0 | x_t]) / t of the mixture. */
const exactVelocity = (xt: Float32Array, t: Float64Array, batch: number): Float32Array => {
  const d = gm.denoiser(Float32Array.from(xt, (v, j) => v / (1 - t[Math.floor(j / 2)])), t.map((v) => v / (1 - v)), batch);
  return Float32Array.from(xt, (v, j) => (v - d[j]) / t[Math.floor(j / 2)]);
};

/** mean and standard error of the residual r = f - target times g(x_t, t), over the batch. */
function crossTerm(f: typeof exactVelocity, g: (xt: number, t: number) => number, sigmas: SigmaSampling): { mean: number; se: number } {
  const net = fieldNet(f);
  const pre = flowPreconditioner();
  const x0 = gm.sample(B, new Rng(1));
  const loss = diffusionLoss(net, pre, { sigmas, weighting: { kind: "simple" }, labelDropout: 0 }, x0, [B, 2], new Rng(2).stream("step"));
  loss.backward();
  const F = net.last as Tensor;
  // d loss / dF = 2 (F - target) / (B D): the residual, as the loss computed it
  const grad = F.grad as Float32Array;
  // the network saw x_t = c_in x and t = c_noise; rebuild them from its input
  const prods = new Float64Array(F.size);
  for (let i = 0; i < F.size; i++) {
    const r = (grad[i] * F.size) / 2;
    prods[i] = r * g(xtSeen[i], tSeen[Math.floor(i / 2)]);
  }
  const mean = prods.reduce((a, b) => a + b, 0) / prods.length;
  const v = prods.reduce((a, b) => a + (b - mean) ** 2, 0) / (prods.length - 1);
  return { mean, se: Math.sqrt(v / prods.length) };
}
let xtSeen = new Float32Array(0);
let tSeen = new Float64Array(0);
const recording = (f: typeof exactVelocity): typeof exactVelocity => (xt, t, batch) => {
  xtSeen = Float32Array.from(xt);
  tSeen = Float64Array.from(t);
  return f(xt, t, batch);
};

describe("the flow-matching loss", () => {
  const tests: [string, (xt: number, t: number) => number][] = [
    ["1", () => 1],
    ["x_t", (x) => x],
    ["t x_t^2", (x, t) => t * x * x],
    ["sin(3 x_t)", (x) => Math.sin(3 * x)],
  ];
  for (const [name, sampling] of [["logit-normal t", { kind: "logit-normal", m: 0, s: 1 }], ["uniform t", { kind: "uniform-t", schedule: new RectifiedFlow() }]] as const) {
    it(`with ${name}: the minimiser E[eps - x0 | x_t] leaves a residual uncorrelated with every test function (Z standard errors)`, () => {
      for (const [, g] of tests) {
        const c = crossTerm(recording(exactVelocity), g, sampling);
        expect(Math.abs(c.mean)).toBeLessThan(Z * c.se);
      }
    });
  }

  it("a predictor that is not the conditional expectation fails the same check (the test can fail)", () => {
    // the velocity of the mixture noised with the wrong time (t' = 0.8 t): its error correlates with x_t
    const wrong = (xt: Float32Array, t: Float64Array, batch: number) => exactVelocity(xt, t.map((v) => 0.8 * v), batch);
    const c = crossTerm(recording(wrong), (x) => x, { kind: "logit-normal", m: 0, s: 1 });
    expect(Math.abs(c.mean)).toBeGreaterThan(Z * c.se);
  });
});

describe("flow-matching t draws", () => {
  it("logit-normal: t = sigma / (1 + sigma) has CDF Phi((logit t - m) / s) (SD3 eq. 19), by the DKW bound", () => {
    const n = 20000;
    const m = 0.5;
    const s = 0.8;
    const u = new Rng(3).uniform(new Float64Array(n));
    const z = new Rng(4).normal(new Float64Array(n));
    const t = Array.from(drawSigmas({ kind: "logit-normal", m, s }, u, z), (sg) => sg / (1 + sg)).sort((a, b) => a - b);
    let worst = 0;
    t.forEach((v, i) => {
      const F = normalCdf((Math.log(v / (1 - v)) - m) / s);
      worst = Math.max(worst, Math.abs(F - (i + 1) / n), Math.abs(F - i / n));
    });
    expect(worst).toBeLessThan(dkwBound(n));
  });

  it("uniform: t = sigma / (1 + sigma) is uniform on [1e-3, 1) (the loss keeps 1e-3 off t = 0)", () => {
    const n = 20000;
    const u = new Rng(5).uniform(new Float64Array(n));
    const t = Array.from(drawSigmas({ kind: "uniform-t", schedule: new RectifiedFlow() }, u, new Float64Array(n)), (sg) => sg / (1 + sg)).sort((a, b) => a - b);
    expect(t[0]).toBeGreaterThanOrEqual(1e-3 - 1e-12);
    let worst = 0;
    t.forEach((v, i) => {
      const F = (v - 1e-3) / (1 - 1e-3);
      worst = Math.max(worst, Math.abs(F - (i + 1) / n), Math.abs(F - i / n));
    });
    expect(worst).toBeLessThan(dkwBound(n));
  });
});
