// DPS differentiates the denoiser with respect to its input (src/denoiser/input-gradient.ts). The
// vector-Jacobian product is checked against central differences of the inference path itself
// (networkDenoiser), along random directions: g . (D(x + h v) - D(x - h v)) / 2h = v . J^T g. The forward
// is float32, so the difference quotient carries ~eps32 |g| |D| / h of rounding; with h = 1e-2 the check
// |fd - vjp| <= 2e-2 (|fd| + 1e-2) is far above that and far below a missing term (c_skip, c_in, c_out)
// or a wrong item, which change the product by O(1).
import { describe, expect, it } from "vitest";
import { networkGradientDenoiser } from "../../src/denoiser/input-gradient.ts";
import { networkDenoiser } from "../../src/denoiser/network-denoiser.ts";
import { edmPreconditioner } from "../../src/denoiser/precondition.ts";
import { mixtureGradientDenoiser } from "../../src/inverse/gradient.ts";
import { UNet, type UNetConfig } from "../../src/nn/unet.ts";
import { Rng } from "../../src/rng.ts";
import { GaussianMixture } from "../../src/testbed/mixture.ts";

const cfg: UNetConfig = { kind: "unet", inChannels: 1, size: 8, channels: [8, 16], resBlocks: 1, attentionLevels: [1], groups: 4, embDim: 8, numClasses: 3 };
const net = new UNet(cfg).initialize(5);
// the output conv starts at zero (F = 0): perturb every weight so the network's Jacobian is not trivial
for (const [, p] of net.parameters()) for (let i = 0; i < p.data.length; i++) p.data[i] += 0.05 * Math.sin(7 * i + p.data.length);
const precond = edmPreconditioner(0.5, 0.002, 80);
const shape = [1, 8, 8];
const D = 64;
const B = 3;
const labels = Int32Array.from([0, 2, -1]);
const sigma = Float64Array.from([0.3, 1.5, 10]);
const rng = new Rng(3);
const x = rng.stream("x").randn(B, D);
for (let i = 0; i < x.length; i++) x[i] *= 1 + sigma[Math.floor(i / D)];
const g = rng.stream("g").randn(B, D);
const dot = (a: ArrayLike<number>, b: ArrayLike<number>, lo = 0, hi = a.length) => {
  let s = 0;
  for (let i = lo; i < hi; i++) s += a[i] * b[i];
  return s;
};

describe("networkGradientDenoiser", () => {
  const plain = networkDenoiser(net, precond, shape, labels);
  const withGrad = networkGradientDenoiser(net, precond, shape, labels, { microBatch: 2 });
  const { x0, grad } = withGrad(x, sigma, B, (_x0, first, count) => g.slice(first * D, (first + count) * D));

  it("gives the inference path's x0, bytes for bytes", () => {
    expect(Buffer.from(x0.buffer).equals(Buffer.from(plain(x, sigma, B).buffer))).toBe(true);
  });

  it("gives J^T g per item: matches central differences of networkDenoiser along random directions", () => {
    const h = 1e-2;
    for (let k = 0; k < 3; k++) {
      const v = rng.stream(`v${k}`).randn(B, D);
      const xp = Float32Array.from(x, (xi, i) => xi + h * v[i]);
      const xm = Float32Array.from(x, (xi, i) => xi - h * v[i]);
      const dp = plain(xp, sigma, B);
      const dm = plain(xm, sigma, B);
      for (let b = 0; b < B; b++) {
        let fd = 0;
        for (let i = b * D; i < (b + 1) * D; i++) fd += (g[i] * (dp[i] - dm[i])) / (2 * h);
        const an = dot(v, grad, b * D, (b + 1) * D);
        expect(Math.abs(fd - an), `item ${b}, direction ${k}: fd ${fd}, vjp ${an}`).toBeLessThan(2e-2 * (Math.abs(fd) + 1e-2));
      }
    }
  });

  it("does not depend on the micro-batch, and leaves no gradient on the weights", () => {
    const one = networkGradientDenoiser(net, precond, shape, labels, { microBatch: 1 })(x, sigma, B, (_x0, first, count) => g.slice(first * D, (first + count) * D));
    expect(Buffer.from(one.grad.buffer).equals(Buffer.from(grad.buffer))).toBe(true);
    for (const [name, p] of net.parameters()) {
      expect(p.grad, name).toBeNull();
      expect(p.requiresGrad, name).toBe(true);
    }
  });

  it("passes the gradient straight through at sigma = 0 (D(x; 0) = x)", () => {
    const r = withGrad(x, new Float64Array(B), B, (_x0, first, count) => g.slice(first * D, (first + count) * D));
    expect(Array.from(r.grad)).toEqual(Array.from(g));
  });
});

describe("mixtureGradientDenoiser", () => {
  it("gives J^T g of the exact mixture denoiser (central differences)", () => {
    const gm = GaussianMixture.example2d();
    const gd = mixtureGradientDenoiser(gm);
    const xs = Float32Array.from([0.3, -0.2, 1.5, 0.4]);
    const s = Float64Array.from([0.5, 2]);
    const gg = Float32Array.from([0.7, -1.1, 0.2, 0.9]);
    const { grad } = gd(xs, s, 2, () => gg);
    const h = 1e-3;
    for (let j = 0; j < 4; j++) {
      const xp = Float32Array.from(xs);
      const xm = Float32Array.from(xs);
      xp[j] += h;
      xm[j] -= h;
      const dp = gm.denoise(xp, s, 2);
      const dm = gm.denoise(xm, s, 2);
      const b = Math.floor(j / 2);
      const fd = (gg[2 * b] * (dp[2 * b] - dm[2 * b]) + gg[2 * b + 1] * (dp[2 * b + 1] - dm[2 * b + 1])) / (2 * h);
      expect(grad[j]).toBeCloseTo(fd, 2);
    }
  });
});
