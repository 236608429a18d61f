// npm run bench:torch — the shipped MNIST UNet against the same network in PyTorch on CPU, in the same
// run (issue 15 item 4). Not part of `npm test`; needs Debian's PyTorch:
//
//   apt-get install -y python3-torch libopenblas0-pthread
//   npm run bench:torch                 (ROUNDS=7 by default)
//
// bench/lib/torch_unet.py rebuilds src/nn/unet.ts layer for layer, loads our weights, asserts the same
// parameter count and the same forward output (relative error printed), then times a training step
// (forward + MSE + backward + Adam, batch 32) and inference (batch 64) at 1 and 2 threads. PyTorch runs
// twice: with Debian's default BLAS (the reference BLAS unless alternatives were changed) and with
// OpenBLAS (libopenblas0-pthread's libblas.so.3 put first on LD_LIBRARY_PATH for that run). Convolutions
// go through oneDNN either way; BLAS serves the Linear layers and bmm.
// Ours: a training step as the CLI runs it (8 gradient shards; 2 threads = data-parallel with a worker),
// inference through the model's denoiser on 1 thread and through parallelModel on 2. PyTorch's step is
// one pass over the batch with torch's own intra-op threads. Writes bench/results/torch.json.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { useKernels } from "../src/autograd/backend.ts";
import { noGrad, Tensor } from "../src/autograd/tensor.ts";
import { initKernels } from "../src/kernels/index.ts";
import { loadModel } from "../src/model.ts";
import { sinusoidalEmbedding } from "../src/nn/layers.ts";
import type { UNet, UNetConfig } from "../src/nn/unet.ts";
import { parallelModel } from "../src/node/parallel.ts";
import { Rng } from "../src/rng.ts";
import { AdamW } from "../src/train/optim.ts";
import { drawLossBatch, type LossConfig } from "../src/train/loss.ts";
import { localShardGradients, mergeShardGradients, shardRanges } from "../src/train/shards.ts";
import { nodeTrainGradients } from "../src/node/train-workers.ts";
import { environment, writeJson } from "./lib/env.ts";

const ROUNDS = Number(process.env.ROUNDS ?? 7);
const TRAIN_B = 32;
const INFER_B = 64;
const PY = process.env.PYTHON ?? "/usr/bin/python3";
const OPENBLAS_DIR = "/usr/lib/x86_64-linux-gnu/openblas-pthread";
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

const probe = spawnSync(PY, ["-c", "import torch"], { encoding: "utf8" });
if (probe.status !== 0) {
  console.error(`bench:torch needs PyTorch for ${PY}: apt-get install -y python3-torch libopenblas0-pthread`);
  process.exit(2);
}

useKernels(await initKernels());
const bytes = new Uint8Array(readFileSync("models/mnist.safetensors"));
const model = loadModel(bytes);
const net = model.net as UNet;
const cfg = model.config as UNetConfig;
const S = cfg.size;
const D = cfg.inChannels * S * S;
const rng = new Rng(1);
const x = rng.stream("x").normal(new Float32Array(INFER_B * D));
const target = rng.stream("target").normal(new Float32Array(INFER_B * D));
const cNoise = Float64Array.from(rng.stream("c").uniform(new Float64Array(INFER_B)), (u) => 3 * u - 1.5);
const labels = Int32Array.from({ length: INFER_B }, (_, i) => i % 10);
const feats = sinusoidalEmbedding(cNoise, cfg.embDim).data;
const ours = noGrad(() => net.forward(new Tensor(x, [INFER_B, cfg.inChannels, S, S]), cNoise, labels)).data.slice();

// ---- the files the Python side reads: a JSON index and one float32 blob ----
const dir = mkdtempSync(join(tmpdir(), "bench-torch-"));
const chunks: Float32Array[] = [];
let offset = 0;
const entry = (name: string, data: Float32Array, shape: readonly number[]) => {
  chunks.push(data);
  const e = { name, shape: [...shape], size: data.length, offset };
  offset += data.byteLength;
  return e;
};
const params = [...net.parameters()].map(([name, t]) => entry(name, t.data, t.shape));
const inputs = {
  x: entry("x", x, [INFER_B, cfg.inChannels, S, S]),
  feats: entry("feats", feats, [INFER_B, cfg.embDim]),
  labels: entry("labels", Float32Array.from(labels), [INFER_B]),
  target: entry("target", target, [INFER_B, cfg.inChannels, S, S]),
  ours: entry("ours", ours, [INFER_B, cfg.inChannels, S, S]),
};
const blob = new Uint8Array(offset);
let at = 0;
for (const c of chunks) {
  blob.set(new Uint8Array(c.buffer, c.byteOffset, c.byteLength), at);
  at += c.byteLength;
}
writeFileSync(join(dir, "spec.json"), JSON.stringify({ config: cfg, params, inputs, rounds: ROUNDS, trainBatch: TRAIN_B, threads: [1, 2] }));
writeFileSync(join(dir, "blob.bin"), blob);

