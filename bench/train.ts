// Training-speed benchmark (issue #4), not part of `npm test`:
//
//   npm run bench:train          (node --import tsx bench/train.ts)
//   BATCH=32 ROUNDS=5 npm run bench:train
//
// One process, one thread everywhere, the shipped MNIST UNet architecture (preset "mnist": channels
// [16, 32, 32], attention at 7x7, 10 classes) with the same weights in every library:
//   1. forward pass (inference, batch 16): ours (WASM SIMD) vs the same network in tfjs-backend-wasm
//      (XNNPACK, setThreadsCount(1)); target >= 1.25x;
//   2. full training step (forward + MSE + backward + Adam): ours vs tfjs-backend-cpu (tfjs-wasm has no
//      convolution weight gradient, so cpu is the fastest tfjs backend that can train it here); target >= 10x;
//   3. the step's effective GFLOP/s (network FLOPs fwd + bwd from the layer shapes, bench/lib/unet-flops.ts,
//      over the step time) beside our GEMM kernel's rate on 256^3 in the same run, and the share of the
//      step spent inside GEMM/conv kernels (the rest: autograd, elementwise ops, norms, copies, Adam).
// Before timing, the tfjs networks are checked against ours: forward outputs and every parameter gradient.
// Samples are interleaved (ours, peer, ours, ...) and medians reported. Writes bench/results/train.json.

import * as tf from "@tensorflow/tfjs-core";
import * as tfwasm from "@tensorflow/tfjs-backend-wasm";
import "@tensorflow/tfjs-backend-cpu";
import { createRequire } from "node:module";
import { kernels, useKernels } from "../src/autograd/backend.ts";
import { mse } from "../src/autograd/ops.ts";
import { noGrad, Tensor } from "../src/autograd/tensor.ts";
import { initKernels, type Conv2dShape, type Kernels } from "../src/kernels/index.ts";
import { presetConfig } from "../src/presets.ts";
import { sinusoidalEmbedding } from "../src/nn/layers.ts";
import { UNet, type UNetConfig } from "../src/nn/unet.ts";
import { Rng } from "../src/rng.ts";
import { AdamW } from "../src/train/optim.ts";
import { environment, writeJson } from "./lib/env.ts";
import { tfjsUNet, tfjsWeights } from "./lib/tfjs-unet.ts";
import { interleaved } from "./lib/timing.ts";
import { unetFlops } from "./lib/unet-flops.ts";

// tfjs-core's Node bundle registers no gradients (the tfjs umbrella package does); its ESM file
// register_all_gradients does, into the same global registry. Loaded through require (tsx transpiles it).
createRequire(import.meta.url)("@tensorflow/tfjs-core/dist/register_all_gradients");

const B = Number(process.env.BATCH ?? 16);
const ROUNDS = Number(process.env.ROUNDS ?? 7);
// tfjs-cpu needs ~1-2 minutes per batch-16 step here (its conv filter gradient is a scalar loop): 3 samples
const STEP_ROUNDS = Number(process.env.STEP_ROUNDS ?? 3);
const log = (s: string) => console.log(s);

const k = await initKernels({ backend: "wasm" });
useKernels(k);
tfwasm.setThreadsCount(1);
await tf.setBackend("wasm");
await tf.ready();
await tf.setBackend("cpu");
await tf.ready();
const env = environment(["@tensorflow/tfjs-core", "@tensorflow/tfjs-backend-wasm", "@tensorflow/tfjs-backend-cpu", "assemblyscript"]);

// ---- the network and a fixed batch ----
const cfg = presetConfig("mnist", 10).config as UNetConfig;
const net = new UNet(cfg).initialize(0);
// Zero-initialised layers (each block's last conv, attention's proj, the output conv) would make parts
// of the check trivial: give every parameter a small seeded perturbation.
const prng = new Rng(7);
for (const [name, t] of net.parameters()) {
  const z = prng.stream(name).normal(new Float32Array(t.size));
  for (let i = 0; i < t.size; i++) t.data[i] += 0.05 * z[i];
}
const S = cfg.size;
const D = cfg.inChannels * S * S;
const rng = new Rng(1);
const x = rng.stream("x").normal(new Float32Array(B * D));
const target = rng.stream("target").normal(new Float32Array(B * D));
const cNoise = Float64Array.from(rng.stream("c").uniform(new Float64Array(B)), (u) => 3 * u - 1.5); // ln(sigma)/4
const labels = Int32Array.from({ length: B }, (_, i) => i % 10);
const feats = sinusoidalEmbedding(cNoise, cfg.embDim).data;
const toNHWC = (a: Float32Array, C: number) => {
  const out = new Float32Array(a.length);
  for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) for (let p = 0; p < S * S; p++) out[(b * S * S + p) * C + c] = a[(b * C + c) * S * S + p];
  return out;
};
const xNHWC = toNHWC(x, cfg.inChannels);
const targetNHWC = toNHWC(target, cfg.inChannels);
const flops = unetFlops(cfg, B);
log(`UNet ${JSON.stringify(cfg.channels)}, ${net.parameterCount()} parameters, batch ${B}: ${(flops.forward / 1e9).toFixed(3)} GFLOP forward, ${(flops.backward / 1e9).toFixed(3)} GFLOP backward`);

