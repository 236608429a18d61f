// Solver orders, DDIM = Euler, resumability, batch invariance, Langevin convergence, bad arguments.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/rng.ts";
import { karrasSigmas } from "../../src/schedule/index.ts";
import { GaussianMixture } from "../../src/testbed/mixture.ts";
import {
  ancestralStep,
  ancestralUpdate,
  type Carry,
  getSampler,
  initialNoise,
  inpaint,
  SAMPLER_NAMES,
  type SamplerFn,
  SamplingError,
} from "../../src/samplers/index.ts";
import { ArgumentError } from "../../src/validate.ts";
import { expectArgumentError } from "../support/errors.ts";
import { energyDistance } from "../support/stats.ts";

const gm = GaussianMixture.example2d();

describe("ODE solvers show their order as steps double", () => {
  const B = 200;
  const x0 = initialNoise(new Rng(11), B, 2, 40);
  const SMIN = 0.05;
  // reference: adaptive RK45 at tight tolerance on the same interval, then the same final D step
  const ref = getSampler("rk45")(gm.denoiser, x0, [40, SMIN, 0], { batch: B, rtol: 1e-9, atol: 1e-9 }).x;
  const err = (name: string, n: number) => {
    const y = getSampler(name)(gm.denoiser, x0, karrasSigmas(n + 1, SMIN, 40), { batch: B }).x;
    let s = 0;
    for (let j = 0; j < y.length; j++) s += (y[j] - ref[j]) ** 2;
    return Math.sqrt(s / y.length);
  };
  for (const [name, order, ns] of [
    ["euler", 1, [80, 160, 320, 640]],
    ["heun", 2, [10, 20, 40, 80]],
    ["dpmpp_2m", 2, [20, 40, 80, 160]],
  ] as const) {
    it(`${name} ≈ order ${order}`, () => {
      const e = ns.map((n) => err(name, n));
      const orders = e.slice(1).map((v, i) => Math.log2(e[i] / v));
      const seen = `steps ${ns.join(", ")} -> RMS error ${e.map((v) => v.toExponential(2)).join(", ")}; empirical orders ${orders.map((o) => o.toFixed(2)).join(", ")}`;
      const last = orders[orders.length - 1];
      expect(last, seen).toBeGreaterThan(order - 0.3);
      expect(last, seen).toBeLessThan(order + 0.5);
    });
  }
});

describe("identities", () => {
  it("DDIM with eta = 0 equals Euler on the same sigmas", () => {
    const x = initialNoise(new Rng(3), 64, 2, 40);
    const s = karrasSigmas(30, 0.002, 40);
    const a = getSampler("ddim")(gm.denoiser, x, s, { batch: 64 }).x;
    const b = getSampler("euler")(gm.denoiser, x, s, { batch: 64 }).x;
    let md = 0;
    for (let j = 0; j < a.length; j++) md = Math.max(md, Math.abs(a[j] - b[j]));
    expect(md, "max |DDIM(eta=0) - Euler|").toBeLessThan(1e-4);
  });
  it("DDIM with eta = 1 equals Euler ancestral and DDPM (betaTilde) given the same noise", () => {
    const x = initialNoise(new Rng(3), 16, 2, 40);
    const s = karrasSigmas(30, 0.002, 40);
    const o = { batch: 16, rng: new Rng(5) };
    const a = getSampler("ddim")(gm.denoiser, x, s, { ...o, eta: 1 }).x;
    const b = getSampler("euler_ancestral")(gm.denoiser, x, s, o).x;
    const c = getSampler("ddpm")(gm.denoiser, x, s, o).x;
    for (let j = 0; j < a.length; j++) {
      expect(Math.abs(a[j] - b[j])).toBeLessThan(1e-4);
      expect(Math.abs(a[j] - c[j])).toBeLessThan(1e-4);
    }
  });
});

