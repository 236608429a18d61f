// Super-resolution benchmark (issue 16), not part of `npm test`:
//
//   npm run bench:inverse          (node --import tsx bench/inverse.ts): 1,000 held-out digits
//   QUICK=1 npm run bench:inverse  100 digits
//   N=… METHODS=ddrm,dps,ilvr DDRM_STEPS=… DPS_STEPS=… ILVR_STEPS=… ZETA=…   override the defaults
//   (20, 50, 50 steps; DPS zeta 10)
//
// The MNIST test split (1,000 digits the shipped model never saw) is downsampled 4x by average pooling
// to 7x7 (y = A x, no noise) and restored to 28x28 by DDRM, DPS and ILVR with the shipped model as the
// prior (unconditional: the null label), and by bicubic upsampling. The classifier of bench:quality
// (bench/lib/classifier.ts, trained here on the 9,000 training digits) judges each set against the
// true labels, next to the originals; the consistency ||A x - y|| and the time per image are reported.
// Writes bench/results/inverse.json.

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { useKernels } from "../src/autograd/backend.ts";
import { networkGradientDenoiser } from "../src/denoiser/input-gradient.ts";
import { averagePool, ddrm, dps, ilvr, residualNorms } from "../src/inverse/index.ts";
import { initKernels } from "../src/kernels/index.ts";
import { loadMnist } from "../src/node/mnist.ts";
import { Rng } from "../src/rng.ts";
import { initialNoise } from "../src/samplers/index.ts";
import { karrasSigmas } from "../src/schedule/sigmas.ts";
import { loadShippedModel } from "../src/shipped-model.ts";
import { bicubicUpsample } from "./lib/bicubic.ts";
import { argmax10, DigitClassifier, predictProba, trainClassifier } from "./lib/classifier.ts";
import { environment, writeJson } from "./lib/env.ts";

const T0 = performance.now();
const log = (s: string) => console.log(`[${((performance.now() - T0) / 1000).toFixed(0).padStart(5)} s] ${s}`);
const QUICK = process.env.QUICK === "1";
const N_ASKED = Number(process.env.N ?? (QUICK ? 100 : 1000));
const METHODS = (process.env.METHODS ?? "ddrm,dps,ilvr").split(",");
const STEPS = { ddrm: Number(process.env.DDRM_STEPS ?? 20), dps: Number(process.env.DPS_STEPS ?? 50), ilvr: Number(process.env.ILVR_STEPS ?? 50) };
// DPS's step size: 10 restores best of 3, 10 on 20 digits at 50 steps (accuracy 75 % and 85 %)
const ZETA = Number(process.env.ZETA ?? 10);
const OVERRIDES = ["QUICK", "N", "METHODS", "DDRM_STEPS", "DPS_STEPS", "ILVR_STEPS", "ZETA"].filter((k) => process.env[k] !== undefined).map((k) => `${k}=${process.env[k]}`);
const CHUNK = 20;

useKernels(await initKernels({ backend: "wasm" }));
const env = environment();
const model = await loadShippedModel();
const [C, S] = [model.itemShape[0], model.itemShape[1]];
const D = C * S * S;
const op = averagePool(model.itemShape, 4);

// the judge
const trainSet = loadMnist({ split: "train" });
const testSet = loadMnist({ split: "test" });
const clf = new DigitClassifier().initialize(0);
// bench:quality's judge, trained the same way (seeded: the same weights every run); cached across runs
const cache = join(os.tmpdir(), "edge-diffusion-bench-classifier-e4-s0.f32");
if (existsSync(cache)) {
  const all = new Float32Array(new Uint8Array(readFileSync(cache)).buffer);
  let o = 0;
  for (const t of clf.parameters().values()) {
    t.data.set(all.subarray(o, o + t.size));
    o += t.size;
  }
} else {
  trainClassifier(clf, trainSet.images, trainSet.labels!, { epochs: 4, batch: 64, lr: 2e-3, seed: 0 });
  const parts = [...clf.parameters().values()].map((t) => t.data);
  const all = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  writeFileSync(cache, new Uint8Array(all.buffer));
}
const accuracy = (images: Float32Array, labels: Int32Array) => {
  const p = predictProba(clf, images);
  let ok = 0;
  for (let i = 0; i < labels.length; i++) if (argmax10(p, i) === labels[i]) ok++;
  return ok / labels.length;
};
log(`classifier trained; ${Math.min(N_ASKED, testSet.labels!.length)} test digits, 4x average pooling to ${op.outShape[1]}x${op.outShape[2]}`);

