// Kernels benchmark (issue #3): our WASM SIMD kernels against tfjs-backend-wasm (XNNPACK, 1 thread) and
// onnxruntime-web (wasm, 1 thread), one process, same shapes, same data. Not part of `npm test`.
//
//   npm run bench:kernels            (node --experimental-wasm-relaxed-simd --import tsx bench/kernels.ts)
//   QUICK=1 npm run bench:kernels    (fewer repeats)
//
// Method: every library gets a warm-up, then a per-library iteration count calibrated to ≈ 25 ms per
// sample; samples of the libraries are interleaved (ours, tfjs, ort, ours, ...) so machine noise hits all
// alike, and the median sample is reported. Ratios are within this run only. Writes
// bench/results/kernels.json and prints a Markdown table.

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import * as tf from "@tensorflow/tfjs-core";
import * as tfwasm from "@tensorflow/tfjs-backend-wasm";
import * as ort from "onnxruntime-web";
import { createTsKernels, hasRelaxedSimd, initKernels, type Conv2dShape, type KernelsWithArena } from "../src/kernels/index.ts";
import { Rng } from "../src/rng.ts";

const QUICK = !!process.env.QUICK;
const SAMPLES = QUICK ? 5 : 11;
const SAMPLE_MS = QUICK ? 15 : 25;

type Runner = () => unknown;
interface Lib {
  name: string;
  run: Runner;
}

async function time(run: Runner, iters: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) {
    const r = run();
    if (r instanceof Promise) await r;
  }
  return (performance.now() - t0) / iters;
}

/** Median seconds per call for each library, samples interleaved. */
async function measure(libs: Lib[]): Promise<number[]> {
  const iters: number[] = [];
  for (const l of libs) {
    await time(l.run, 2); // warm-up (and tier-up)
    let n = 1;
    let t = await time(l.run, n);
    while (t * n < SAMPLE_MS && n < 1e6) {
      n *= 2;
      t = await time(l.run, n);
    }
    iters.push(Math.max(1, Math.round(SAMPLE_MS / Math.max(t, 1e-6))));
  }
  const samples: number[][] = libs.map(() => []);
  for (let s = 0; s < SAMPLES; s++) {
    for (let i = 0; i < libs.length; i++) samples[i].push(await time(libs[i].run, iters[i]));
  }
  return samples.map((v) => {
    v.sort((a, b) => a - b);
    return v[v.length >> 1] / 1000;
  });
}

// ---- a minimal ONNX (protobuf) writer: one node, float32, static shapes ----
function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
const tag = (field: number, wire: number) => varint(field * 8 + wire);
const vInt = (field: number, v: number) => [...tag(field, 0), ...varint(v)];
const vBytes = (field: number, b: ArrayLike<number>) => [...tag(field, 2), ...varint(b.length), ...Array.from(b)];
const vStr = (field: number, s: string) => vBytes(field, new TextEncoder().encode(s));
const valueInfo = (name: string, dims: number[]) =>
  vStr(1, name).concat(vBytes(2, vBytes(1, [...vInt(1, 1), ...vBytes(2, dims.flatMap((d) => vBytes(1, vInt(1, d))))])));
const attrInts = (name: string, ints: number[]) => [...vStr(1, name), ...ints.flatMap((i) => vInt(8, i)), ...vInt(20, 7)];
const tensor = (name: string, dims: number[], data: Float32Array) => [
  ...dims.flatMap((d) => vInt(1, d)),
  ...vInt(2, 1),
  ...vStr(8, name),
  ...vBytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength)),
];

function onnxModel(
  op: string, input: [string, number[]], weight: [string, number[], Float32Array], output: [string, number[]],
  attrs: Array<[string, number[]]> = [],
): Uint8Array {
  const node = [...vStr(1, input[0]), ...vStr(1, weight[0]), ...vStr(2, output[0]), ...vStr(4, op), ...attrs.flatMap(([n, v]) => vBytes(5, attrInts(n, v)))];
  const graph = [
    ...vBytes(1, node),
    ...vStr(2, "g"),
    ...vBytes(5, tensor(...weight)),
    ...vBytes(11, valueInfo(...input)),
    ...vBytes(12, valueInfo(...output)),
  ];
  return new Uint8Array([...vInt(1, 8), ...vStr(2, "edge-diffusion-bench"), ...vBytes(7, graph), ...vBytes(8, [...vStr(1, ""), ...vInt(2, 17)])]);
}