describe("the ancestral step, written once", () => {
  it("law: the split keeps sigmaDown^2 + sigmaUp^2 = sigmaNext^2; eta = 1 adds the DDPM posterior variance", () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-3, max: 80, noNaN: true }), fc.double({ min: 0, max: 0.999, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (s, r, eta) => {
        const sn = s * r;
        const { sigmaDown, sigmaUp } = ancestralStep(s, sn, eta);
        expect(Math.abs(sigmaDown ** 2 + sigmaUp ** 2 - sn ** 2)).toBeLessThanOrEqual(1e-12 * Math.max(1, s * s));
        const post = ancestralStep(s, sn, 1).sigmaUp ** 2;
        expect(Math.abs(post - (sn * sn * (s * s - sn * sn)) / (s * s))).toBeLessThanOrEqual(1e-12 * Math.max(1, s * s));
      }),
    );
  });
  it("the update rounds where its output array says: float32 before the noise, float64 not at all", () => {
    const n = 4096;
    const r = new Rng(12);
    const x = r.stream("x").randn(1, n);
    const den = r.stream("d").randn(1, n);
    const z = r.stream("z").randn(1, n);
    const split = { sigmaDown: 0.37, sigmaUp: 0.81 };
    const o32 = new Float32Array(n);
    const o64 = new Float64Array(n);
    ancestralUpdate(o32, x, den, 1.3, split, z);
    ancestralUpdate(o64, x, den, 1.3, split, z);
    let differ = 0;
    for (let j = 0; j < n; j++) {
      const mean = den[j] + (0.37 / 1.3) * (x[j] - den[j]);
      expect(o32[j]).toBe(Math.fround(Math.fround(mean) + 0.81 * z[j]));
      expect(o64[j]).toBe(mean + 0.81 * z[j]);
      if (Math.fround(o64[j]) !== o32[j]) differ++;
    }
    // the two roundings are distinguishable, so the samplers' bytes depend on which one they get
    expect(differ).toBeGreaterThan(0);
    expect(() => ancestralUpdate(o32, x, den, 1.3, split, null)).toThrow(ArgumentError);
  });
});

const OPTS: Record<string, Record<string, unknown>> = {
  heun: { sChurn: 5 },
  euler: { sChurn: 5 },
  pc: { snrNorm: "expected" },
  langevin: { stepsPerLevel: 3 },
  rk45: {},
};

