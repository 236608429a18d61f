// Cold start and memory of the example Worker in real workerd (miniflare), beside Node, Deno and Bun
// cold starts measured in the same run: `npm run bench:workerd` (= node --import tsx bench/workerd.mjs;
// RUNS=n to change the repeats, default 7). Writes bench/results/workerd.json.
//
// Cold start = from nothing to the first denoiser call's result: for workerd, `new Miniflare()` (a fresh
// workerd process and isolate) until the response to GET /sample?steps=1&count=1&sampler=euler (one
// denoiser evaluation: kernels init, model load, one UNet call, a 1-digit PNG) has arrived; the Worker is
// bundled before timing (a deploy-time step). For Node/Deno/Bun, process start (performance.timeOrigin)
// until generate() with one Euler step returns, in a fresh process. Medians over RUNS.
//
// Memory: the workerd process's peak resident set (VmHWM) after the largest accepted one-shot request
// and after the largest resumable step, against its resident set right after the 1-step request and that
// of an empty Worker. The process includes workerd itself and whatever its allocator keeps of freed
// buffers, so that is an upper bound; the WASM memory (which never shrinks) is read inside the isolate by
// a bench-only wrapper around the Worker that reports the kernels' memory size in a response header.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { bundleWorker, memoryOf, startModules, startWorker, testModel } from "../test/runtimes/worker-harness.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const RUNS = Number(process.env.RUNS ?? 7);
const MODEL = testModel();
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

async function timed(w, path, init) {
  const t = performance.now();
  const r = await w.fetch(path, init);
  const body = await r.arrayBuffer();
  if (r.status !== 200) throw new Error(`${path}: ${r.status} ${new TextDecoder().decode(body).slice(0, 200)}`);
  return { ms: performance.now() - t, body, type: r.headers.get("content-type") };
}

const ONE_STEP = "/sample?seed=0&steps=1&count=1&sampler=euler&label=3";
// the largest one-shot request: 16 digits, guided Heun (4 digit-NFEs per digit and step), 4 steps = 256
const LARGEST = "/sample?seed=0&steps=4&count=16&sampler=heun&label=all&guidance=2";
// the largest resumable request: the same per step, 1 step per request, dpmpp_2m carrying a batch-sized array
const RESUMABLE = "/sample?seed=0&steps=16&count=16&sampler=dpmpp_2m&label=all&guidance=2&mode=resumable&maxSteps=2";

const code = await bundleWorker();
const workerd = { readyMs: [], firstMs: [], coldMs: [], warmOneStepMs: [] };
let mem = null;

// bench-only entry: records the kernels' WebAssembly.Memory when the library instantiates it
const WRAPPER = `import worker from "./worker.js";
const mems = [];
const instantiate = WebAssembly.instantiate;
WebAssembly.instantiate = async function (...args) {
  const r = await instantiate.apply(this, args);
  const inst = r.instance ?? r;
  if (inst.exports && inst.exports.memory) mems.push(inst.exports.memory);
  return r;
};
export default {
  async fetch(request, env, ctx) {
    const res = await worker.fetch(request, env, ctx);
    const headers = new Headers(res.headers);
    headers.set("x-wasm-memory", String(mems.reduce((a, m) => a + m.buffer.byteLength, 0)));
    return new Response(res.body, { status: res.status, headers });
  },
};`;
async function wasmMemory() {
  const w = await startModules([
    { type: "ESModule", path: "wrapper.js", contents: WRAPPER },
    { type: "ESModule", path: "worker.js", contents: code },
    { type: "CompiledWasm", path: "kernels.wasm", contents: readFileSync(join(ROOT, "dist/kernels.wasm")) },
    { type: "Data", path: "model.safetensors", contents: readFileSync(MODEL) },
  ]);
  try {
    const read = async (path, init) => {
      const r = await w.fetch(path, init);
      const body = await r.arrayBuffer();
      if (r.status !== 200) throw new Error(`${path}: ${r.status}`);
      return { mb: round(Number(r.headers.get("x-wasm-memory")) / 2 ** 20), body };
    };
    const one = await read(ONE_STEP);
    const big = await read(LARGEST);
    const r1 = await read(RESUMABLE);
    const r2 = await read("/sample?mode=resumable&maxSteps=1", { method: "POST", body: JSON.parse(new TextDecoder().decode(r1.body)).token });
    return { afterOneStepMB: one.mb, afterLargestOneShotMB: big.mb, afterResumableMB: r2.mb };
  } finally {
    await w.close();
  }
}
async function emptyWorkerRss() {
  const w = await startModules([{ type: "ESModule", path: "w.js", contents: "export default { fetch() { return new Response('ok'); } };" }]);
  try {
    await (await w.fetch("/")).arrayBuffer();
    return round(memoryOf(w.pid).rss / 2 ** 20);
  } finally {
    await w.close();
  }
}
for (let i = 0; i < RUNS; i++) {
  const t0 = performance.now();
  const w = await startWorker(MODEL, code);
  try {
    const t1 = performance.now();
    const first = await timed(w, ONE_STEP);
    if (first.type !== "image/png") throw new Error("no PNG");
    workerd.readyMs.push(t1 - t0);
    workerd.firstMs.push(first.ms);
    workerd.coldMs.push(performance.now() - t0);
    workerd.warmOneStepMs.push((await timed(w, "/sample?seed=1&steps=1&count=1&sampler=euler&label=3")).ms);
    if (i === 0) {
      const base = memoryOf(w.pid);
      const big = await timed(w, LARGEST);
      const afterBig = memoryOf(w.pid);
      const r1 = await timed(w, RESUMABLE);
      const token = JSON.parse(new TextDecoder().decode(r1.body)).token;
      const r2 = await timed(w, "/sample?mode=resumable&maxSteps=1", { method: "POST", body: token });
      const afterResumable = memoryOf(w.pid);
      mem = base && {
        pid: w.pid,
        rssAfterOneStepMB: round(base.rss / 2 ** 20),
        peakAfterLargestOneShotMB: round(afterBig.hwm / 2 ** 20),
        largestOneShotMs: round(big.ms, 0),
        peakAfterResumableMB: round(afterResumable.hwm / 2 ** 20),
        resumableFirstMs: round(r1.ms, 0),
        resumableStepMs: round(r2.ms, 0),
        tokenChars: token.length,
      };
    }
  } finally {
    await w.close();
  }
}