async function ortSession(model: Uint8Array): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(model, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
}

// ---- setup ----
const rng = new Rng(2026);
let item = 0;
const randn = (n: number) => rng.normal(new Float32Array(n), item++);
const ver = (p: string) => (JSON.parse(readFileSync(new URL(`../node_modules/${p}/package.json`, import.meta.url), "utf8")) as { version: string }).version;

tfwasm.setThreadsCount(1);
await tf.setBackend("wasm");
ort.env.wasm.numThreads = 1;
ort.env.logLevel = "error";

const plain = await initKernels({ backend: "wasm" });
const plainDirect = await initKernels({ backend: "wasm", winograd: false }); // conv without Winograd

const relaxed = hasRelaxedSimd() ? await initKernels({ backend: "wasm", relaxed: true }) : undefined;
const biggest: Conv2dShape = { batch: 16, inChannels: 128, height: 28, width: 28, outChannels: 128, kernelH: 3, kernelW: 3, stride: 1, pad: 1 };
for (const k of [plain, plainDirect, relaxed]) k?.arena.reserveScratch(k.arena.conv2dScratch(biggest));

interface Row {
  name: string;
  flops: number;
  seconds: Record<string, number>;
  gflops: Record<string, number>;
  maxRelErrVsTfjs?: number;
}
const rows: Row[] = [];

/**
 * Our kernel with inputs resident in WASM memory (the intended, zero-copy path). Scratch for the largest
 * convolution is reserved up front so that no call grows memory (which would detach these views).
 */
function resident(k: KernelsWithArena, data: Float32Array[], outLen: number) {
  const bufs = data.map((d) => k.arena.alloc(d.length));
  const out = k.arena.alloc(outLen);
  data.forEach((d, i) => k.arena.view(bufs[i]).set(d));
  const views = () => [...bufs.map((b) => k.arena.view(b)), k.arena.view(out)];
  return { views, out };
}

function relErr(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}

async function addRow(name: string, flops: number, libs: Lib[], err?: number): Promise<void> {
  const sec = await measure(libs);
  const row: Row = { name, flops, seconds: {}, gflops: {} };
  libs.forEach((l, i) => {
    row.seconds[l.name] = sec[i];
    row.gflops[l.name] = flops / sec[i] / 1e9;
  });
  if (err !== undefined) row.maxRelErrVsTfjs = err;
  rows.push(row);
  const g = row.gflops;
  process.stderr.write(`${name}: ${Object.entries(g).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(", ")}\n`);
}

// ---- GEMM ----
for (const [M, N, K] of [[64, 64, 64], [256, 256, 256], [512, 512, 512], [784, 64, 576], [49, 128, 1152]]) {
  const A = randn(M * K);
  const B = randn(K * N);
  const ta = tf.tensor2d(A, [M, K]);
  const tb = tf.tensor2d(B, [K, N]);
  const ref = tf.matMul(ta, tb).dataSync() as Float32Array;
  const sess = await ortSession(onnxModel("MatMul", ["A", [M, K]], ["B", [K, N], B], ["C", [M, N]]));
  const feeds = { A: new ort.Tensor("float32", A, [M, K]) };
  const libs: Lib[] = [];
  let err = 0;
  for (const k of [plain, relaxed]) {
    if (!k) continue;
    const r = resident(k, [A, B], M * N);
    const [a, b, c] = r.views();
    k.gemm(false, false, M, N, K, a, K, b, N, c, N);
    if (k === plain) err = relErr(k.arena.view(r.out), ref);
    libs.push({ name: k.backend, run: () => k.gemm(false, false, M, N, K, a, K, b, N, c, N) });
  }
  libs.push({ name: "tfjs-wasm", run: () => tf.matMul(ta, tb).dispose() });
  libs.push({ name: "ort-web", run: () => sess.run(feeds) });
  await addRow(`gemm ${M}x${N}x${K}`, 2 * M * N * K, libs, err);
  ta.dispose();
  tb.dispose();
  await sess.release();
}