// ---- ours ----
const shape = [B, cfg.inChannels, S, S];
const oursForward = () => noGrad(() => net.forward(new Tensor(x, shape), cNoise, labels)).data;
const params = net.parameters();
const adam = new AdamW(params, { lr: 1e-5, clip: 1 }); // tiny lr: the weights stay put over hundreds of steps
const oursStep = () => {
  const loss = mse(net.forward(new Tensor(x, shape), cNoise, labels), target);
  adam.zeroGrad();
  loss.backward();
  adam.update();
  adam.zeroGrad();
  return loss.data[0];
};

// ---- tfjs: constants on wasm (inference), variables on cpu (training) ----
const paramArrays = new Map([...params].map(([n, t]) => [n, { shape: t.shape, data: Float32Array.from(t.data) }]));
await tf.setBackend("wasm");
const wasmNet = tfjsUNet(cfg, tfjsWeights(paramArrays, false));
const inputs = () => ({ x: tf.tensor4d(xNHWC, [B, S, S, cfg.inChannels]), f: tf.tensor2d(feats, [B, cfg.embDim]), l: tf.tensor1d(labels, "int32") });
const tfjsForward = () =>
  tf.tidy(() => {
    const i = inputs();
    return wasmNet(i.x, i.f, i.l).dataSync() as Float32Array;
  });
await tf.setBackend("cpu");
const cpuWeights = tfjsWeights(paramArrays, true);
const cpuNet = tfjsUNet(cfg, cpuWeights);
const cpuVars = [...cpuWeights.values()] as tf.Variable[];
const tfjsLoss = () => {
  const i = inputs();
  return tf.mean(tf.squaredDifference(cpuNet(i.x, i.f, i.l), tf.tensor4d(targetNHWC, [B, S, S, cfg.inChannels]))) as tf.Scalar;
};
const opt = tf.train.adam(1e-5);
const tfjsCpuStep = () => {
  tf.tidy(() => {
    opt.minimize(tfjsLoss, false, cpuVars);
  });
};

// ---- check: the tfjs networks compute our function ----
const relErr = (a: Float32Array, b: Float32Array) => {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / Math.max(den, 1e-30);
};
const ours0 = toNHWC(oursForward(), cfg.inChannels);
await tf.setBackend("wasm");
const fwdErrWasm = relErr(tfjsForward(), ours0);
await tf.setBackend("cpu");
const cpuOut = tf.tidy(() => {
  const i = inputs();
  return cpuNet(i.x, i.f, i.l).dataSync() as Float32Array;
});
const fwdErrCpu = relErr(cpuOut, ours0);
// gradients of the same MSE loss (ours in NCHW, tfjs in NHWC: the loss is the same number)
for (const t of params.values()) t.grad = null;
const lossOurs = mse(net.forward(new Tensor(x, shape), cNoise, labels), target);
lossOurs.backward();
const { value: lossTf, grads } = tf.variableGrads(tfjsLoss, cpuVars);
let gradErr = 0;
let gradWorst = "";
for (const [name, t] of params) {
  let g = grads[name];
  if (t.shape.length === 4) g = tf.transpose(g, [3, 2, 0, 1]);
  else if (t.shape.length === 2 && !name.startsWith("label.")) g = tf.transpose(g);
  // parameters whose gradient is zero in exact arithmetic (attention's key bias: softmax is shift
  // invariant) hold rounding noise only: skip them
  let gmax = 0;
  for (const v of t.grad!) gmax = Math.max(gmax, Math.abs(v));
  if (gmax < 1e-9) continue;
  const e = relErr(g.dataSync() as Float32Array, t.grad!);
  if (e > gradErr) {
    gradErr = e;
    gradWorst = name;
  }
}
for (const t of params.values()) t.grad = null;
const lossErr = Math.abs(lossTf.dataSync()[0] - lossOurs.data[0]) / lossOurs.data[0];
tf.dispose([lossTf, ...Object.values(grads)]);
log(`check vs ours: forward max rel. error tfjs-wasm ${fwdErrWasm.toExponential(1)}, tfjs-cpu ${fwdErrCpu.toExponential(1)}; loss ${lossErr.toExponential(1)}; worst parameter gradient ${gradErr.toExponential(1)} (${gradWorst})`);
if (!(fwdErrWasm < 1e-3 && fwdErrCpu < 1e-3 && gradErr < 1e-2)) throw new Error("the tfjs UNet does not compute the same function as ours: the comparison would be meaningless");

