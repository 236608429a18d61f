// `bun test ./test/runtimes/sample-model.bun.js` — Bun's own test runner: imports the bundle, samples
// digits with the shipped model (or EDGE_DIFFUSION_MODEL) and checks them; with EXPECT_TENSOR_SHA256
// (Node's hash, passed by sample-model.test.ts) the bytes must equal Node's.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { generate, initKernels, loadModel, useKernels } from "../../dist/index.js";

const modelPath = process.env.EDGE_DIFFUSION_MODEL ?? new URL("../../models/mnist.safetensors", import.meta.url).pathname;
const request = { count: 3, steps: 4, sampler: "dpmpp_2m_sde", seed: 11, label: "all", guidance: 2 };

const kernels = await initKernels({ backend: "wasm" });
useKernels(kernels);
// Bun's own file API (an ArrayBuffer) and node:fs (a pooled Buffer) must load the same model
const model = loadModel(new Uint8Array(await Bun.file(modelPath).arrayBuffer()));
const fromBuffer = loadModel(readFileSync(modelPath));

const hex = (bytes) => new Bun.CryptoHasher("sha256").update(bytes).digest("hex");

test("the bundle's WASM SIMD kernels load in Bun", () => {
  expect(kernels.backend).toBe("wasm");
  expect(model.numClasses).toBe(10);
  expect(model.itemShape).toEqual([1, 28, 28]);
});

test("samples digits: white strokes on black, one per requested label", () => {
  const r = generate(model, { ...request, format: "safetensors" });
  expect(r.shape).toEqual([3, 1, 28, 28]);
  expect([...r.labels]).toEqual([0, 1, 2]);
  for (let i = 0; i < 3; i++) {
    const img = r.samples.subarray(i * 784, (i + 1) * 784);
    let mean = 0, sq = 0;
    for (const v of img) {
      expect(Math.abs(v)).toBeLessThanOrEqual(1);
      mean += (v + 1) / 2 / 784;
      sq += ((v + 1) / 2) ** 2 / 784;
    }
    expect(mean).toBeGreaterThan(0.03);
    expect(mean).toBeLessThan(0.45);
    expect(Math.sqrt(sq - mean * mean)).toBeGreaterThan(0.15);
  }
  const h = hex(r.bytes);
  expect(hex(generate(fromBuffer, { ...request, format: "safetensors" }).bytes)).toBe(h);
  if (process.env.EXPECT_TENSOR_SHA256) expect(h).toBe(process.env.EXPECT_TENSOR_SHA256);
});

test("same seed, same bytes; another seed, other bytes", () => {
  const a = generate(model, { ...request, count: 1, steps: 2, format: "png" });
  const b = generate(model, { ...request, count: 1, steps: 2, format: "png" });
  const c = generate(model, { ...request, count: 1, steps: 2, seed: 12, format: "png" });
  expect(hex(a.bytes)).toBe(hex(b.bytes));
  expect(hex(a.bytes)).not.toBe(hex(c.bytes));
  expect([...a.bytes.subarray(0, 4)]).toEqual([137, 80, 78, 71]);
});
