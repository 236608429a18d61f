// npm run bench:size — bundle sizes against the peers' (same run), cold start to the first denoiser
// call, and peak memory while sampling 64 digits with the shipped model. Writes bench/results/size.json.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const gz = (p) => gzipSync(readFileSync(p), { level: 9 }).length;
const kb = (n) => (n / 1024).toFixed(1);
const rows = [];
const add = (name, files) => {
  const raw = files.reduce((s, f) => s + statSync(f).size, 0);
  const gzip = files.reduce((s, f) => s + gz(f), 0);
  rows.push({ name, files, raw, gzip });
};
add("edge-diffusion dist/index.js (library + kernels embedded)", ["dist/index.js"]);
add("edge-diffusion dist/workerd.js + kernels.wasm", ["dist/workerd.js", "dist/kernels.wasm"]);
add("onnxruntime-web ort-wasm-simd-threaded.wasm (wasm alone)", ["node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm"]);
add("tfjs-backend-wasm tfjs-backend-wasm-simd.wasm + tfjs-core (esm)", [
  "node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm",
  "node_modules/@tensorflow/tfjs-core/dist/tf-core.min.js",
].filter(existsSync));
const ours = rows[0].gzip;
console.log("| bundle | raw KB | gzip KB | gzip vs ours |\n|---|---:|---:|---:|");
for (const r of rows) console.log(`| ${r.name} | ${kb(r.raw)} | ${kb(r.gzip)} | ${(r.gzip / ours).toFixed(1)}x |`);

// Cold start and memory, each in a fresh Node process.
const model = process.env.BENCH_MODEL ?? "models/mnist.safetensors";
let cold = null;
let memory = null;
if (existsSync(model)) {
  const probe = `
    const t0 = performance.now();
    const lib = await import("./dist/index.js");
    const { readFileSync } = await import("node:fs");
    const tImport = performance.now();
    lib.useKernels(await lib.initKernels());
    const m = lib.loadModel(new Uint8Array(readFileSync(${JSON.stringify(model)})));
    const tLoad = performance.now();
    const d = m.denoiser(Int32Array.of(3));
    d(new Float32Array(784), Float64Array.of(10), 1);
    const tFirst = performance.now();
    const mode = process.argv[1];
    let out = { sinceProcessStart: tFirst + performance.timeOrigin - performance.timeOrigin, importMs: tImport - t0, initLoadMs: tLoad - tImport, firstCallMs: tFirst - tLoad, totalMs: tFirst - t0 };
    if (mode.startsWith("memory")) {
      const [chunk, guidance] = mode.split(":").slice(1).map(Number);
      const base = process.memoryUsage().rss;
      // isolate memory as Workers count it: JS heap + external (ArrayBuffers, wasm memory), sampled each
      // step; "used" counts live objects and not-yet-collected garbage, "committed" the heap V8 reserved
      const iso = () => { const u = process.memoryUsage(); return u.heapUsed + u.external; };
      const committed = () => { const u = process.memoryUsage(); return u.heapTotal + u.external; };
      const isoBase = iso();
      let isoPeak = isoBase;
      let comPeak = committed();
      lib.generate(m, { count: 64, steps: 20, sampler: "dpmpp_2m", seed: 0, label: "all", guidance, format: "png", chunk,
        onStep: () => { isoPeak = Math.max(isoPeak, iso()); comPeak = Math.max(comPeak, committed()); } });
      const ru = process.resourceUsage();
      out = { chunk, guidance, rssBeforeMB: base / 2 ** 20, maxRssMB: ru.maxRSS / 1024, aboveBaselineMB: ru.maxRSS / 1024 - base / 2 ** 20, isolateBeforeMB: isoBase / 2 ** 20, isolatePeakMB: isoPeak / 2 ** 20, committedPeakMB: comPeak / 2 ** 20, poolMB: m.pool.bytes / 2 ** 20 };
    }
    console.log(JSON.stringify(out));`;
  const run = (mode) => JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", probe, mode], { encoding: "utf8" }).trim().split("\n").pop());
  const colds = Array.from({ length: 5 }, () => run("cold"));
  const med = (k) => colds.map((c) => c[k]).sort((a, b) => a - b)[2];
  cold = { importMs: med("importMs"), initLoadMs: med("initLoadMs"), firstCallMs: med("firstCallMs"), totalMs: med("totalMs") };
  console.log(`\ncold start in Node (median of 5 fresh processes): import ${cold.importMs.toFixed(0)} ms, init kernels + load model ${cold.initLoadMs.toFixed(0)} ms, first denoiser call ${cold.firstCallMs.toFixed(0)} ms; total ${cold.totalMs.toFixed(0)} ms`);
  memory = [[16, 1], [16, 2], [64, 1], [64, 2]].map(([c, g]) => run(`memory:${c}:${g}`));
  console.log("\nsampling 64 digits (dpmpp_2m, 20 steps), isolate memory = JS heap + external (incl. wasm memory), MB:");
  console.log("| chunk | guidance | before | peak used | peak committed | activation pool | process max RSS |\n|---:|---:|---:|---:|---:|---:|---:|");
  for (const mm of memory) {
    console.log(`| ${mm.chunk} | ${mm.guidance} | ${mm.isolateBeforeMB.toFixed(1)} | ${mm.isolatePeakMB.toFixed(1)} | ${mm.committedPeakMB.toFixed(1)} | ${mm.poolMB.toFixed(1)} | ${mm.maxRssMB.toFixed(1)} |`);
  }
} else {
  console.log(`\n(${model} is missing: cold start and memory not measured)`);
}
mkdirSync("bench/results", { recursive: true });
writeFileSync("bench/results/size.json", JSON.stringify({ date: new Date().toISOString(), node: process.version, rows, cold, memory }, null, 2));
