// Issue 13, item 4: the DPM-Solver bugs of the old bridge (src/diffusers/index.ts diffusersPlan), each a
// test that the old code fails. What the old code gave is in each test's comment.
import { describe, expect, it } from "vitest";
import { createScheduler } from "../../../src/diffusers/schedulers/index.ts";
import { alphasOf, betasOf, cumprodF32, sigmaTableF32, betaKeys } from "../../../src/diffusers/schedulers/tables.ts";
import { readConfig } from "../../../src/diffusers/schedulers/config.ts";
import { absSumMean } from "../../support/diffusers-dummies.ts";
import { fullLoop } from "./support-dpm.ts";

const CLS = "DPMSolverMultistepScheduler";
const table = sigmaTableF32(cumprodF32(alphasOf(betasOf(readConfig("betas", {}, betaKeys())))));

describe("issue 13 #4: DPM-Solver++ bugs of the old bridge", () => {
  it('final_sigmas_type "sigma_min" ends the run at sigma(t = 0), with a 2nd-order last step (old: always a 1st-order jump to 0)', () => {
    const s = createScheduler(CLS, { final_sigmas_type: "sigma_min", lower_order_final: false });
    s.setTimesteps(10);
    const sig = s.sigmas as Float64Array;
    expect(sig[sig.length - 1]).toBe(table[0]); // old: 0
    // diffusers' test_full_loop_no_noise (final_sigmas_type "sigma_min"): mean |x| 0.3301; the old bridge gave 0.2409
    expect(Math.abs(absSumMean(fullLoop(s)).mean - 0.3301)).toBeLessThan(1e-3);
    const zero = createScheduler(CLS, { final_sigmas_type: "zero", lower_order_final: false });
    expect(Math.abs(absSumMean(fullLoop(zero)).mean - 0.3301)).toBeGreaterThan(1e-2);
  });

  it("use_karras_sigmas spans the whole training table: 10 steps end ..., 18, 0 (old: ..., 247, 100)", () => {
    const s = createScheduler(CLS, { use_karras_sigmas: true });
    s.setTimesteps(10);
    expect(Array.from(s.timesteps)).toEqual([999, 937, 864, 775, 663, 511, 301, 102, 18, 0]);
    const sig = s.sigmas as Float64Array;
    expect(sig[0]).toBe(table[999]);
    expect(sig[9]).toBe(table[0]);
  });

  it("use_lu_lambdas is applied: steps uniform in lambda = -log sigma over the whole table (old: dropped, the plain timesteps)", () => {
    const s = createScheduler(CLS, { use_lu_lambdas: true });
    s.setTimesteps(10);
    const plain = createScheduler(CLS, {});
    plain.setTimesteps(10);
    expect(Array.from(s.timesteps)).not.toEqual(Array.from(plain.timesteps)); // old: 999, 899, ..., 100 for both
    const sig = s.sigmas as Float64Array;
    const h = Array.from({ length: 9 }, (_, i) => Math.log(sig[i]) - Math.log(sig[i + 1]));
    for (const v of h) expect(v).toBeCloseTo(h[0], 5);
    expect(sig[0]).toBeCloseTo(table[999], 4);
    expect(sig[9]).toBeCloseTo(table[0], 7);
    expect(s.timesteps[9]).toBe(0);
  });

  it("the keys the old bridge dropped silently are either implemented or refused by name", () => {
    // thresholding changes the loop (diffusers' test_full_loop_no_noise_thres: 1.1364)
    const thr = createScheduler(CLS, { thresholding: true, dynamic_thresholding_ratio: 0.87, sample_max_value: 0.5, final_sigmas_type: "sigma_min", lower_order_final: false });
    expect(Math.abs(absSumMean(fullLoop(thr)).mean - 1.1364)).toBeLessThan(1e-3);
    expect(() => createScheduler(CLS, { use_flow_sigmas: true })).toThrow(/use_flow_sigmas/);
    expect(() => createScheduler(CLS, { sigma_min: 0.1 })).toThrow(/sigma_min/);
  });
});
