// npm run bench:parallel — sampling on several threads (edge-diffusion/node parallelModel) against one
// thread, in the same run, with the shipped model: 64 digits, DPM-Solver++ 2M, 20 steps, guidance 2
// (each step a 128-item denoiser call in chunks of 16 digits, or one 128-item call with chunk 64).
// Median of RUNS (default 3) per setting; checks the bytes are identical. Writes
// bench/results/parallel.json.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { generate, initKernels, loadModel, useKernels } from "../dist/index.js";
import { parallelModel } from "../dist/node.js";

const RUNS = Number(process.env.RUNS ?? 3);
const bytes = new Uint8Array(readFileSync("models/mnist.safetensors"));
useKernels(await initKernels());
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const cores = availableParallelism();
const threadCounts = [...new Set([1, 2, Math.min(4, cores)])].filter((t) => t <= Math.max(2, cores));
const rows = [];
let reference = null;
for (const chunk of [16, 64]) {
  const o = { count: 64, steps: 20, sampler: "dpmpp_2m", seed: 0, label: "all", guidance: 2, format: "safetensors", chunk };
  for (const threads of threadCounts) {
    const model = threads === 1 ? loadModel(bytes) : await parallelModel(bytes, { threads });
    const times = [];
    let same = true;
    for (let r = 0; r < RUNS; r++) {
      const t = performance.now();
      const out = generate(model, o).bytes;
      times.push((performance.now() - t) / 1000);
      reference ??= Buffer.from(out);
      same &&= reference.equals(Buffer.from(out));
    }
    await model.close?.();
    rows.push({ chunk, threads, seconds: median(times), same });
  }
}
console.log(`sampling 64 digits (dpmpp_2m, 20 steps, guidance 2), median of ${RUNS}; ${cores} cores (${cpus()[0]?.model ?? "?"})`);
console.log("| chunk | threads | seconds | speed-up vs 1 thread | same bytes as 1 thread |\n|---:|---:|---:|---:|---|");
for (const r of rows) {
  const one = rows.find((x) => x.chunk === r.chunk && x.threads === 1).seconds;
  r.speedup = one / r.seconds;
  console.log(`| ${r.chunk} | ${r.threads} | ${r.seconds.toFixed(2)} | ${r.speedup.toFixed(2)}x | ${r.same ? "yes" : "NO"} |`);
}
if (rows.some((r) => !r.same)) process.exitCode = 1;
mkdirSync("bench/results", { recursive: true });
writeFileSync("bench/results/parallel.json", JSON.stringify({ date: new Date().toISOString(), node: process.version, cores, rows }, null, 2));