describe("resuming and batching", () => {
  const sig = karrasSigmas(9, 0.01, 20);
  const B = 8;
  const x = initialNoise(new Rng(21), B, 2, 20);
  const known = new Float32Array(2 * B).fill(1);
  const mask = Float32Array.from({ length: 2 * B }, (_, j) => j % 2);
  // every sampler, and inpainting (a sampler with two more arguments) beside them
  const RUNNERS: [string, SamplerFn][] = [
    ...SAMPLER_NAMES.map((name) => [name, getSampler(name)] as [string, SamplerFn]),
    ["inpaint", (d, xx, s, o) => inpaint(d, xx, s, { ...o, known, mask, resample: 2 })],
  ];
  for (const [name, fn] of RUNNERS) {
    const opts = { batch: B, rng: new Rng(4), ...OPTS[name] };
    it(`${name}: law: continuing in pieces of random sizes, the carry through JSON, gives the bytes of one run`, () => {
      const want = fn(gm.denoiser, x, sig, opts);
      expect(want.step).toBe(sig.length - 1);
      const steps = sig.length - 1;
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 9 }), (pieces) => {
          let r = fn(gm.denoiser, x, sig, { ...opts, maxSteps: pieces[0] });
          expect(r.step).toBe(Math.min(pieces[0], steps));
          for (let k = 1; r.step < steps; k++) {
            const before = r.step;
            // the carry crosses a process boundary as JSON: its numbers must survive exactly
            const carry = JSON.parse(JSON.stringify(r.carry)) as Carry;
            r = fn(gm.denoiser, r.x, sig, { ...opts, from: { step: r.step, carry }, maxSteps: pieces[k % pieces.length] });
            expect(r.step).toBe(Math.min(before + pieces[k % pieces.length], steps));
          }
          expect(Array.from(r.x)).toEqual(Array.from(want.x));
        }),
        { numRuns: 8 },
      );
    });
    if (name !== "inpaint") {
      it(`${name}: item i of a batch of 8 equals item i sampled alone (firstItem = i)`, () => {
        const all = fn(gm.denoiser, x, sig, opts).x;
        for (const i of [0, 5, 7]) {
          const one = fn(gm.denoiser, x.slice(2 * i, 2 * i + 2), sig, { ...opts, batch: 1, firstItem: i }).x;
          expect(Array.from(one)).toEqual(Array.from(all.subarray(2 * i, 2 * i + 2)));
        }
      });
    }
  }
  it("a multistep sampler continued without its carry is refused, not silently first-order", () => {
    const r = getSampler("dpmpp_2m")(gm.denoiser, x, sig, { batch: B, maxSteps: 3 });
    expect(Object.keys(r.carry).sort()).toEqual(["hLast", "old"]);
    expect(() => getSampler("dpmpp_2m")(gm.denoiser, r.x, sig, { batch: B, from: { step: 3, carry: {} } })).toThrow(/from\.carry\.old/);
    expect(() => getSampler("dpmpp_2m")(gm.denoiser, r.x, sig, { batch: B, from: { step: 3, carry: { ...r.carry, old: [1, 2] } } })).toThrow(/from\.carry\.old/);
    expect(() => getSampler("dpmpp_2m")(gm.denoiser, r.x, sig, { batch: B, from: { step: 10, carry: r.carry } })).toThrow(/from\.step/);
  });
  it("onStep sees every step with an x0 preview; AbortSignal stops the loop", () => {
    const seen: number[] = [];
    getSampler("heun")(gm.denoiser, x, sig, {
      batch: B,
      onStep: (e) => {
        seen.push(e.step);
        expect(e.denoised.length).toBe(x.length);
        expect(e.sigmaNext).toBe(sig[e.step + 1]);
      },
    });
    expect(seen).toEqual([...Array(9).keys()]);
    const ac = new AbortController();
    let steps = 0;
    expect(() =>
      getSampler("euler")(gm.denoiser, x, sig, {
        batch: B,
        signal: ac.signal,
        onStep: () => {
          if (++steps === 3) ac.abort(new Error("stop"));
        },
      }),
    ).toThrow("stop");
    expect(steps).toBe(3);
  });
});

describe("Langevin dynamics reaches its target", () => {
  // at one level sigma = 1.5 the target is the mixture convolved with N(0, 1.5^2): exact samples are
  // x0 + 1.5 z. Start far off (N(0, 5^2)) and run the seed article's update.
  const N = 1000;
  const s = 1.5;
  const target = (seed: number) => {
    const x = gm.sample(N, new Rng(seed));
    const z = new Rng(seed).stream("z").randn(N, 2);
    for (let j = 0; j < x.length; j++) x[j] += s * z[j];
    return x;
  };
  const ref = target(1);
  const floor = [2, 3, 4].map((k) => energyDistance(ref, target(k), 2)).reduce((a, b) => a + b) / 3;
  const run = (T: number) =>
    getSampler("langevin")(gm.denoiser, initialNoise(new Rng(8), N, 2, 5), [s, 0], { batch: N, rng: new Rng(8), stepsPerLevel: T, stepScale: 0.05 / (s * s), denoise: false }).x;
  it("with enough steps (T = 1000, alpha = r sigma^2 = 0.05)", () => {
    const ed = energyDistance(ref, run(1000), 2);
    expect(ed, `energy distance at T = 1000 (floor ${floor.toExponential(2)})`).toBeLessThan(4 * floor);
  });
  it("and not with too few (T = 3): the check can fail", () => {
    expect(energyDistance(ref, run(3), 2)).toBeGreaterThan(4 * floor);
  });
});