// ---- conv 3x3 pad 1 ----
const convShapes: Array<[string, Conv2dShape]> = [
  ["conv3x3 28x28 64->64 b1", { batch: 1, inChannels: 64, height: 28, width: 28, outChannels: 64, kernelH: 3, kernelW: 3, stride: 1, pad: 1 }],
  ["conv3x3 28x28 64->64 b16", { batch: 16, inChannels: 64, height: 28, width: 28, outChannels: 64, kernelH: 3, kernelW: 3, stride: 1, pad: 1 }],
  ["conv3x3 14x14 128->128 b16", { batch: 16, inChannels: 128, height: 14, width: 14, outChannels: 128, kernelH: 3, kernelW: 3, stride: 1, pad: 1 }],
];
const nchwToNhwc = (x: Float32Array, N: number, C: number, H: number, W: number) => {
  const o = new Float32Array(x.length);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let p = 0; p < H * W; p++) o[(n * H * W + p) * C + c] = x[(n * C + c) * H * W + p];
  return o;
};
const oihwToHwio = (w: Float32Array, O: number, I: number, R: number, S: number) => {
  const o = new Float32Array(w.length);
  for (let co = 0; co < O; co++) for (let ci = 0; ci < I; ci++) for (let rs = 0; rs < R * S; rs++) o[(rs * I + ci) * O + co] = w[(co * I + ci) * R * S + rs];
  return o;
};

for (const [name, s] of convShapes) {
  const { batch: N, inChannels: Ci, height: H, width: W, outChannels: Co } = s;
  const x = randn(N * Ci * H * W);
  const w = randn(Co * Ci * 9);
  const tx = tf.tensor4d(nchwToNhwc(x, N, Ci, H, W), [N, H, W, Ci]);
  const tw = tf.tensor4d(oihwToHwio(w, Co, Ci, 3, 3), [3, 3, Ci, Co]);
  const ref = tf.conv2d(tx, tw, 1, "same").dataSync() as Float32Array;
  const sess = await ortSession(
    onnxModel("Conv", ["X", [N, Ci, H, W]], ["W", [Co, Ci, 3, 3], w], ["Y", [N, Co, H, W]], [["kernel_shape", [3, 3]], ["pads", [1, 1, 1, 1]], ["strides", [1, 1]]]),
  );
  const feeds = { X: new ort.Tensor("float32", x, [N, Ci, H, W]) };
  const libs: Lib[] = [];
  let err = 0;
  for (const k of [plain, relaxed]) {
    if (!k) continue;
    const r = resident(k, [x, w], N * Co * H * W);
    const [a, b, c] = r.views();
    k.conv2d(a, b, c, s);
    if (k === plain) err = relErr(nchwToNhwc(k.arena.view(r.out), N, Co, H, W), ref);
    libs.push({ name: k.backend, run: () => k.conv2d(a, b, c, s) });
  }
  {
    const r = resident(plainDirect, [x, w], N * Co * H * W);
    const [a, b, c] = r.views();
    libs.push({ name: "wasm-direct", run: () => plainDirect.conv2d(a, b, c, s) });
  }
  libs.push({ name: "tfjs-wasm", run: () => tf.conv2d(tx, tw, 1, "same").dispose() });
  libs.push({ name: "ort-web", run: () => sess.run(feeds) });
  await addRow(name, 2 * N * Co * H * W * Ci * 9, libs, err);
  tx.dispose();
  tw.dispose();
  await sess.release();
}

