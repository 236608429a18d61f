// diffusers' own outputs, reproduced: every model case of ../shared/fixtures/diffusers (README: a
// faithful float32 implementation is within 1e-5 absolute of `sample`), run through the public path
// (config.json text + safetensors bytes -> loadUNet2DModel -> forward).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useKernels } from "../../src/autograd/backend.ts";
import { loadUNet2DModel } from "../../src/diffusers/unet-model.ts";
import { createTsKernels, initKernels } from "../../src/kernels/index.ts";
import { fixtureFile, fixtureText, maxAbsDiff, modelCase } from "./unet2d-fixtures.ts";

const TOL = 1e-5;
const CASES = ["a-cifar-ddpm", "b-butterflies", "c-class-cond-28", "d-cifar-ddpm-legacy-names", "e-float-timesteps"];

describe.each(["wasm", "ts"] as const)("UNet2DModel reproduces diffusers' fixtures within 1e-5 (%s kernels)", (backend) => {
  beforeAll(async () => {
    useKernels(backend === "ts" ? createTsKernels() : await initKernels({ backend: "wasm" }));
  });
  afterAll(() => useKernels(createTsKernels()));

  // the TS backend is the slow reference: one case there shows both backends agree with diffusers
  for (const name of backend === "ts" ? ["a-cifar-ddpm"] : CASES) {
    it(name, () => {
      const c = modelCase(name);
      const unet = loadUNet2DModel(fixtureText(`${c.modelDir}/config.json`), fixtureFile(`${c.modelDir}/diffusion_pytorch_model.safetensors`));
      const y = unet.forward(c.x, c.timesteps, c.classLabels);
      expect(y.shape).toEqual(c.x.shape.map((d, i) => (i === 1 ? unet.config.out_channels : d)));
      const err = maxAbsDiff(y.data, c.sample);
      expect(err).toBeLessThan(TOL);
    });
  }
});

describe("fixture metadata", () => {
  it("the parameter counts of the loaded models are index.json's num_parameters", () => {
    const index = JSON.parse(fixtureText("index.json"));
    for (const name of ["a-cifar-ddpm", "b-butterflies", "c-class-cond-28"]) {
      const unet = loadUNet2DModel(fixtureText(`${name}/config.json`), fixtureFile(`${name}/diffusion_pytorch_model.safetensors`));
      expect(unet.parameterCount()).toBe(index.cases[name].num_parameters);
    }
  });

  it("inference keeps no graph and reuses its activation buffers: a second forward grows nothing, and results are fresh arrays", () => {
    const c = modelCase("a-cifar-ddpm");
    const unet = loadUNet2DModel(fixtureText("a-cifar-ddpm/config.json"), fixtureFile("a-cifar-ddpm/diffusion_pytorch_model.safetensors"));
    const y1 = unet.forward(c.x, c.timesteps);
    const held = unet.pool.bytes;
    expect(held).toBeGreaterThan(0);
    const y2 = unet.forward(c.x, c.timesteps);
    expect(unet.pool.bytes).toBe(held);
    expect(y2.data).not.toBe(y1.data);
    expect(maxAbsDiff(y1.data, y2.data)).toBe(0);
    for (const p of unet.module.parameters().values()) expect(p.grad).toBeNull();
  });

  it("a batch of one item gives the same output as that item in the batch of two (no cross-item leakage)", async () => {
    useKernels(await initKernels({ backend: "wasm" }));
    try {
      const c = modelCase("c-class-cond-28");
      const unet = loadUNet2DModel(fixtureText("c-class-cond-28/config.json"), fixtureFile("c-class-cond-28/diffusion_pytorch_model.safetensors"));
      const D = c.x.data.length / 2;
      const one = unet.forward({ data: c.x.data.slice(D), shape: [1, ...c.x.shape.slice(1)] }, c.timesteps[1], [c.classLabels![1]]);
      expect(maxAbsDiff(one.data, c.sample.subarray(D))).toBeLessThan(TOL);
    } finally {
      useKernels(createTsKernels());
    }
  });
});
