// IPNDMScheduler: diffusers' tests/schedulers/test_scheduler_ipndm.py (the full loop run twice over the
// timesteps, the history carried on), and iPNDM's agreement with the library's sampleIpndm.
import { describe, expect, it } from "vitest";
import { createScheduler, schedulerFromJson } from "../../../src/diffusers/schedulers/index.ts";
import { IPNDMScheduler } from "../../../src/diffusers/schedulers/ipndm.ts";
import { Rng } from "../../../src/rng.ts";
import { sampleIpndm } from "../../../src/samplers/plms.ts";
import { absSumMean, dummyModel, dummySampleDeter } from "../../support/diffusers-dummies.ts";
import { expectArgumentError } from "../../support/errors.ts";

describe("IPNDMScheduler: diffusers' test_scheduler_ipndm.py", () => {
  it("test_full_loop_no_noise: mean |x| 2540529 within 10 after two passes", () => {
    const s = new IPNDMScheduler({ num_train_timesteps: 1000 });
    s.setTimesteps(10);
    let sample = dummySampleDeter();
    for (let pass = 0; pass < 2; pass++) for (const t of s.timesteps) sample = s.step(dummyModel(sample, t), t, sample).prevSample;
    expect(Math.abs(absSumMean(sample).mean - 2540529)).toBeLessThan(10);
  });
  it("the timesteps are the angles 2/pi atan2(sigma, alpha), from 1 down; configs round-trip; keys are checked", () => {
    const s = createScheduler("IPNDMScheduler", { num_train_timesteps: 100 }) as IPNDMScheduler;
    s.setTimesteps(4);
    expect(s.timesteps[0]).toBeCloseTo(1, 6);
    for (let i = 0; i < 4; i++) expect(s.timesteps[i]).toBeCloseTo((Math.atan2(s.betas[i], s.alphas[i]) * 2) / Math.PI, 6);
    expect(schedulerFromJson(s.toJson()).toJson()).toBe(s.toJson());
    expectArgumentError(() => new IPNDMScheduler({ beta_schedule: "linear" }), "beta_schedule", /not a IPNDMScheduler setting/);
    const tb = new IPNDMScheduler({ num_train_timesteps: 3, trained_betas: [0.9, 0.5, 0.1, 0] });
    expectArgumentError(() => tb.setTimesteps(2), "trained_betas", /3/);
  });
  it("a step out of order names t", () => {
    const s = new IPNDMScheduler();
    s.setTimesteps(5);
    const x = dummySampleDeter();
    s.step(x, s.timesteps[0], x);
    expectArgumentError(() => s.step(x, s.timesteps[3], x), "t");
  });
});

describe("iPNDM: the scheduler and the library's sampleIpndm take the same steps", () => {
  it("a v-prediction network on the scheduler's angles = sampleIpndm on the VE sigmas sigma/alpha (1e-5 relative)", () => {
    const B = 2;
    const N = 4;
    // an analytic x0 predictor: x0 = 0.5 tanh(x_vp) shaped by t; as a v network, v = alpha eps - sigma x0
    const x0Of = (xvp: number, t: number, j: number) => 0.5 * Math.tanh(xvp) * (1 - 0.3 * t) + 0.05 * Math.sin(j);
    const x = new Rng(8).randn(B, N);
    // step 0 starts at alpha = 0 (an infinite VE sigma), so both runs start from the state after it
    const s2 = new IPNDMScheduler();
    s2.setTimesteps(10);
    let vp1: Float32Array = Float32Array.from(x);
    const t0 = s2.timesteps[0];
    vp1 = s2.step(vp1.map((xv, j) => -x0Of(xv, t0, j)), t0, vp1).prevSample;
    const sig = Float64Array.from({ length: 10 }, (_, k) => s2.betas[k + 1] / s2.alphas[k + 1]);
    const tOfSigma = new Map<number, number>(Array.from(sig.subarray(0, 9), (v, k) => [v, s2.timesteps[k + 1]]));
    const den = (xve: Float32Array, sigma: Float64Array, batch: number) => {
      const n = xve.length / batch;
      return xve.map((v, j) => {
        const sgm = sigma[Math.floor(j / n)];
        return x0Of(v / Math.sqrt(1 + sgm * sgm), tOfSigma.get(sgm) as number, j);
      });
    };
    const lib = sampleIpndm(den, vp1.map((v) => v / s2.alphas[1]), sig, { batch: B }).x;
    // after step 0 the library's history is empty while the scheduler's holds step 0's eps: compare
    // against a scheduler run whose history also starts at step 1
    const s3 = new IPNDMScheduler();
    s3.setTimesteps(10);
    s3.setBeginIndex(1);
    let vp3: Float32Array = Float32Array.from(vp1);
    for (const t of s3.timesteps.slice(1)) {
      const i = s3.timesteps.indexOf(t);
      const [a, sg] = [s3.alphas[i], s3.betas[i]];
      vp3 = s3.step(vp3.map((xv, j) => {
        const x0 = x0Of(xv, t, j);
        return a * ((xv - a * x0) / sg) - sg * x0;
      }), t, vp3).prevSample;
    }
    let worst = 0;
    for (let j = 0; j < lib.length; j++) worst = Math.max(worst, Math.abs(lib[j] - vp3[j]) / Math.max(1, Math.abs(vp3[j])));
    expect(worst).toBeLessThan(1e-5);
  });
});