// ---- can tfjs-wasm train this network? (expected: no convolution filter gradient kernel) ----
await tf.setBackend("wasm");
let tfjsWasmTraining = "trains";
try {
  const vars = tfjsWeights(paramArrays, true, "wasm/");
  const wnet = tfjsUNet(cfg, vars);
  tf.tidy(() => {
    const i = inputs();
    tf.variableGrads(() => tf.mean(tf.squaredDifference(wnet(i.x, i.f, i.l), tf.tensor4d(targetNHWC, [B, S, S, cfg.inChannels]))) as tf.Scalar, [...vars.values()] as tf.Variable[]);
  });
  tf.dispose([...vars.values()]);
} catch (e) {
  tfjsWasmTraining = `fails: ${(e as Error).message.split("\n")[0]}`;
}
log(`tfjs-wasm training step: ${tfjsWasmTraining}`);
await tf.setBackend("cpu");

// ---- FLOPs seen by the kernels, and the share of a step spent in GEMM/conv kernels ----
const convFlops = (s: Conv2dShape) => {
  const ho = Math.floor((s.height + 2 * s.pad - s.kernelH) / s.stride) + 1;
  const wo = Math.floor((s.width + 2 * s.pad - s.kernelW) / s.stride) + 1;
  return 2 * s.batch * s.outChannels * ho * wo * s.inChannels * s.kernelH * s.kernelW;
};
function profiled(base: Kernels) {
  const acc = { ms: 0, flops: 0, calls: 0 };
  const p = Object.create(base) as Kernels;
  const wrap = <A extends unknown[]>(f: (...a: A) => void, count: (...a: A) => number) =>
    (...a: A) => {
      const t0 = performance.now();
      f.apply(base, a);
      acc.ms += performance.now() - t0;
      acc.flops += count(...a);
      acc.calls++;
    };
  p.gemm = wrap(base.gemm, (_ta, _tb, M, N, K) => 2 * M * N * K);
  p.conv2d = wrap(base.conv2d, (_x, _w, _y, s) => convFlops(s));
  p.conv2dBackwardInput = wrap(base.conv2dBackwardInput, (_x, _w, _y, s) => convFlops(s));
  p.conv2dBackwardWeight = wrap(base.conv2dBackwardWeight, (_x, _w, _y, s) => convFlops(s));
  return { kernels: p, acc };
}
oursStep(); // warm
const prof = profiled(k);
useKernels(prof.kernels);
const PROFILE_STEPS = 5;
const tp0 = performance.now();
for (let i = 0; i < PROFILE_STEPS; i++) oursStep();
const profStepMs = (performance.now() - tp0) / PROFILE_STEPS;
useKernels(k);
const kernelFlopsPerStep = prof.acc.flops / PROFILE_STEPS;
const kernelMsPerStep = prof.acc.ms / PROFILE_STEPS;
log(`kernel calls per step ${prof.acc.calls / PROFILE_STEPS}: ${(kernelFlopsPerStep / 1e9).toFixed(3)} GFLOP (analytic ${((flops.forward + flops.backward) / 1e9).toFixed(3)}), ${kernelMsPerStep.toFixed(1)} of ${profStepMs.toFixed(1)} ms in GEMM/conv kernels`);

// ---- our GEMM kernel on resident arrays, for the rate beside the step ----
const G = 256;
const ga = k.arena.alloc(G * G);
const gb = k.arena.alloc(G * G);
const gc = k.arena.alloc(G * G);
k.arena.view(ga).set(rng.stream("ga").normal(new Float32Array(G * G)));
k.arena.view(gb).set(rng.stream("gb").normal(new Float32Array(G * G)));
const gemmRun = () => {
  const [A, Bm, C] = [k.arena.view(ga), k.arena.view(gb), k.arena.view(gc)];
  k.gemm(false, false, G, G, G, A, G, Bm, G, C, G);
};

