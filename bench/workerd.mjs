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
// Memory, process: the workerd process's peak resident set (VmHWM) after the largest accepted one-shot
// request and after the largest resumable step, against its resident set right after the 1-step request
// and that of an empty Worker. The process includes workerd itself and whatever its allocator keeps of
// freed buffers, so that is an upper bound, not what Cloudflare limits (128 MB per isolate).
//
// Memory, isolate (workerd.isolateMemory): read inside the Worker's V8 isolate through the DevTools
// protocol (startInspectedWorker in test/runtimes/worker-harness.ts): Runtime.getHeapUsage gives the JS
// heap (used, and committed = totalSize), the cppgc heap and the ArrayBuffer backing stores; the kernels'
// WebAssembly memory, which V8 does not count there, comes from a wrapper entry module (it never shrinks,
// so the reading after a request is its peak). totalMB = committed JS heap + cppgc + backing stores + wasm.
// workerd answers CDP only while the isolate is idle, so "during" readings are taken at breakpoints in the
// Worker bundle, where the paused isolate does answer: at every pool exit (a micro-batch's activations all
// live; the test asserts on these), and in a second request also every 1 MiB asked of the tensor
// allocator (denser, but its own conditions and pauses inflate the JS heap: an overestimate). "afterNoGc"
// is read right after the request without the debugger; "afterGc" after a full collection (through a
// heap snapshot). test/runtimes/worker-bounds.test.ts asserts on the same measurements.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { abandonRequest, bundleWorker, isolateMemory, memoryOf, startInspectedWorker, startModules, startWorker, testModel } from "../test/runtimes/worker-harness.ts";

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
// the largest resumable request: the same per step, 2 steps per request (64 digit-NFEs, the per-request
// bound), dpmpp_2m carrying a batch-sized array through the token
const RESUMABLE = "/sample?seed=0&steps=16&count=16&sampler=dpmpp_2m&label=all&guidance=2&mode=resumable&maxSteps=2";

const code = await bundleWorker();
const workerd = { readyMs: [], firstMs: [], coldMs: [], warmOneStepMs: [] };
let mem = null;

const MiB = (x) => round(x / 2 ** 20, 2);
/** An isolate reading in MB. */
const isoMB = (m) => ({ totalMB: MiB(m.total), jsHeapCommittedMB: MiB(m.totalSize), jsHeapUsedMB: MiB(m.usedSize), cppgcMB: MiB(m.embedderHeapUsedSize), arrayBuffersMB: MiB(m.backingStorageSize), wasmMB: MiB(m.wasm) });
/** The peak of readings taken during a request, in MB (wasm: read after the request; it never shrinks). */
const peakMB = (d, wasm) => ({ totalMB: MiB(d.peak.sum + wasm), jsHeapCommittedMB: MiB(d.peak.totalSize), jsHeapUsedMB: MiB(d.peak.usedSize), arrayBuffersMB: MiB(d.peak.backingStorageSize), wasmMB: MiB(wasm), readings: d.readings.length });