describe("bad arguments name the argument", () => {
  const x = new Float32Array(4);
  const euler = getSampler("euler");
  it("sigmas", () => {
    expectArgumentError(() => euler(gm.denoiser, x, [1], { batch: 2 }), "sigmas");
    expectArgumentError(() => euler(gm.denoiser, x, [1, 2, 0], { batch: 2 }), "sigmas");
    expectArgumentError(() => euler(gm.denoiser, x, [2, 1], { batch: 2 }), "sigmas");
    expectArgumentError(() => euler(gm.denoiser, x, [2, -1], { batch: 2 }), "sigmas[1]");
  });
  it("unknown sampler names list the valid ones", () => {
    expectArgumentError(() => getSampler("eular"), "sampler");
    expect(() => getSampler("eular")).toThrow(/"euler", "heun"/);
  });
  it("options", () => {
    expectArgumentError(() => euler(gm.denoiser, x, [1, 0], { batch: 3 }), "x");
    expectArgumentError(() => getSampler("ddim")(gm.denoiser, x, [1, 0], { batch: 2, eta: 2 }), "eta");
    expectArgumentError(() => getSampler("ddpm")(gm.denoiser, x, [1, 0], { batch: 2 }), "rng");
    expectArgumentError(() => getSampler("ddpm")(gm.denoiser, x, [1, 0], { batch: 2, rng: new Rng(1), variance: "large" }), "variance");
    expectArgumentError(() => getSampler("pc")(gm.denoiser, x, [1, 0], { batch: 2, rng: new Rng(1), predictor: "ode" }), "predictor");
    expectArgumentError(() => getSampler("pc")(gm.denoiser, x, [1, 0], { batch: 2, rng: new Rng(1), snrNorm: "batch" }), "snrNorm");
    // Langevin's step scale r: alpha = r sigma^2 diverges from r = 2 on (a Gaussian contracts by 1 - r)
    expectArgumentError(() => getSampler("langevin")(gm.denoiser, x, [1, 0], { batch: 2, rng: new Rng(1), stepScale: 2 }), "stepScale");
    expectArgumentError(() => getSampler("langevin")(gm.denoiser, x, [1, 0], { batch: 2, rng: new Rng(1), stepScale: 0 }), "stepScale");
    // the old option meant another step size: refused with the conversion, not silently ignored
    expectArgumentError(() => getSampler("langevin")(gm.denoiser, x, [1, 0], { batch: 2, rng: new Rng(1), epsilon: 2e-5 }), "epsilon");
    expectArgumentError(() => euler((() => new Float32Array(1)) as never, x, [1, 0], { batch: 2 }), "denoiser");
    expectArgumentError(() => euler(gm.denoiser, x, [1, 0], { batch: 2, maxSteps: 0 }), "maxSteps");
    expectArgumentError(() => euler(gm.denoiser, x, [1, 0.5], { batch: 2 }), "sigmas");
    expect(euler(gm.denoiser, x, [1, 0.5], { batch: 2, openEnd: true }).step).toBe(1);
    expectArgumentError(() => euler(gm.denoiser, x, [1, 0.5], { batch: 2, openEnd: 1 as never }), "openEnd");
    expectArgumentError(() => euler(gm.denoiser, x, [1, 0], { batch: 2, from: { step: 0, carry: null as never } }), "from.carry");
  });
  it("a NaN mid-sampling stops with the step number", () => {
    let calls = 0;
    const bad = (xx: Float32Array, s: Float64Array, b: number) => {
      const d = gm.denoiser(xx, s, b);
      if (++calls === 4) d[1] = NaN;
      return d;
    };
    try {
      euler(bad, initialNoise(new Rng(1), 2, 2, 10), karrasSigmas(8, 0.01, 10), { batch: 2 });
      throw new Error("no error");
    } catch (e) {
      expect(e).toBeInstanceOf(SamplingError);
      expect((e as SamplingError).step).toBe(3);
      expect(String(e)).toMatch(/step 3/);
    }
  });
});
