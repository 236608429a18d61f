// Samples one request with a model through the built bundle and hashes the results: plain ESM with no
// runtime-specific imports, shared by sample-model.mjs (Node, Deno, Bun) and sample-model.html (Chromium).

export const REQUEST = { count: 3, steps: 4, sampler: "dpmpp_2m_sde", seed: 11, label: "all", guidance: 2 };

async function sha256(bytes) {
  const d = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * @param lib the library module (dist/index.js); @param bytes the model file; @param request overrides of
 * REQUEST, or `{ only: {...} }`: exactly these options, the library's defaults (SAMPLING_DEFAULTS) for the rest
 */
export async function sampleHashes(lib, bytes, request = {}) {
  const r = request.only ?? { ...REQUEST, ...request };
  const k = await lib.initKernels({ backend: "wasm" });
  lib.useKernels(k);
  const model = lib.loadModel(bytes);
  const tensor = lib.generate(model, { ...r, format: "safetensors" });
  const png = lib.generate(model, { ...r, format: "png" });
  let sum = 0;
  for (const v of tensor.samples) sum += v;
  return { backend: k.backend, tensor: await sha256(tensor.bytes), png: await sha256(png.bytes), shape: tensor.shape, mean: sum / tensor.samples.length };
}
