// `deno test --allow-read --allow-env examples/deno/` — imports the bundle, samples digits with the
// shipped model (or EDGE_DIFFUSION_MODEL) and checks what came out. When EXPECT_TENSOR_SHA256 is set
// (the repository's runtime tests pass Node's hash for the same request), the bytes must equal it.
import { generate, initKernels, loadModel, useKernels } from "edge-diffusion";

const modelPath = Deno.env.get("EDGE_DIFFUSION_MODEL") ?? new URL("../../models/mnist.safetensors", import.meta.url).pathname;
const request = { count: 3, steps: 4, sampler: "dpmpp_2m_sde", seed: 11, label: "all" as const, guidance: 2 };

function assert(ok: unknown, msg: string): asserts ok {
  if (!ok) throw new Error(msg);
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const kernels = await initKernels({ backend: "wasm" });
useKernels(kernels);
const model = loadModel(await Deno.readFile(modelPath));

Deno.test("the bundle's WASM SIMD kernels load in Deno", () => {
  assert(kernels.backend === "wasm", `backend is ${kernels.backend}`);
  assert(model.numClasses === 10 && model.itemShape.join() === "1,28,28", "the model is not the class-conditional MNIST UNet");
});

Deno.test("samples digits: white strokes on black, one per requested label", async () => {
  const r = generate(model, { ...request, format: "safetensors" });
  assert(r.shape.join() === "3,1,28,28", `shape ${r.shape}`);
  assert(r.labels?.join() === "0,1,2", `labels ${r.labels}`);
  for (let i = 0; i < 3; i++) {
    const img = r.samples.subarray(i * 784, (i + 1) * 784);
    let mean = 0, sq = 0;
    for (const v of img) {
      assert(v >= -1 && v <= 1, `value ${v} outside [-1, 1]`);
      mean += (v + 1) / 2 / 784;
      sq += ((v + 1) / 2) ** 2 / 784;
    }
    const std = Math.sqrt(sq - mean * mean);
    // MNIST: mostly black background (brightness ~0.13 on average), a bright stroke
    assert(mean > 0.03 && mean < 0.45, `digit ${i}: mean brightness ${mean.toFixed(3)}`);
    assert(std > 0.15, `digit ${i}: almost uniform (std ${std.toFixed(3)})`);
  }
  const expected = Deno.env.get("EXPECT_TENSOR_SHA256");
  if (expected) assert((await sha256(r.bytes)) === expected, `tensor hash ${await sha256(r.bytes)} differs from Node's ${expected}`);
});

Deno.test("same seed, same bytes; another seed, other bytes", () => {
  const a = generate(model, { ...request, count: 1, steps: 2, format: "png" });
  const b = generate(model, { ...request, count: 1, steps: 2, format: "png" });
  const c = generate(model, { ...request, count: 1, steps: 2, seed: 12, format: "png" });
  assert(a.bytes.join() === b.bytes.join(), "the same request gave different bytes");
  assert(a.bytes.join() !== c.bytes.join(), "another seed gave the same bytes");
  assert([137, 80, 78, 71].every((v, i) => a.bytes[i] === v), "not a PNG");
});
