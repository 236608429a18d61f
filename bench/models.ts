// npm run bench:models — the full-size google/ddpm-cifar10-32 UNet2DModel (35.7 M parameters, random
// weights generated here) in edge-diffusion against onnxruntime-web (wasm backend, one thread) running the
// graph PyTorch's exporter wrote for the same diffusers model, with the same weights (issue 12, "Speed").
// Not part of `npm test`. Needs ../shared/fixtures/diffusers/ddpm-cifar10-32.onnx-graph (or GRAPH_DIR).
//
//   npm run bench:models                 (ROUNDS=5 by default)
//
// One denoiser evaluation at batch 1 and batch 8, fp32, one thread each, samples interleaved (ours, ort,
// ours, ...) so machine load hits both; medians and the ratio. Before timing, both outputs are compared.
// Also: the model's memory (weights, and the process's peak RSS), and the end-to-end time of one 32x32
// image in 20 DPM-Solver++ steps through the diffusers scheduler API. Writes bench/results/models.json.

import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import * as ort from "onnxruntime-web";
import { useKernels } from "../src/autograd/backend.ts";
import { createUNet2DModel } from "../src/diffusers/unet-model.ts";
import { createScheduler } from "../src/diffusers/schedulers/index.ts";
import { initKernels } from "../src/kernels/index.ts";
import { Rng } from "../src/rng.ts";
import { environment, writeJson } from "./lib/env.ts";

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const DIR = resolve(process.env.GRAPH_DIR ?? "../shared/fixtures/diffusers/ddpm-cifar10-32.onnx-graph");
if (!existsSync(resolve(DIR, "model.onnx"))) {
  console.error(`bench:models needs the exported graph at ${DIR} (set GRAPH_DIR)`);
  process.exit(2);
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const log = (s: string) => console.log(s);

useKernels(await initKernels());
ort.env.wasm.numThreads = 1;
ort.env.logLevel = "error";

// ---- the model, ours, with random weights; the same weights for ort under the graph's names ----
const configText = readFileSync(resolve(DIR, "config.json"), "utf8");
const t0 = performance.now();
const model = createUNet2DModel(configText, { seed: 0 });
const params = model.module.parameters();
const count = model.parameterCount();
log(`ddpm-cifar10-32 architecture: ${count.toLocaleString("en")} parameters (built in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
if (count !== 35_746_307) throw new Error(`parameter count ${count}, expected 35,746,307`);
const spec = JSON.parse(readFileSync(resolve(DIR, "initializers.json"), "utf8")) as {
  weights_file: string;
  weights_file_bytes: number;
  initializers: { name: string; param: string; shape: number[]; offset: number; length: number; transform: string }[];
};
const weightsBin = new Uint8Array(spec.weights_file_bytes);
for (const e of spec.initializers) {
  const t = params.get(e.param);
  if (!t) throw new Error(`the graph wants ${e.param}, which the model does not have`);
  if (e.transform !== "none") throw new Error(`transform ${e.transform} of ${e.name} is not handled`);
  if (t.data.byteLength !== e.length) throw new Error(`${e.name}: ${t.data.byteLength} bytes here, ${e.length} in the graph`);
  weightsBin.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), e.offset);
}
const session = await ort.InferenceSession.create(new Uint8Array(readFileSync(resolve(DIR, "model.onnx"))), {
  executionProviders: ["wasm"],
  graphOptimizationLevel: "all",
  externalData: [{ path: spec.weights_file, data: weightsBin }],
});

// ---- inputs, and agreement ----
const rows: { batch: number; oursMs: number; ortMs: number; ratio: number; relErr: number }[] = [];
for (const B of [1, 8]) {
  const rng = new Rng(B);
  const x = rng.stream("x").normal(new Float32Array(B * 3 * 32 * 32));
  const t = Float32Array.from({ length: B }, (_, i) => (137 * (i + 1)) % 1000);
  const ours = () => model.forward({ data: x, shape: [B, 3, 32, 32] }, t).data;
  const feeds = { sample: new ort.Tensor("float32", x, [B, 3, 32, 32]), timestep: new ort.Tensor("float32", t, [B]) };
  const theirs = async () => (await session.run(feeds)).out_sample.data as Float32Array;
  const a = ours();
  const b = await theirs();
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  const relErr = num / den;
  if (!(relErr < 1e-4)) throw new Error(`batch ${B}: outputs differ (max |diff| / max |y| = ${relErr})`);
  const so: number[] = [];
  const st: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    let s = performance.now();
    ours();
    so.push(performance.now() - s);
    s = performance.now();
    await theirs();
    st.push(performance.now() - s);
  }
  const row = { batch: B, oursMs: median(so), ortMs: median(st), ratio: median(st) / median(so), relErr };
  rows.push(row);
}
log(`| batch | edge-diffusion ms | onnxruntime-web ms | speed-up |\n|---:|---:|---:|---:|`);
for (const r of rows) log(`| ${r.batch} | ${r.oursMs.toFixed(0)} | ${r.ortMs.toFixed(0)} | ${r.ratio.toFixed(2)}x |`);
log(`outputs agree: max |diff| / max |y| = ${rows.map((r) => r.relErr.toExponential(1)).join(", ")}`);

// ---- end to end: one image, 20 DPM-Solver++ steps ----
const sched = createScheduler("DPMSolverMultistepScheduler", { algorithm_type: "dpmsolver++", solver_order: 2 });
sched.setTimesteps(20);
let sample: Float32Array = new Rng(7).normal(new Float32Array(3 * 32 * 32));
const e0 = performance.now();
for (const t of sched.timesteps) {
  const out = model.forward({ data: sched.scaleModelInput(sample, t), shape: [1, 3, 32, 32] }, t).data;
  sample = sched.step(out, t, sample).prevSample;
}
const e2e = (performance.now() - e0) / 1000;
const rss = process.resourceUsage().maxRSS / 1024;
log(`one 32x32 image, 20 DPM-Solver++ steps: ${e2e.toFixed(2)} s; weights ${(count * 4 / 2 ** 20).toFixed(0)} MB as float32 in memory; peak RSS of this process ${rss.toFixed(0)} MB (it also holds onnxruntime's copy)`);
writeJson("bench/results/models.json", { ...environment(["onnxruntime-web"]), parameters: count, rows, endToEndSeconds: e2e, peakRssMB: rss });