// the npm package's test split holds 999 digits: "1,000" is all of them
const N = Math.min(N_ASKED, testSet.labels!.length);
const images = testSet.images.slice(0, N * D);
const labels = testSet.labels!.slice(0, N);
const y = Float32Array.from(op.A(images, N));
const results: Record<string, { accuracy: number; consistency: number; secondsPerImage: number; steps?: number }> = {};
const report = (name: string, x: Float32Array, seconds: number, steps?: number) => {
  const r = residualNorms(op, x, y, N);
  const consistency = r.reduce((a, b) => a + b, 0) / N;
  results[name] = { accuracy: accuracy(x, labels), consistency, secondsPerImage: seconds / N, ...(steps ? { steps } : {}) };
  log(`${name.padEnd(9)} accuracy ${(100 * results[name].accuracy).toFixed(1)}%  mean ||Ax - y|| ${consistency.toExponential(2)}  ${(1000 * seconds / N).toFixed(1)} ms/image${steps ? `  (${steps} steps)` : ""}`);
};
report("original", images, 0);
let t = performance.now();
report("bicubic", bicubicUpsample(y, N, op.outShape[1], op.outShape[2], S, S), (performance.now() - t) / 1000);

const unconditional = new Int32Array(CHUNK).fill(-1);
for (const method of METHODS) {
  const steps = STEPS[method as keyof typeof STEPS];
  const sigmas = karrasSigmas(steps, model.precond.sigmaMin, model.precond.sigmaMax);
  const out = new Float32Array(N * D);
  t = performance.now();
  for (let s = 0; s < N; s += CHUNK) {
    const n = Math.min(CHUNK, N - s);
    const rng = new Rng(0);
    const x = initialNoise(rng, n, D, sigmas[0], s);
    const common = { batch: n, firstItem: s, rng, operator: op, y: y.subarray(s * op.outSize, (s + n) * op.outSize) };
    const lab = unconditional.subarray(0, n);
    let r;
    if (method === "ddrm") r = ddrm(model.denoiser(lab), x, sigmas, common);
    else if (method === "ilvr") r = ilvr(model.denoiser(lab), x, sigmas, common);
    else if (method === "dps") r = dps(networkGradientDenoiser(model.net, model.precond, model.itemShape, lab), x, sigmas, { ...common, zeta: ZETA });
    else throw new Error(`unknown method ${method}`);
    out.set(r.x, s * D);
  }
  report(method, out, (performance.now() - t) / 1000, steps);
}

writeJson(`bench/results/${QUICK ? "inverse-quick" : "inverse"}.json`, {
  ...env,
  command: [...OVERRIDES, "npm run bench:inverse"].join(" "),
  seconds: (performance.now() - T0) / 1000,
  digits: N,
  operator: op.name,
  measurement: "y = A x, noiseless, x the MNIST test split in [-1, 1]",
  prior: "models/mnist.safetensors, unconditional (null label); Karras sigmas (rho 7) in the model's [sigmaMin, sigmaMax]",
  options: { ddrm: { eta: 0.85, etaB: 1 }, dps: { zeta: ZETA, eta: 1 }, ilvr: { eta: 1 } },
  results,
  gainOverBicubic: Object.fromEntries(METHODS.map((m) => [m, results[m].accuracy - results.bicubic.accuracy])),
});
