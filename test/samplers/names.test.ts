// Sampler names as people type them (issue 14 #13): diffusers classes, A1111 menu names with their
// schedule suffix, k-diffusion functions; unknown names list ours; known samplers we lack say so.
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/rng.ts";
import { getSampler, initialNoise, resolveSampler, SAMPLER_ALIASES, SAMPLER_NAMES, SAMPLERS } from "../../src/samplers/index.ts";
import { karrasSigmas } from "../../src/schedule/index.ts";
import { GaussianMixture } from "../../src/testbed/mixture.ts";
import { expectArgumentError } from "../support/errors.ts";

describe("resolveSampler", () => {
  const CASES: [string, string, string | undefined][] = [
    ["dpmpp_2m", "dpmpp_2m", undefined],
    ["DPMSolverMultistepScheduler", "dpmpp_2m", undefined],
    ["EulerAncestralDiscreteScheduler", "euler_ancestral", undefined],
    ["EulerDiscreteScheduler", "euler", undefined],
    ["HeunDiscreteScheduler", "heun", undefined],
    ["DDIMScheduler", "ddim", undefined],
    ["DDPMScheduler", "ddpm", undefined],
    ["ScoreSdeVeScheduler", "pc", undefined],
    ["DPM++ 2M", "dpmpp_2m", undefined],
    ["DPM++ 2M Karras", "dpmpp_2m", "karras"],
    ["dpm++ 2m  karras ", "dpmpp_2m", "karras"],
    ["Euler a", "euler_ancestral", undefined],
    ["Euler a Karras", "euler_ancestral", "karras"],
    ["Euler", "euler", undefined],
    ["Heun", "heun", undefined],
    ["DDIM", "ddim", undefined],
    ["DPM++ 2M SDE", "dpmpp_2m_sde", undefined],
    ["DPM++ 2M SDE Karras", "dpmpp_2m_sde", "karras"],
    ["DPM++ 2M SDE Exponential", "dpmpp_2m_sde", "exponential"],
    ["sample_dpmpp_2m", "dpmpp_2m", undefined],
    ["sample_euler_ancestral", "euler_ancestral", undefined],
    ["sample_dpmpp_2m_sde", "dpmpp_2m_sde", undefined],
    ["k_euler_a", "euler_ancestral", undefined],
    ["sampleRk45", "rk45", undefined],
    ["LANGEVIN", "langevin", undefined],
  ];
  for (const [typed, name, schedule] of CASES) {
    it(`${JSON.stringify(typed)} -> ${name}${schedule ? ` with the ${schedule} schedule` : ""}`, () => {
      const r = resolveSampler(typed);
      expect(r.name).toBe(name);
      expect(r.schedule).toBe(schedule);
    });
  }
  it("every alias in the table resolves to a sampler we have, and each of ours resolves to itself", () => {
    for (const [alias, a] of Object.entries(SAMPLER_ALIASES)) {
      expect(SAMPLER_NAMES, alias).toContain(a.sampler);
      expect(resolveSampler(alias).name).toBe(a.sampler);
    }
    for (const name of SAMPLER_NAMES) {
      expect(resolveSampler(name).sampler).toBe(SAMPLERS[name]);
      expect(getSampler(name)).toBe(SAMPLERS[name]);
    }
  });
  it("getSampler takes the aliases; a name's implied options are defaults the caller can override", () => {
    const gm = GaussianMixture.example2d();
    const sig = karrasSigmas(6, 0.01, 20);
    const x = initialNoise(new Rng(2), 4, 2, 20);
    const run = (name: string, o: Record<string, unknown> = {}) => Array.from(getSampler(name)(gm.denoiser, x, sig, { batch: 4, rng: new Rng(3), ...o }).x);
    expect(run("DPM++ 2M Karras")).toEqual(run("dpmpp_2m"));
    // A1111's "DPM++ 2M SDE Heun" is the SDE solver with its Heun-type second-order update
    expect(resolveSampler("DPM++ 2M SDE Heun").options).toEqual({ solverType: "heun" });
    expect(run("DPM++ 2M SDE Heun")).toEqual(run("dpmpp_2m_sde", { solverType: "heun" }));
    expect(run("DPM++ 2M SDE Heun")).not.toEqual(run("dpmpp_2m_sde"));
    expect(run("DPM++ 2M SDE Heun", { solverType: "midpoint" })).toEqual(run("dpmpp_2m_sde"));
  });
  it("unknown names list the valid ones; samplers we lack are named as such", () => {
    expectArgumentError(() => resolveSampler("eular"), "sampler");
    expect(() => resolveSampler("eular")).toThrow(/unknown sampler "eular".*"euler", "heun", "dpmpp_2m"/);
    expect(() => getSampler("Euler b")).toThrow(/unknown sampler/);
    expectArgumentError(() => resolveSampler("DPM++ SDE"), "sampler");
    expect(() => resolveSampler("DPM++ SDE Karras")).toThrow(/DPM\+\+ SDE.*does not implement.*"euler"/);
    expect(() => resolveSampler("DPM fast")).toThrow(/DPM fast.*does not implement/);
    expect(resolveSampler("UniPCMultistepScheduler").name).toBe("unipc");
    expect(resolveSampler("UniPC Karras")).toMatchObject({ name: "unipc", schedule: "karras" });
    expect(resolveSampler("DEISMultistepScheduler").name).toBe("deis");
    // a schedule suffix does not stack
    expect(() => resolveSampler("DPM++ 2M Karras Karras")).toThrow(/unknown sampler/);
    expectArgumentError(() => resolveSampler(7 as never), "sampler");
  });
});