// ---- conv backward (input gradient vs tfjs conv2dTranspose / ort ConvTranspose; weight gradient ours only) ----
{
  const s = convShapes[1][1];
  const { batch: N, inChannels: Ci, height: H, width: W, outChannels: Co } = s;
  const dy = randn(N * Co * H * W);
  const w = randn(Co * Ci * 9);
  const x = randn(N * Ci * H * W);
  const tdy = tf.tensor4d(nchwToNhwc(dy, N, Co, H, W), [N, H, W, Co]);
  const tw = tf.tensor4d(oihwToHwio(w, Co, Ci, 3, 3), [3, 3, Ci, Co]);
  const ref = tf.conv2dTranspose(tdy, tw, [N, H, W, Ci], 1, "same").dataSync() as Float32Array;
  const sess = await ortSession(
    onnxModel("ConvTranspose", ["DY", [N, Co, H, W]], ["W", [Co, Ci, 3, 3], w], ["DX", [N, Ci, H, W]], [["kernel_shape", [3, 3]], ["pads", [1, 1, 1, 1]], ["strides", [1, 1]]]),
  );
  const feeds = { DY: new ort.Tensor("float32", dy, [N, Co, H, W]) };
  const libs: Lib[] = [];
  const wlibs: Lib[] = [];
  let err = 0;
  for (const k of [plain, relaxed]) {
    if (!k) continue;
    const r = resident(k, [dy, w], N * Ci * H * W);
    const [a, b, c] = r.views();
    k.conv2dBackwardInput(a, b, c, s);
    if (k === plain) err = relErr(nchwToNhwc(k.arena.view(r.out), N, Ci, H, W), ref);
    libs.push({ name: k.backend, run: () => k.conv2dBackwardInput(a, b, c, s) });
    if (k === plain) {
      const rd = resident(plainDirect, [dy, w], N * Ci * H * W);
      const [da, db, dc] = rd.views();
      libs.push({ name: "wasm-direct", run: () => plainDirect.conv2dBackwardInput(da, db, dc, s) });
      const rw = resident(plainDirect, [x, dy], Co * Ci * 9);
      const [wa, wb, wc] = rw.views();
      wlibs.push({ name: "wasm-direct", run: () => plainDirect.conv2dBackwardWeight(wa, wb, wc, s) });
    }
    const r2 = resident(k, [x, dy], Co * Ci * 9);
    const [xa, dya, dwa] = r2.views();
    wlibs.push({ name: k.backend, run: () => k.conv2dBackwardWeight(xa, dya, dwa, s) });
  }
  libs.push({ name: "tfjs-wasm", run: () => tf.conv2dTranspose(tdy, tw, [N, H, W, Ci], 1, "same").dispose() });
  libs.push({ name: "ort-web", run: () => sess.run(feeds) });
  await addRow("conv3x3 bwd-input 28x28 64->64 b16", 2 * N * Co * H * W * Ci * 9, libs, err);
  await addRow("conv3x3 bwd-weight 28x28 64->64 b16", 2 * N * Co * H * W * Ci * 9, wlibs);
  await sess.release();
}

// ---- ceiling, per-call overhead, TS reference vs naive loop ----
{
  const bytes = readFileSync(new URL("../build/kernels.wasm", import.meta.url));
  const { instance } = await WebAssembly.instantiate(bytes, {});
  const peak = instance.exports.simd_peak_f32 as (iters: number, seed: number) => number;
  const iters = 1 << 16;
  await addRow("SIMD128 register-only peak (ceiling)", iters * 96, [{ name: "wasm", run: () => peak(iters, 1) }]);
}

const overhead: Record<string, number> = {};
{
  const k = plain;
  const x = k.arena.alloc(16);
  const y = k.arena.alloc(16);
  const [vx, vy] = [k.arena.view(x), k.arena.view(y)];
  const a4 = k.arena.alloc(16);
  const b4 = k.arena.alloc(16);
  const c4 = k.arena.alloc(16);
  const [va, vb, vc] = [k.arena.view(a4), k.arena.view(b4), k.arena.view(c4)];
  const t16a = tf.tensor1d(randn(16));
  const t16b = tf.tensor1d(randn(16));
  const t4a = tf.tensor2d(randn(16), [4, 4]);
  const t4b = tf.tensor2d(randn(16), [4, 4]);
  const sess = await ortSession(onnxModel("MatMul", ["A", [4, 4]], ["B", [4, 4], randn(16)], ["C", [4, 4]]));
  const feeds = { A: new ort.Tensor("float32", randn(16), [4, 4]) };
  const [ours16, tfAdd, ours4, tf4, ort4] = await measure([
    { name: "ours axpy n=16", run: () => k.axpy(0.5, vx, vy) },
    { name: "tfjs add n=16", run: () => tf.add(t16a, t16b).dispose() },
    { name: "ours gemm 4x4x4", run: () => k.gemm(false, false, 4, 4, 4, va, 4, vb, 4, vc, 4) },
    { name: "tfjs matMul 4x4x4", run: () => tf.matMul(t4a, t4b).dispose() },
    { name: "ort MatMul 4x4x4", run: () => sess.run(feeds) },
  ]);
  Object.assign(overhead, {
    "ours axpy n=16 (µs)": ours16 * 1e6,
    "tfjs-wasm add n=16 (µs)": tfAdd * 1e6,
    "ours gemm 4x4x4 (µs)": ours4 * 1e6,
    "tfjs-wasm matMul 4x4x4 (µs)": tf4 * 1e6,
    "ort-web MatMul 4x4x4 (µs)": ort4 * 1e6,
  });
  await sess.release();
}

