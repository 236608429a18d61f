// Samples with a model file through the built bundle and prints hashes of the results as JSON:
// `node|deno run --allow-read|bun test/runtimes/sample-model.mjs MODEL [REQUEST_JSON]`. The same file
// runs in Node, Deno and Bun; test/runtimes/sample-model.test.ts compares the hashes across them and
// with the example Worker in workerd.
import { readFileSync } from "node:fs";
import * as lib from "../../dist/index.js";

const args = globalThis.Deno ? Deno.args : process.argv.slice(2);
const [modelPath, requestJson] = args;
const request = { count: 3, steps: 4, sampler: "dpmpp_2m_sde", seed: 11, label: "all", guidance: 2, ...JSON.parse(requestJson ?? "{}") };

async function sha256(bytes) {
  const d = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const k = await lib.initKernels({ backend: "wasm" });
lib.useKernels(k);
// a Buffer in Node and Bun, a Uint8Array in Deno: loadModel must read both
const model = lib.loadModel(readFileSync(modelPath));
const tensor = lib.generate(model, { ...request, format: "safetensors" });
const png = lib.generate(model, { ...request, format: "png" });
let sum = 0;
for (const v of tensor.samples) sum += v;
console.log(
  JSON.stringify({
    backend: k.backend,
    tensor: await sha256(tensor.bytes),
    png: await sha256(png.bytes),
    shape: tensor.shape,
    mean: sum / tensor.samples.length,
  }),
);
