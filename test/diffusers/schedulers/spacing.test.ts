// The shared tables of the multistep VP schedulers: sigma spacings (Karras, exponential, beta, flow), the
// beta quantile function behind use_beta_sigmas, timestep spacings, dynamic thresholding.
import { describe, expect, it } from "vitest";
import { createScheduler } from "../../../src/diffusers/schedulers/index.ts";
import { betaCdf, betaPpf, flowSpacing, karrasSpacing, sigmaToT } from "../../../src/diffusers/schedulers/sigma-spacing.ts";
import { dynamicThreshold } from "../../../src/diffusers/schedulers/thresholding.ts";
import { spacedTimesteps } from "../../../src/diffusers/schedulers/timestep-spacing.ts";

describe("sigma spacings", () => {
  it("the Beta CDF matches the arcsine law at a = b = 1/2 and the ppf inverts it", () => {
    for (const x of [1e-6, 0.01, 0.2, 0.5, 0.77, 0.999]) {
      expect(betaCdf(x, 0.5, 0.5)).toBeCloseTo((2 / Math.PI) * Math.asin(Math.sqrt(x)), 13);
      expect(betaPpf(betaCdf(x, 0.6, 0.6), 0.6, 0.6)).toBeCloseTo(x, 13);
    }
    expect(betaPpf(0.5, 0.6, 0.6)).toBeCloseTo(0.5, 15);
    expect([betaPpf(0, 0.6, 0.6), betaPpf(1, 0.6, 0.6)]).toEqual([0, 1]);
  });
  it("Karras spacing runs from sigma_max to sigma_min, equally spaced in sigma^(1/7)", () => {
    const k = karrasSpacing(0.01, 100, 6);
    expect(k[0]).toBeCloseTo(100, 10);
    expect(k[5]).toBeCloseTo(0.01, 12);
    const r = Array.from(k, (v) => v ** (1 / 7));
    for (let i = 1; i < 5; i++) expect(r[i] - r[i + 1]).toBeCloseTo(r[0] - r[1], 12);
  });
  it("sigmaToT inverts the table at its entries and interpolates log sigma between them", () => {
    const logs = [Math.log(0.1), Math.log(0.2), Math.log(0.4)];
    expect(sigmaToT(0.2, logs)).toBe(1);
    expect(sigmaToT(Math.sqrt(0.02), logs)).toBeCloseTo(0.5, 12);
    expect(sigmaToT(5, logs)).toBe(2);
    expect(sigmaToT(0.01, logs)).toBe(0);
  });
  it("flow sigmas are SD3's shifted linspace without its 0, and UniPC's flow timesteps are sigma * T truncated", () => {
    const f = flowSpacing(1000, 4, 3);
    const shift = (s: number) => (3 * s) / (1 + 2 * s);
    [0.999, 0.74925, 0.4995, 0.24975].map(shift).forEach((v, i) => expect(f[i]).toBeCloseTo(v, 14));
    const s = createScheduler("UniPCMultistepScheduler", { use_flow_sigmas: true, flow_shift: 3, prediction_type: "flow_prediction" });
    s.setTimesteps(4);
    expect(Array.from(s.timesteps)).toEqual(Array.from(f, (v) => Math.trunc(v * 1000)));
    expect(Array.from(s.timesteps)).toEqual([999, 899, 749, 499]);
    expect(s.sigmas?.[4]).toBe(0);
  });
});

describe("timestep spacing (Lin et al. 2023, Table 2)", () => {
  it("linspace, leading (UniPC's: multiples of T // (n + 1), plus steps_offset) and trailing give diffusers' tables", () => {
    expect(Array.from(spacedTimesteps("linspace", 10, 1000, 0))).toEqual([999, 899, 799, 699, 599, 500, 400, 300, 200, 100]);
    expect(Array.from(spacedTimesteps("leading", 10, 1000, 1))).toEqual([901, 811, 721, 631, 541, 451, 361, 271, 181, 91]);
    expect(Array.from(spacedTimesteps("trailing", 10, 1000, 0))).toEqual([999, 899, 799, 699, 599, 499, 399, 299, 199, 99]);
    expect(Array.from(spacedTimesteps("trailing", 3, 1000, 0))).toEqual([999, 666, 332]);
  });
});

describe("dynamic thresholding (Imagen)", () => {
  it("per item: s = the ratio quantile of |x0| clamped to [1, max]; x0 clipped to [-s, s] and divided by s", () => {
    // item 0: |x| = 0..4, the 0.75 quantile is 3 (max 2 -> s = 2); item 1 already inside [-1, 1] -> s = 1
    const x = Float32Array.of(0, -1, 2, -3, 4, 0.5, -0.25, 0.75, 0.1, -1);
    dynamicThreshold(x, 0.75, 2, [2, 5]);
    expect(Array.from(x)).toEqual([0, -0.5, 1, -1, 1, 0.5, -0.25, 0.75, Math.fround(0.1), -1]);
    // the quantile interpolates linearly: 0.5 of |0, 1, 2, 5| is 1.5
    const y = Float32Array.of(0, 1, 2, 5);
    dynamicThreshold(y, 0.5, 10);
    expect(Array.from(y)).toEqual([0, 1 / 1.5, 1, 1].map(Math.fround));
  });
});