// ---- timing, interleaved ----
log(`timing: ${ROUNDS} interleaved rounds...`);
const toWasm = async () => {
  if (tf.getBackend() !== "wasm") await tf.setBackend("wasm");
};
const toCpu = async () => {
  if (tf.getBackend() !== "cpu") await tf.setBackend("cpu");
};
const fwd = await interleaved(
  [
    { name: "ours forward", run: () => void oursForward() },
    { name: "tfjs-wasm forward", run: () => void tfjsForward(), before: toWasm },
    { name: "ours gemm 256^3", run: gemmRun },
  ],
  ROUNDS,
  300,
);
const step = await interleaved(
  [
    { name: "ours training step", run: () => void oursStep() },
    { name: "tfjs-cpu training step", run: tfjsCpuStep, before: toCpu },
  ],
  STEP_ROUNDS,
  400,
  1,
);
const [oF, tF, gm] = fwd;
const [oS, tS] = step;
const gemmGflops = (2 * G * G * G) / (gm.ms * 1e6);
const stepFlops = flops.forward + flops.backward;
const effGflops = stepFlops / (oS.ms * 1e6);
const result = {
  ...env,
  command: "npm run bench:train",
  config: cfg,
  parameters: net.parameterCount(),
  batch: B,
  rounds: { forward: ROUNDS, trainingStep: STEP_ROUNDS },
  flops: { ...flops, step: stepFlops, kernelCountedStep: kernelFlopsPerStep },
  tfjsWasmTraining,
  check: { forwardRelErrTfjsWasm: fwdErrWasm, forwardRelErrTfjsCpu: fwdErrCpu, lossRelErr: lossErr, worstGradRelErr: gradErr, worstGradParam: gradWorst },
  forward: { oursMs: oF.ms, tfjsWasmMs: tF.ms, ratio: tF.ms / oF.ms, target: 1.25, samples: { ours: oF.samples, tfjsWasm: tF.samples } },
  trainingStep: { oursMs: oS.ms, tfjsCpuMs: tS.ms, ratio: tS.ms / oS.ms, target: 10, samples: { ours: oS.samples, tfjsCpu: tS.samples } },
  rates: {
    oursForwardGflops: flops.forward / (oF.ms * 1e6),
    tfjsWasmForwardGflops: flops.forward / (tF.ms * 1e6),
    oursStepEffectiveGflops: effGflops,
    tfjsCpuStepEffectiveGflops: stepFlops / (tS.ms * 1e6),
    gemm256Gflops: gemmGflops,
    effectiveOverGemm: effGflops / gemmGflops,
    target: 0.5,
    kernelShareOfStep: kernelMsPerStep / profStepMs,
    kernelsOwnGflopsInStep: kernelFlopsPerStep / (kernelMsPerStep * 1e6),
  },
};
const f = (v: number, d = 1) => v.toFixed(d);
console.log(`\n| measure (batch ${B}, 1 thread) | ours | peer | ours vs peer | target |\n|---|---:|---:|---:|---:|`);
console.log(`| UNet forward, ms | ${f(oF.ms)} | tfjs-wasm ${f(tF.ms)} | ${f(tF.ms / oF.ms, 2)}× | ≥ 1.25× |`);
console.log(`| training step (fwd + bwd + Adam), ms | ${f(oS.ms)} | tfjs-cpu ${f(tS.ms)} | ${f(tS.ms / oS.ms, 1)}× | ≥ 10× |`);
console.log(`| training step effective GFLOP/s | ${f(effGflops)} | our GEMM 256³: ${f(gemmGflops)} | ${f(100 * result.rates.effectiveOverGemm, 0)} % of GEMM | ≥ 50 % |`);
console.log(`\nforward GFLOP/s: ours ${f(result.rates.oursForwardGflops)}, tfjs-wasm ${f(result.rates.tfjsWasmForwardGflops)}; tfjs-cpu step ${f(result.rates.tfjsCpuStepEffectiveGflops, 2)} GFLOP/s`);
console.log(`share of our step inside GEMM/conv kernels: ${f(100 * result.rates.kernelShareOfStep, 0)} % (kernels at ${f(result.rates.kernelsOwnGflopsInStep)} GFLOP/s on the network's shapes)`);
writeJson("bench/results/train.json", result);
console.log("wrote bench/results/train.json");