interface TorchRow {
  work: "train" | "infer";
  batch: number;
  threads: number;
  seconds: number;
}
interface TorchResult {
  torch: string;
  parameters: number;
  forward_rel_err: number;
  rows: TorchRow[];
  blas: string;
  error?: string;
}
function runTorch(blas: "default" | "openblas"): TorchResult | null {
  if (blas === "openblas" && !existsSync(join(OPENBLAS_DIR, "libblas.so.3"))) return null;
  const env: Record<string, string | undefined> = { ...process.env, OMP_NUM_THREADS: "2" };
  if (blas === "openblas") env.LD_LIBRARY_PATH = `${OPENBLAS_DIR}${process.env.LD_LIBRARY_PATH ? `:${process.env.LD_LIBRARY_PATH}` : ""}`;
  const r = spawnSync(PY, ["bench/lib/torch_unet.py", join(dir, "spec.json"), join(dir, "blob.bin")], { encoding: "utf8", env, maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`torch_unet.py failed: ${r.stderr || r.stdout}`);
  const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as TorchResult;
  if (out.error) throw new Error(`torch_unet.py: ${JSON.stringify(out)}`);
  return out;
}

// ---- ours ----
// Training as `edge-diffusion train` does it: the batch in 8 gradient shards (the image default), on
// this thread, or on this thread and a worker (data-parallel, same bytes).
const count = [...net.parameters()].reduce((s, [, t]) => s + t.size, 0);
const oursRows: TorchRow[] = [];
const SHARDS = 8;
for (const threads of [1, 2]) {
  const m = loadModel(bytes);
  const tnet = m.net as UNet;
  const params = tnet.parameters();
  const weighting = { kind: "simple" } as const;
  const gradients =
    threads === 1
      ? localShardGradients(tnet, m.precond, weighting)
      : await nodeTrainGradients(tnet, m.precond, { config: m.config, precond: m.precondSpec, weighting, itemShape: m.itemShape }, { threads, shards: SHARDS, maxBatch: TRAIN_B });
  const lossCfg: LossConfig = { sigmas: { kind: "lognormal", pMean: -1.2, pStd: 1.2 }, weighting, labelDropout: 0.1 };
  const ranges = shardRanges(TRAIN_B, SHARDS);
  const adam = new AdamW(params, { lr: 1e-5 });
  let s = 0;
  const step = () => {
    const batch = drawLossBatch(lossCfg, x.subarray(0, TRAIN_B * D), [TRAIN_B, cfg.inChannels, S, S], new Rng(0).stream(s++), 10, labels.subarray(0, TRAIN_B));
    const r = gradients.run(batch, ranges);
    mergeShardGradients(params, r.grads);
    adam.update();
    adam.zeroGrad();
  };
  for (let i = 0; i < 2; i++) step();
  const ts: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t = performance.now();
    step();
    ts.push((performance.now() - t) / 1000);
  }
  await (gradients as { close?: () => Promise<void> }).close?.();
  oursRows.push({ work: "train", batch: TRAIN_B, threads, seconds: median(ts) });
}
const sigma = Float64Array.from({ length: INFER_B }, (_, i) => 0.1 + (i % 8));
for (const threads of [1, 2]) {
  const m = threads === 1 ? loadModel(bytes) : await parallelModel(bytes, { threads, microBatch: INFER_B / threads });
  const den = m.denoiser(labels, threads === 1 ? { microBatch: INFER_B } : undefined);
  for (let i = 0; i < 2; i++) den(x, sigma, INFER_B);
  const ts: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t = performance.now();
    den(x, sigma, INFER_B);
    ts.push((performance.now() - t) / 1000);
  }
  await (m as { close?: () => Promise<void> }).close?.();
  oursRows.push({ work: "infer", batch: INFER_B, threads, seconds: median(ts) });
}

const results = { default: runTorch("default"), openblas: runTorch("openblas") };
const env = environment();
const per = (r: TorchRow) => (r.work === "train" ? 1 / r.seconds : r.batch / r.seconds);
const unit = (r: TorchRow) => (r.work === "train" ? "it/s" : "items/s");
console.log(`shipped MNIST UNet, ${count} parameters (PyTorch: ${results.default?.parameters}); ${env.machine}; median of ${ROUNDS}`);
if (results.default && results.default.parameters !== count) throw new Error(`parameter counts differ: ours ${count}, PyTorch ${results.default.parameters}`);
console.log(`forward agreement with PyTorch: max |diff| / max |y| = ${results.default?.forward_rel_err.toExponential(2)}`);
console.log("| work | threads | ours | PyTorch (default BLAS) | ratio | PyTorch (OpenBLAS) | ratio |\n|---|---:|---:|---:|---:|---:|---:|");
const table = [];
for (const w of ["train", "infer"] as const) {
  for (const threads of [1, 2]) {
    const o = oursRows.find((r) => r.work === w && r.threads === threads) ?? oursRows.find((r) => r.work === w && r.threads === 1)!;
    const d = results.default!.rows.find((r) => r.work === w && r.threads === threads)!;
    const ob = results.openblas?.rows.find((r) => r.work === w && r.threads === threads);
    const oNote = "";
    const row = { work: w, batch: o.batch, threads, ours: per(o), torch: per(d), torchOpenblas: ob ? per(ob) : null };
    table.push(row);
    console.log(
      `| ${w} batch ${o.batch} | ${threads} | ${per(o).toFixed(1)} ${unit(o)}${oNote} | ${per(d).toFixed(1)} | ${(per(o) / per(d)).toFixed(2)}x | ${ob ? per(ob).toFixed(1) : "n/a"} | ${ob ? (per(o) / per(ob)).toFixed(2) + "x" : "n/a"} |`,
    );
  }
}
const blasLine = (s: string | undefined) =>
  [...(s ?? "").matchAll(/(BLAS_INFO=[^,\s]+|LAPACK_INFO=[^,\s]+|MKL-DNN v[0-9.]+)/g)].map((m) => m[1]).join(", ");
console.log(`PyTorch ${results.default?.torch}; build: ${blasLine(results.default?.blas)}; second run: OpenBLAS from ${OPENBLAS_DIR}${results.openblas ? "" : " (not installed)"}`);
writeJson("bench/results/torch.json", { ...env, parameters: count, rows: table, torch: results.default?.torch, forwardRelErr: results.default?.forward_rel_err });
