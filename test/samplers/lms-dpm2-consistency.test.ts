// The samplers added for diffusers' LMS, KDPM2 and CM schedulers: LMS's exact coefficients (checked
// against scipy.integrate.quad and by the exactness law of Adams–Bashforth), the orders DPM2 and LMS reach
// as steps double, and consistency sampling's one-step law.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/rng.ts";
import { karrasSigmas } from "../../src/schedule/sigmas.ts";
import { getSampler, initialNoise, lmsCoefficient, lmsCoefficients, resolveSampler } from "../../src/samplers/index.ts";
import { GaussianMixture } from "../../src/testbed/mixture.ts";
import { expectArgumentError } from "../support/errors.ts";

const gm = GaussianMixture.example2d();

describe("LMS coefficients", () => {
  const s = [14.6, 6.1, 2.9, 1.2, 0.4, 0];
  it("equal scipy.integrate.quad's integrals of the Lagrange basis (diffusers' get_lms_coefficient, epsrel 1e-13)", () => {
    const quad: [number, number, number[]][] = [
      [1, 0, [-8.5]],
      [2, 1, [-3.80235294117647, 0.6023529411764704]],
      [3, 2, [-2.3188078703703705, 0.6817708333333333, -0.06296296296296298]],
      [4, 3, [-1.1089187913971559, 0.38079436902966307, -0.07479791916766707, 0.002922341535159796]],
      [4, 4, [-0.5634385964912282, 0.19827931172468993, -0.03749019607843137, 0.002649480844969568]],
    ];
    for (const [order, i, want] of quad) {
      const got = lmsCoefficients(s, i, order);
      want.forEach((w, j) => expect(got[j]).toBeCloseTo(w, 13));
    }
  });
  it("law: a slope polynomial of degree < order is integrated exactly (so the coefficients sum to the step)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0.05, max: 3, noNaN: true }), { minLength: 5, maxLength: 5 }),
        fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: 4, maxLength: 4 }),
        fc.integer({ min: 1, max: 4 }),
        (gaps, poly, order) => {
          // descending sigmas, slope d(sigma) = sum_m poly[m] sigma^m of degree order - 1
          const sig = [0];
          for (const g of gaps) sig.unshift(sig[0] + g);
          const d = (x: number) => poly.slice(0, order).reduce((a, c, m) => a + c * x ** m, 0);
          const D = (x: number) => poly.slice(0, order).reduce((a, c, m) => a + (c * x ** (m + 1)) / (m + 1), 0);
          const i = 4;
          const c = lmsCoefficients(sig, i, order);
          let sum = 0;
          for (let j = 0; j < order; j++) sum += c[j] * d(sig[i - j]);
          expect(sum).toBeCloseTo(D(sig[i + 1]) - D(sig[i]), 9);
        },
      ),
      { numRuns: 100 },
    );
  });
  it("refuses an order beyond the slopes there are", () => {
    expectArgumentError(() => lmsCoefficient(s, 1, 3, 0), "order");
    expectArgumentError(() => lmsCoefficient(s, 5, 1, 0), "i");
  });
});

describe("orders as steps double (2-D mixture, Karras sigmas 40 to 0.05, against tight RK45)", () => {
  const B = 200;
  const x0 = initialNoise(new Rng(11), B, 2, 40);
  // LMS's last step integrates to 0 rather than jumping to D, so both runs stop at 0.05 (openEnd)
  const ref = getSampler("rk45")(gm.denoiser, x0, [40, 0.05], { batch: B, rtol: 1e-10, atol: 1e-10, openEnd: true }).x;
  const err = (name: string, n: number) => {
    const y = getSampler(name)(gm.denoiser, x0, karrasSigmas(n + 1, 0.05, 40).subarray(0, n + 1), { batch: B, openEnd: true }).x;
    let e = 0;
    for (let j = 0; j < y.length; j++) e += (y[j] - ref[j]) ** 2;
    return Math.sqrt(e / y.length);
  };
  for (const [name, lo, ns] of [
    ["dpm_2", 1.7, [10, 20, 40, 80]],
    ["lms", 2.5, [10, 20, 40, 80]],
  ] as const) {
    it(`${name}: empirical order at least ${lo}`, () => {
      const e = ns.map((n) => err(name, n));
      const last = Math.log2(e[e.length - 2] / e[e.length - 1]);
      expect(last, `errors ${e.map((v) => v.toExponential(2)).join(", ")}`).toBeGreaterThan(lo);
    });
  }
});

describe("DPM2 ancestral and consistency sampling", () => {
  it("DPM2 ancestral with eta = 0 is DPM2", () => {
    const sig = karrasSigmas(8, 0.02, 20);
    const x = initialNoise(new Rng(2), 4, 2, 20);
    expect(Array.from(getSampler("dpm_2_ancestral")(gm.denoiser, x, sig, { batch: 4, eta: 0 }).x)).toEqual(Array.from(getSampler("dpm_2")(gm.denoiser, x, sig, { batch: 4 }).x));
  });
  it("one-step consistency sampling returns D(x, sigma_max); with sNoise = 0 every step is D of the last", () => {
    const x = initialNoise(new Rng(3), 4, 2, 80);
    const one = getSampler("consistency")(gm.denoiser, x, [80, 0], { batch: 4 }).x;
    expect(Array.from(one)).toEqual(Array.from(gm.denoiser(x, new Float64Array(4).fill(80), 4)));
    const two = getSampler("consistency")(gm.denoiser, x, [80, 5, 0], { batch: 4, sNoise: 0, rng: new Rng(1), sigmaMin: 0.002 }).x;
    expect(Array.from(two)).toEqual(Array.from(gm.denoiser(one, new Float64Array(4).fill(5), 4)));
    expectArgumentError(() => getSampler("consistency")(gm.denoiser, x, [80, 5, 0], { batch: 4 }), "rng");
  });
  it("the names people type resolve: LMS, DPM2, DPM2 a (with Karras), sample_lms, sample_dpm_2*, the diffusers classes", () => {
    expect(resolveSampler("LMS Karras")).toMatchObject({ name: "lms", schedule: "karras" });
    expect(resolveSampler("DPM2")).toMatchObject({ name: "dpm_2" });
    expect(resolveSampler("DPM2 a Karras")).toMatchObject({ name: "dpm_2_ancestral", schedule: "karras" });
    expect(resolveSampler("sample_dpm_2_ancestral").name).toBe("dpm_2_ancestral");
    expect(resolveSampler("sample_lms").name).toBe("lms");
    expect(resolveSampler("KDPM2DiscreteScheduler").name).toBe("dpm_2");
    expect(resolveSampler("CMStochasticIterativeScheduler").name).toBe("consistency");
    expect(resolveSampler("EDMEulerScheduler").name).toBe("euler");
  });
});
