// generateSteps: a generation cut into pieces of any size gives the bytes of one generate() call, in every
// mode (plain, img2img, inpainting); library errors name the options as the API spells them.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { useKernels } from "../../src/autograd/backend.ts";
import { generate, generateSteps, type GenerateOptions, type GenerationState } from "../../src/generate.ts";
import { createTsKernels } from "../../src/kernels/ts/index.ts";
import { loadModel, saveModel } from "../../src/model.ts";
import { UNet, type UNetConfig } from "../../src/nn/unet.ts";
import { expectArgumentError } from "../support/errors.ts";

const cfg: UNetConfig = { kind: "unet", inChannels: 1, size: 8, channels: [8, 8], resBlocks: 1, attentionLevels: [], groups: 4, embDim: 8, numClasses: 3 };

function tinyModel() {
  useKernels(createTsKernels());
  const net = new UNet(cfg).initialize(7);
  for (const [, p] of net.parameters()) for (let i = 0; i < p.data.length; i++) p.data[i] += 0.02 * Math.cos(3 * i);
  return loadModel(saveModel(net, { parameterization: "edm", sigmaData: 0.5, sigmaMin: 0.002, sigmaMax: 80 }));
}

describe("generateSteps", () => {
  const model = tinyModel();
  const image = Float32Array.from({ length: 64 }, (_, i) => Math.cos(i) * 0.9);
  const mask = Float32Array.from({ length: 64 }, (_, i) => (i % 3) / 2);
  const MODES: Record<string, Partial<GenerateOptions>> = {
    plain: {},
    img2img: { init: { image, strength: 0.7 } },
    inpaint: { inpaint: { image, mask, resample: 2 } },
  };
  it("law: running to the end in pieces of random sizes (with a JSON round trip of the state) equals one generate() call, in every mode", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("plain", "img2img", "inpaint"),
        fc.constantFrom("dpmpp_2m", "heun", "euler_ancestral", "ddpm", "dpmpp_2m_sde"),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 6 }),
        fc.constantFrom(1, 2.5),
        (mode, sampler, count, chunk, pieces, guidance) => {
          const o: GenerateOptions = { count, steps: 6, sampler, seed: 11, label: "all", guidance, format: "safetensors", chunk, ...MODES[mode] };
          const want = generate(model, o).bytes;
          let from: GenerationState | null = null;
          for (let k = 0; ; k++) {
            const r = generateSteps(model, o, { maxSteps: pieces[k % pieces.length], from });
            if (r.done) return Buffer.from(r.result.bytes).equals(Buffer.from(want));
            // img2img runs the steps its strength keeps (4 of 6 at 0.7)
            expect(r.steps).toBe(mode === "img2img" ? 4 : 6);
            // a state crosses a process boundary as JSON (a Worker's token): floats survive exactly
            const j = JSON.parse(JSON.stringify({ ...r.state, x: Array.from(r.state.x) }));
            from = { ...j, x: Float32Array.from(j.x) };
            if (k > 10) return false;
          }
        },
      ),
      { numRuns: 16 },
    );
  });

  it("validates with the API's names (count, steps, ...), not the CLI's flags", () => {
    const o: GenerateOptions = { count: 2, steps: 4, sampler: "euler", seed: 1, label: 1, guidance: 1, format: "safetensors" };
    expectArgumentError(() => generate(model, { ...o, count: 0 }), "count");
    expectArgumentError(() => generate(model, { ...o, steps: 0 }), "steps");
    expectArgumentError(() => generate(model, { ...o, sampler: "nope" }), "sampler");
    expectArgumentError(() => generate(model, { ...o, seed: -1 }), "seed");
    expectArgumentError(() => generate(model, { ...o, guidance: Number.NaN }), "guidance");
    expectArgumentError(() => generate(model, { ...o, label: 3 }), "label");
    expect(() => generate(model, { ...o, label: 3 })).toThrow(/^label: must be an integer in \[0, 2\]/);
  });

  it("rejects states that do not fit the options, naming the argument", () => {
    const o: GenerateOptions = { count: 2, steps: 4, sampler: "euler", seed: 1, label: 1, guidance: 1, format: "safetensors", chunk: 1 };
    const r = generateSteps(model, o, { maxSteps: 1 });
    expect(r.done).toBe(false);
    if (r.done) return;
    const s = r.state;
    const bad = (from: GenerationState, arg: string) => expectArgumentError(() => generateSteps(model, o, { maxSteps: 1, from }), arg);
    bad({ ...s, step: 0 }, "from.step");
    bad({ ...s, step: 4 }, "from.step");
    bad({ ...s, x: s.x.subarray(1) }, "from.x");
    bad({ ...s, carries: [s.carries[0]] }, "from.carries");
    bad({ ...s, carries: [s.carries[0], null as never] }, "from.carries[1]");
    bad({ ...s, carries: ["zz" as never, s.carries[1]] }, "from.carries[0]");
    expect(() => generateSteps(model, o, { maxSteps: 0 })).toThrow(/maxSteps/);
  });
});

describe("generate() takes the sampler names people type and a schedule (issue 14 #13)", () => {
  const model = tinyModel();
  const o: GenerateOptions = { count: 3, steps: 5, seed: 4, label: "all", guidance: 2, format: "safetensors" };
  const bytes = (extra: Partial<GenerateOptions>) => generate(model, { ...o, ...extra }).samples;
  it("a diffusers, A1111 or k-diffusion name gives the bytes of the sampler it names", () => {
    const ref = bytes({ sampler: "dpmpp_2m" });
    for (const name of ["DPMSolverMultistepScheduler", "DPM++ 2M", "dpm++ 2m karras", "sample_dpmpp_2m"]) expect(bytes({ sampler: name }), name).toEqual(ref);
    expect(bytes({ sampler: "Euler a" })).toEqual(bytes({ sampler: "euler_ancestral" }));
  });
  it("schedule: karras is the default; exponential samples other sigmas; a name's suffix sets it", () => {
    expect(bytes({ sampler: "euler", schedule: "karras" })).toEqual(bytes({ sampler: "euler" }));
    const exp = bytes({ sampler: "euler", schedule: "exponential" });
    expect(exp).not.toEqual(bytes({ sampler: "euler" }));
    expect(bytes({ sampler: "Euler Exponential" })).toEqual(exp);
  });
  it("names the argument when the schedule is unknown or contradicts the name", () => {
    expectArgumentError(() => bytes({ sampler: "euler", schedule: "cosine" as never }), "schedule");
    expectArgumentError(() => bytes({ sampler: "DPM++ 2M Karras", schedule: "exponential" }), "schedule");
    expectArgumentError(() => bytes({ sampler: "DPM++ SDE" }), "sampler");
  });
});