/** Isolate memory of the example Worker, read through the DevTools protocol (see the header). */
async function isolateMemoryMB() {
  const w = await startInspectedWorker(MODEL, code);
  try {
    const body = async (path, init) => {
      const r = await w.fetch(path, init);
      const b = Buffer.from(await r.arrayBuffer());
      if (r.status !== 200) throw new Error(`${path}: ${r.status} ${b.toString().slice(0, 200)}`);
      return b;
    };
    const now = async () => isoMB(isolateMemory(await w.heap(), await w.wasmMemory()));
    const afterGc = async () => {
      await w.gc();
      return isoMB(await w.memory());
    };
    const idle = { atStart: await now(), afterGc: await afterGc() };
    await body(ONE_STEP);
    const oneStep = { afterNoGc: await now(), afterGc: await afterGc() };
    const d = await w.during(() => body(LARGEST), { everyBytes: null });
    const dense = await w.during(() => body(LARGEST), { everyBytes: 2 ** 20 });
    if (!dense.result.equals(d.result)) throw new Error("the largest request changed its bytes under the debugger");
    await w.gc();
    await body(LARGEST);
    const largest = {
      peakDuring: peakMB(d, await w.wasmMemory()),
      peakDuringDense: peakMB(dense, await w.wasmMemory()),
      afterNoGc: await now(),
      afterGc: await afterGc(),
    };
    const token = JSON.parse((await body(RESUMABLE)).toString()).token;
    await w.gc();
    const r = await w.during(() => body("/sample?mode=resumable", { method: "POST", body: token }), { everyBytes: null });
    await w.gc();
    await body("/sample?mode=resumable", { method: "POST", body: token });
    const resumable = { peakDuring: peakMB(r, await w.wasmMemory()), afterNoGc: await now(), afterGc: await afterGc() };
    // abandoned: three largest one-shot requests, three continuations cut halfway through the token, one whole
    const before = await w.stats();
    await Promise.all([
      ...[11, 12, 13].map((s) => abandonRequest(`${w.url}/sample?seed=${s}&steps=4&count=16&sampler=heun&label=all&guidance=2`, { afterMs: 100 })),
      ...[1, 2, 3].map(() => abandonRequest(`${w.url}/sample?mode=resumable`, { method: "POST", body: token, sendBytes: token.length >> 1, afterMs: 300 })),
      abandonRequest(`${w.url}/sample?mode=resumable`, { method: "POST", body: token, afterMs: 100 }),
    ]);
    let stats = await w.stats();
    for (let i = 0; i < 100 && stats.settled < stats.requests; i++) {
      await new Promise((res) => setTimeout(res, 100));
      stats = await w.stats();
    }
    const abandoned = { requests: stats.requests - before.requests, settled: stats.settled - before.settled, baselineAfterGc: resumable.afterGc, afterGc: await afterGc() };
    if (!(await body(LARGEST)).equals(d.result)) throw new Error("the Worker answers differently after the abandoned requests");
    return { idle, oneStep, largestOneShot: largest, largestResumableStep: resumable, abandoned };
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

const iso = await isolateMemoryMB();
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
    memory: mem && {
      emptyWorkerRssMB: await emptyWorkerRss(),
      ...mem,
      wasmMemory: { afterOneStepMB: iso.oneStep.afterNoGc.wasmMB, afterLargestOneShotMB: iso.largestOneShot.afterNoGc.wasmMB, afterResumableMB: iso.largestResumableStep.afterNoGc.wasmMB },
    },
    isolateMemory: iso,
  },
  ...others,
};
mkdirSync(join(ROOT, "bench/results"), { recursive: true });
writeFileSync(join(ROOT, "bench/results/workerd.json"), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
const line = (name, m) => console.log(`${name.padEnd(44)} ${String(m.totalMB).padStart(6)} MB  (JS heap ${m.jsHeapCommittedMB} committed / ${m.jsHeapUsedMB} used, ArrayBuffers ${m.arrayBuffersMB}, wasm ${m.wasmMB})`);
console.log("\nisolate memory of the example Worker in workerd (Cloudflare's limit: 128 MB):");
line("idle (after GC)", iso.idle.afterGc);
line("after the 1-step request", iso.oneStep.afterNoGc);
line("largest one-shot: peak during (pool exits)", iso.largestOneShot.peakDuring);
line("largest one-shot: peak during (dense)", iso.largestOneShot.peakDuringDense);
line("largest one-shot: right after, no GC", iso.largestOneShot.afterNoGc);
line("largest one-shot: after GC", iso.largestOneShot.afterGc);
line("largest resumable step: peak during", iso.largestResumableStep.peakDuring);
line("largest resumable step: right after, no GC", iso.largestResumableStep.afterNoGc);
line(`after ${iso.abandoned.requests} abandoned requests + GC`, iso.abandoned.afterGc);