// The same first denoiser call in fresh Node, Deno and Bun processes.
const dir = mkdtempSync(join(tmpdir(), "ed-cold-"));
const probe = join(dir, "probe.mjs");
writeFileSync(
  probe,
  `import { readFileSync } from "node:fs";
import { generate, initKernels, loadModel, useKernels } from ${JSON.stringify(join(ROOT, "dist/index.js"))};
useKernels(await initKernels());
const model = loadModel(readFileSync(${JSON.stringify(MODEL)}));
generate(model, { count: 1, steps: 1, sampler: "euler", seed: 0, label: 3, guidance: 1, format: "png" });
console.log(JSON.stringify({ ms: performance.now() }));
`,
);
const runtimes = {
  node: [process.execPath, [probe]],
  deno: [join(ROOT, "node_modules/.bin/deno"), ["run", "--allow-read", probe]],
  bun: [join(ROOT, "node_modules/.bin/bun"), [probe]],
};
const others = {};
for (const [name, [cmd, args]] of Object.entries(runtimes)) {
  const inProcess = [];
  const wall = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    const r = spawnSync(cmd, args, { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
    wall.push(performance.now() - t);
    if (r.status !== 0) throw new Error(`${name}: ${r.stderr}`);
    inProcess.push(JSON.parse(r.stdout.trim().split("\n").pop()).ms);
  }
  others[name] = { firstDenoiserMs: round(median(inProcess), 0), processWallMs: round(median(wall), 0) };
}
// The largest one-shot request in Node, for the isolate's share: V8 heap and external memory after it
const big = join(dir, "big.mjs");
writeFileSync(
  big,
  `import { readFileSync } from "node:fs";
import { generate, initKernels, loadModel, useKernels } from ${JSON.stringify(join(ROOT, "dist/index.js"))};
useKernels(await initKernels());
const model = loadModel(readFileSync(${JSON.stringify(MODEL)}));
const before = process.memoryUsage();
generate(model, { count: 16, steps: 4, sampler: "heun", seed: 0, label: "all", guidance: 2, format: "png", chunk: 4 });
const after = process.memoryUsage();
console.log(JSON.stringify({ before, after }));
`,
);
const nb = spawnSync(process.execPath, [big], { encoding: "utf8" });
if (nb.status !== 0) throw new Error(nb.stderr);
const { before: mb0, after: mb1 } = JSON.parse(nb.stdout.trim().split("\n").pop());
const MB = (x) => round(x / 2 ** 20);
others.nodeLargestOneShot = { heapTotalMB: MB(mb1.heapTotal), heapUsedMB: MB(mb1.heapUsed), externalMB: MB(mb1.external), rssBeforeMB: MB(mb0.rss), rssAfterMB: MB(mb1.rss) };
rmSync(dir, { recursive: true, force: true });

const result = {
  date: new Date().toISOString(),
  machine: `${cpus()[0]?.model ?? "?"}, ${cpus().length} cores, ${process.platform} ${process.arch}, Node ${process.version}`,
  runs: RUNS,
  model: { file: MODEL.replace(ROOT, ""), bytes: readFileSync(MODEL).length },
  workerBundle: { bytes: code.length, kernelsWasmBytes: readFileSync(join(ROOT, "dist/kernels.wasm")).length },
  workerd: {
    readyMs: round(median(workerd.readyMs), 0),
    firstRequestMs: round(median(workerd.firstMs), 0),
    coldToFirstDenoiserMs: round(median(workerd.coldMs), 0),
    warmOneStepRequestMs: round(median(workerd.warmOneStepMs), 1),
    memory: mem && { emptyWorkerRssMB: await emptyWorkerRss(), ...mem, wasmMemory: await wasmMemory() },
  },
  ...others,
};
mkdirSync(join(ROOT, "bench/results"), { recursive: true });
writeFileSync(join(ROOT, "bench/results/workerd.json"), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
