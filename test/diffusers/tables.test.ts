// The float32 training tables must be PyTorch's, not a float64 computation rounded at the end.
import { describe, expect, it } from "vitest";
import { readConfig } from "../../src/diffusers/schedulers/config.ts";
import { alphasOf, betaKeys, betasOf, cumprodF32, rescaleZeroTerminalSnrF32, torchLinspaceF32 } from "../../src/diffusers/schedulers/tables.ts";
import { expectArgumentError } from "../support/errors.ts";

const fround = Math.fround;

describe("float32 training tables", () => {
  it("torch.linspace in float32 counts up from start in the first half and down from end in the second", () => {
    const b = torchLinspaceF32(0.0001, 0.02, 1000);
    expect(b[0]).toBe(fround(0.0001));
    expect(b[999]).toBe(fround(0.02));
    const step = fround(fround(fround(0.02) - fround(0.0001)) / 999);
    expect(b[10]).toBe(fround(fround(0.0001) + fround(step * 10)));
    expect(b[990]).toBe(fround(fround(0.02) - fround(step * 9)));
  });

  it("alphas_cumprod differ from a float64 linspace's in exactly the 273 of 1000 entries measured against PyTorch", () => {
    const ours = cumprodF32(alphasOf(torchLinspaceF32(0.0001, 0.02, 1000)));
    const f64 = new Float32Array(1000);
    for (let i = 0; i < 1000; i++) f64[i] = fround(0.0001 + ((0.02 - 0.0001) * i) / 999);
    const naive = cumprodF32(alphasOf(f64));
    let differ = 0;
    for (let i = 0; i < 1000; i++) if (ours[i] !== naive[i]) differ++;
    expect(differ).toBe(273);
  });

  it("cumprod accumulates in double and rounds each output (PyTorch's CPU kernel)", () => {
    const a = Float32Array.of(0.9, 0.8, 0.7);
    const c = cumprodF32(a);
    expect(c[2]).toBe(fround(Math.fround(0.9) * Math.fround(0.8) * Math.fround(0.7)));
  });

  it("zero-terminal-SNR rescale ends at alphas_cumprod 0 and keeps the first", () => {
    const b = torchLinspaceF32(0.00085 ** 0.5, 0.012 ** 0.5, 1000).map((r) => fround(r * r));
    const r = rescaleZeroTerminalSnrF32(b);
    const ac = cumprodF32(alphasOf(r));
    expect(ac[999]).toBe(0);
    expect(Math.abs(ac[0] - cumprodF32(alphasOf(b))[0])).toBeLessThan(1e-6);
  });

  it("betas come from the config's schedule, and trained_betas must have one value per timestep", () => {
    const spec = betaKeys();
    const cfg = readConfig("DDPMScheduler", { beta_schedule: "scaled_linear", beta_start: 0.00085, beta_end: 0.012 }, spec);
    const b = betasOf(cfg);
    expect(b[0]).toBe(fround(fround(Math.sqrt(0.00085)) * fround(Math.sqrt(0.00085))));
    expectArgumentError(() => betasOf(readConfig("DDPMScheduler", { num_train_timesteps: 3, trained_betas: [0.1, 0.2] }, spec)), "trained_betas");
    expectArgumentError(() => readConfig("DDPMScheduler", { beta_schedule: "quadratic" }, spec), "beta_schedule");
    expectArgumentError(() => readConfig("DDPMScheduler", { no_such_key: 1 }, spec), "no_such_key");
  });
});
