// The one set of sampling defaults (issue 14, #9): generate() fills in every option left out from
// SAMPLING_DEFAULTS, and those defaults are what the README and docs say they are: DPM-Solver++ 2M over
// Karras sigmas (EDM eq. 5, rho 7) in the model's [sigmaMin, sigmaMax], classifier-free guidance, label
// "all" on a class-conditional model and none on an unconditional one. (The Worker, the Deno example and
// the demo are checked against the same defaults in test/runtimes/.)
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { useKernels } from "../../src/autograd/backend.ts";
import { SAMPLING_DEFAULTS } from "../../src/defaults.ts";
import { guidedDenoiser } from "../../src/denoiser/guidance.ts";
import { generate, generateSteps } from "../../src/generate.ts";
import { createTsKernels } from "../../src/kernels/ts/index.ts";
import { loadModel, saveModel } from "../../src/model.ts";
import { UNet, type UNetConfig } from "../../src/nn/unet.ts";
import { Rng } from "../../src/rng.ts";
import { getSampler, initialNoise, SAMPLER_NAMES } from "../../src/samplers/index.ts";
import { karrasSigmas } from "../../src/schedule/sigmas.ts";
import { node, ROOT } from "../runtimes/support.ts";
import { expectArgumentError } from "../support/errors.ts";

function tinyModel(numClasses: number) {
  useKernels(createTsKernels());
  const cfg: UNetConfig = { kind: "unet", inChannels: 1, size: 8, channels: [8, 8], resBlocks: 1, attentionLevels: [], groups: 4, embDim: 8, numClasses };
  const net = new UNet(cfg).initialize(3);
  for (const [, p] of net.parameters()) for (let i = 0; i < p.data.length; i++) p.data[i] += 0.03 * Math.sin(5 * i);
  return loadModel(saveModel(net, { parameterization: "edm", sigmaData: 0.5, sigmaMin: 0.002, sigmaMax: 80 }));
}

const hex = (a: Uint8Array) => Buffer.from(a).toString("hex");

describe("SAMPLING_DEFAULTS", () => {
  const model = tinyModel(3);

  it("are frozen, name a real sampler, and guide (a guidance of 1 would be the plain conditional model)", () => {
    expect(Object.isFrozen(SAMPLING_DEFAULTS)).toBe(true);
    expect(SAMPLER_NAMES).toContain(SAMPLING_DEFAULTS.sampler);
    expect(SAMPLING_DEFAULTS.guidance).toBeGreaterThan(1);
    expect(["png", "safetensors"]).toContain(SAMPLING_DEFAULTS.format);
  });

  it("generate(model) is generate(model, SAMPLING_DEFAULTS spelled out, label all)", () => {
    const d = SAMPLING_DEFAULTS;
    const implicit = generate(model, { steps: 3 }); // fewer steps to stay quick; everything else implicit
    const explicit = generate(model, { count: d.count, steps: 3, sampler: d.sampler, seed: d.seed, label: "all", guidance: d.guidance, format: d.format });
    expect(implicit.shape[0]).toBe(d.count);
    expect(hex(implicit.bytes)).toBe(hex(explicit.bytes));
    expect([...implicit.labels!]).toEqual(Array.from({ length: d.count }, (_, i) => i % 3));
    // and they are not what other settings give (so the equality above means something)
    expect(hex(generate(model, { steps: 3, guidance: 1 }).bytes)).not.toBe(hex(implicit.bytes));
  });

  it("the defaults are the documented sampling: the sampler over Karras sigmas in the model's range, guided, from seed 0's noise", () => {
    const d = SAMPLING_DEFAULTS;
    expect(d.schedule).toBe("karras");
    const count = 4;
    const got = generate(model, { count, format: "safetensors" }).samples;
    // the same run by hand, as the README's piece-by-piece snippet writes it
    const labels = Int32Array.from({ length: count }, (_, i) => i % 3);
    const sigmas = karrasSigmas(d.steps, model.precond.sigmaMin, model.precond.sigmaMax);
    const rng = new Rng(d.seed);
    const x = initialNoise(rng, count, 64, sigmas[0], 0);
    const want = getSampler(d.sampler)(guidedDenoiser(model.denoiser(), labels, d.guidance), x, sigmas, { batch: count, firstItem: 0, rng: rng.stream("sampler") }).x.map((v) => Math.max(-1, Math.min(1, v)));
    expect(hex(new Uint8Array(got.buffer))).toBe(hex(new Uint8Array(want.buffer)));
  });

  it("an unconditional model samples unconditionally by default (no label, no guidance to apply)", () => {
    const u = tinyModel(0);
    const r = generate(u, { count: 2, steps: 2, format: "safetensors" });
    expect(r.labels).toBeNull();
    expect(hex(r.bytes)).toBe(hex(generate(u, { count: 2, steps: 2, label: null, format: "safetensors" }).bytes));
  });

  it("generateSteps takes the same defaults: its pieces end in generate()'s bytes", () => {
    let r = generateSteps(model, { count: 2, steps: 4 }, { maxSteps: 2 });
    expect(r.done).toBe(false);
    if (!r.done) r = generateSteps(model, { count: 2, steps: 4 }, { maxSteps: 10, from: r.state });
    expect(r.done && hex(r.result.bytes)).toBe(hex(generate(model, { count: 2, steps: 4 }).bytes));
  });

  it("options that are not an object are an ArgumentError naming them", () => {
    expectArgumentError(() => generate(model, 5 as never), "options");
    expectArgumentError(() => generate(model, null as never), "options");
  });
});

describe("the CLI and the library share the defaults", () => {
  it("`edge-diffusion sample` with only --count and --out writes generate(model, { count })'s PNG, on the shipped model", () => {
    const dir = mkdtempSync(join(tmpdir(), "ed-defaults-"));
    try {
      const out = join(dir, "x.png");
      const r = spawnSync(process.execPath, [join(ROOT, "dist/cli.js"), "sample", "--count", "2", "--out", out], { cwd: dir, encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      // the library's generate() in another process, given nothing but the count
      const ref = node("test/runtimes/sample-model.mjs", join(ROOT, "models/mnist.safetensors"), JSON.stringify({ only: { count: 2 } })) as { png: string };
      expect(createHash("sha256").update(readFileSync(out)).digest("hex")).toBe(ref.png);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