// TS reference backend (the fallback) vs a naive i-j-k triple loop, 512³
{
  const n = 512;
  const A = randn(n * n);
  const B = randn(n * n);
  const C = new Float32Array(n * n);
  const ts = createTsKernels();
  const naive = () => {
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += A[i * n + k] * B[k * n + j];
        C[i * n + j] = s;
      }
  };
  await addRow(`gemm ${n}³ TS reference vs naive JS`, 2 * n ** 3, [
    { name: "ts-reference", run: () => ts.gemm(false, false, n, n, n, A, n, B, n, C, n) },
    { name: "naive-js", run: naive },
  ]);
}

// ---- report ----
const f1 = (v: number | undefined) => (v === undefined ? "–" : v.toFixed(1));
const f2 = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? "–" : `${v.toFixed(2)}×`);
const lines = [
  `| shape | ours (SIMD128) | ours (relaxed FMA) | ours, direct conv | tfjs-wasm | ort-web | ours / tfjs | ours / ort |`,
  `|---|---:|---:|---:|---:|---:|---:|---:|`,
];
for (const r of rows) {
  const g = r.gflops;
  if (r.name.startsWith("gemm 512³ TS")) continue;
  if (r.name.startsWith("SIMD128")) {
    lines.push(`| ${r.name} | ${f1(g.wasm)} | | | | | | |`);
    continue;
  }
  lines.push(
    `| ${r.name} | ${f1(g.wasm)} | ${f1(g["wasm-relaxed"])} | ${f1(g["wasm-direct"])} | ${f1(g["tfjs-wasm"])} | ${f1(g["ort-web"])} | ${f2(g.wasm / g["tfjs-wasm"])} | ${f2(g.wasm / g["ort-web"])} |`,
  );
}
const tsRow = rows.find((r) => r.name.startsWith("gemm 512³ TS"))!;
const table = lines.join("\n");
const extra = [
  "",
  `GFLOP/s (conv: direct-convolution flops 2·N·Co·H·W·Ci·9 over time, also for Winograd), median of ${SAMPLES} interleaved samples; ours on arrays resident in WASM memory. "ours" runs 3x3 convs by Winograd F(2x2, 3x3); "direct conv" is the same backend with winograd: false.`,
  "",
  "Per-call overhead (µs per call, tiny operands):",
  "",
  ...Object.entries(overhead).map(([k, v]) => `- ${k}: ${v.toFixed(2)}`),
  "",
  `TS reference backend gemm 512³: ${tsRow.gflops["ts-reference"].toFixed(2)} GFLOP/s vs naive JS triple loop ${tsRow.gflops["naive-js"].toFixed(2)} GFLOP/s (${(tsRow.gflops["ts-reference"] / tsRow.gflops["naive-js"]).toFixed(1)}×).`,
].join("\n");
console.log(table + "\n" + extra);

const meta = {
  date: new Date().toISOString(),
  node: process.version,
  machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, platform: `${os.platform()} ${os.arch()}` },
  versions: {
    "edge-diffusion": ver("..").toString(),
    "@tensorflow/tfjs-backend-wasm": ver("@tensorflow/tfjs-backend-wasm"),
    "onnxruntime-web": ver("onnxruntime-web"),
    assemblyscript: ver("assemblyscript"),
  },
  relaxedSimd: !!relaxed,
  samples: SAMPLES,
  threads: 1,
};
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
writeFileSync(new URL("./results/kernels.json", import.meta.url), JSON.stringify({ ...meta, rows, overhead, table: table + "\n" + extra }, null, 2) + "\n");
process.stderr.write(`wrote bench/results/kernels.json\n`);
