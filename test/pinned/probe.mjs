// Prints sha256 hashes of what the architecture refactor (issue 11) must not change, as JSON: every
// sampler on the exact-score Gaussian mixture (plain, resumed in pieces, with guidance), img2img,
// inpainting and augment on it, and generate() on the shipped model for each mode. Runs the built bundle.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as lib from "../../dist/index.js";

const hash = (a) => createHash("sha256").update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest("hex");
// the sampler call returns x (today) or { x } (a form that also returns the step and carry)
const xOf = (r) => (r instanceof Float32Array ? r : r.x);
const out = {};

lib.useKernels(await lib.initKernels());
const gm = lib.GaussianMixture.example2d();
const B = 6;
const sigmas = lib.karrasSigmas(7, 0.02, 20);
const x0 = lib.initialNoise(new lib.Rng(5), B, 2, sigmas[0]);
for (const name of lib.SAMPLER_NAMES) {
  out[`mixture.${name}`] = hash(xOf(lib.getSampler(name)(gm.denoiser, x0, sigmas, { batch: B, rng: new lib.Rng(9) })));
}
const labels = Int32Array.from({ length: B }, (_, i) => (i % 3) - 1);
const guided = lib.guidedDenoiser(gm.conditionalDenoiser, labels, 2);
out["mixture.guided.heun"] = hash(xOf(lib.getSampler("heun")(guided, x0, sigmas, { batch: B })));
out["mixture.img2img.euler_ancestral"] = hash(
  xOf(lib.img2img(lib.getSampler("euler_ancestral"), gm.denoiser, new Float32Array(B * 2).fill(0.3), sigmas, { batch: B, strength: 0.6, rng: new lib.Rng(2) })),
);
const known = Float32Array.from({ length: B * 2 }, (_, j) => (j % 2 ? 0.5 : -0.5));
const mask = Float32Array.from({ length: B * 2 }, (_, j) => j % 2);
out["mixture.inpaint"] = hash(xOf(lib.inpaint(gm.denoiser, x0, sigmas, { batch: B, rng: new lib.Rng(4), known, mask, resample: 2 })));

const model = lib.loadModel(readFileSync(new URL("../../models/mnist.safetensors", import.meta.url)));
const base = { count: 3, steps: 4, seed: 7, label: "all", guidance: 2, format: "safetensors" };
for (const sampler of ["dpmpp_2m", "heun", "euler_ancestral", "ddim", "ddpm", "dpmpp_2m_sde", "pc"]) {
  out[`model.${sampler}`] = hash(lib.generate(model, { ...base, sampler }).samples);
}
out["model.rk45.unguided"] = hash(lib.generate(model, { ...base, sampler: "rk45", guidance: 1 }).samples);
const img = new Float32Array(784).map((_, i) => ((i % 28) > 10 && (i % 28) < 17 ? 0.8 : -1));
out["model.img2img"] = hash(lib.generate(model, { ...base, sampler: "euler", init: { image: img, strength: 0.5 } }).samples);
out["model.inpaint"] = hash(
  lib.generate(model, { ...base, sampler: "ddim", inpaint: { image: img, mask: new Float32Array(784).map((_, i) => (i < 392 ? 1 : 0)), resample: 2 } }).samples,
);
let p = lib.generateSteps(model, { ...base, sampler: "dpmpp_2m_sde" }, { maxSteps: 3 });
while (!p.done) p = lib.generateSteps(model, { ...base, sampler: "dpmpp_2m_sde" }, { maxSteps: 1, from: p.state });
out["model.steps.dpmpp_2m_sde"] = hash(p.result.samples);
console.log(JSON.stringify(out));
