// Sample quality benchmark (issue #4), not part of `npm test`:
//
//   npm run bench:quality        (node --import tsx bench/quality.ts)
//   MODEL=path npm run bench:quality     judge another model file (default models/mnist.safetensors)
//   BUDGET_MIN=15                        wall-clock budget; optional parts are skipped past it
//
// 1. A small conv classifier (bench/lib/classifier.ts) is trained with the library itself on the MNIST
//    train split (9,000 digits) and its accuracy on the disjoint test split (1,000) is printed.
// 2. 1,000 digits are generated from the shipped model (100 per class, seed 0, dpmpp_2m, 20 steps,
//    guidance 1 = the CLI default; then guidance 2 if the budget allows) and classified: the fraction
//    with max probability >= 0.9, the entropy of the predicted-class histogram (ln 10 = uniform), and
//    the agreement of the predicted class with the requested label.
// 3. 2-D toys: the score MLP (preset "toy") is trained on three toys, 2,000 points are sampled, and the
//    energy distance to fresh data is compared with the data-vs-data floor (same sample sizes).
// Writes bench/results/quality.json.

import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { useKernels } from "../src/autograd/backend.ts";
import { toyData } from "../src/data/toys.ts";
import { loadMnist } from "../src/node/mnist.ts";
import { generate } from "../src/generate.ts";
import { initKernels } from "../src/kernels/index.ts";
import { buildNetwork, buildPreconditioner, loadModel, saveModel, type LoadedModel } from "../src/model.ts";
import { presetConfig } from "../src/presets.ts";
import { Rng } from "../src/rng.ts";
import { getSampler, initialNoise } from "../src/samplers/index.ts";
import { karrasSigmas } from "../src/schedule/sigmas.ts";
import { train, type TrainData } from "../src/train/trainer.ts";
import type { LossConfig } from "../src/train/loss.ts";
import { energyDistance } from "../test/support/stats.ts";
import { argmax10, DigitClassifier, predictProba, trainClassifier } from "./lib/classifier.ts";
import { environment, writeJson } from "./lib/env.ts";

const T0 = performance.now();
const BUDGET_S = Number(process.env.BUDGET_MIN ?? 15) * 60;
const elapsed = () => (performance.now() - T0) / 1000;
const log = (s: string) => console.log(`[${elapsed().toFixed(0).padStart(4)} s] ${s}`);

useKernels(await initKernels({ backend: "wasm" }));
const env = environment();

// ---- 1. the judge ----
const trainSet = loadMnist({ split: "train" });
const testSet = loadMnist({ split: "test" });
const EPOCHS = Number(process.env.CLASSIFIER_EPOCHS ?? 4);
const clf = new DigitClassifier().initialize(0);
log(`classifier: ${clf.parameterCount()} parameters, ${EPOCHS} epochs on ${trainSet.labels!.length} digits`);
const clfT0 = performance.now();
const clfLosses = trainClassifier(clf, trainSet.images, trainSet.labels!, {
  epochs: EPOCHS,
  batch: 64,
  lr: 2e-3,
  seed: 0,
  onEpoch: (e, l) => log(`  epoch ${e}: mean loss ${l.toFixed(4)}`),
});
const clfSeconds = (performance.now() - clfT0) / 1000;
const pTest = predictProba(clf, testSet.images);
let correct = 0;
for (let i = 0; i < testSet.labels!.length; i++) if (argmax10(pTest, i) === testSet.labels![i]) correct++;
const accuracy = correct / testSet.labels!.length;
log(`classifier held-out accuracy: ${(100 * accuracy).toFixed(1)}% (${correct}/${testSet.labels!.length}), trained in ${clfSeconds.toFixed(0)} s`);

/** Confidence, class-histogram entropy and label agreement of the classifier on samples. */
function judge(samples: Float32Array, labels: Int32Array) {
  const p = predictProba(clf, samples);
  const N = labels.length;
  const hist = new Array<number>(10).fill(0);
  let confident = 0;
  let agree = 0;
  let meanMax = 0;
  for (let i = 0; i < N; i++) {
    const c = argmax10(p, i);
    hist[c]++;
    const pm = p[i * 10 + c];
    meanMax += pm / N;
    if (pm >= 0.9) confident++;
    if (c === labels[i]) agree++;
  }
  let entropy = 0;
  for (const h of hist) if (h > 0) entropy -= (h / N) * Math.log(h / N);
  return { count: N, confidentFraction: confident / N, meanMaxProbability: meanMax, histogramEntropy: entropy, entropyOverLn10: entropy / Math.log(10), labelAgreement: agree / N, histogram: hist };
}

// The classifier on real test digits gives the reference values of the same statistics.
const realStats = judge(testSet.images, testSet.labels!);
log(`real test digits: confident ${(100 * realStats.confidentFraction).toFixed(1)}%, entropy ${realStats.entropyOverLn10.toFixed(3)} ln 10`);

// ---- 2. generated digits ----
const shipped = process.env.MODEL ?? "models/mnist.safetensors";
let modelPath = shipped;
let modelNote = "the shipped model";
let tmp: string | null = null;
if (!existsSync(shipped)) {
  // Until the shipped model exists: a copy of the training checkpoint (its EMA weights), never held open.
  tmp = mkdtempSync(join(os.tmpdir(), "quality-"));
  modelPath = join(tmp, "ckpt.safetensors");
  copyFileSync("models/mnist.ckpt.safetensors", modelPath);
  modelNote = "models/mnist.ckpt.safetensors (training checkpoint; the shipped model did not exist yet)";
}
const model: LoadedModel = loadModel(readFileSync(modelPath));
if (tmp) rmSync(tmp, { recursive: true, force: true });
const modelInfo = { path: shipped, used: modelNote, parameters: model.net.parameterCount(), info: model.info };
log(`model: ${modelNote}, ${modelInfo.parameters} parameters, info ${JSON.stringify(model.info)}`);

const COUNT = Number(process.env.GEN_COUNT ?? 1000); // 100 per class
interface GenRun {
  guidance: number;
  sampler: string;
  steps: number;
  seed: number;
  seconds: number;
  stats: ReturnType<typeof judge>;
}
function generated(guidance: number): GenRun {
  const t = performance.now();
  let last = 0;
  const r = generate(model, {
    count: COUNT, steps: 20, sampler: "dpmpp_2m", seed: 0, label: "all", guidance, format: "safetensors", chunk: 50,
    onStep: (s, n) => {
      if (elapsed() - last > 30) {
        last = elapsed();
        log(`  guidance ${guidance}: ${s}/${n}`);
      }
    },
  });
  const seconds = (performance.now() - t) / 1000;
  const stats = judge(r.samples, r.labels!);
  log(`generated (guidance ${guidance}, ${seconds.toFixed(0)} s): confident ${(100 * stats.confidentFraction).toFixed(1)}%, entropy ${stats.histogramEntropy.toFixed(3)} = ${stats.entropyOverLn10.toFixed(3)} ln 10, label agreement ${(100 * stats.labelAgreement).toFixed(1)}%`);
  return { guidance, sampler: "dpmpp_2m", steps: 20, seed: 0, seconds, stats };
}
const gen: GenRun[] = [generated(1)];

// ---- 3. 2-D toys ----
const TOYS = ["moons", "8gaussians", "checkerboard"];
const TOY_STEPS = Number(process.env.TOY_STEPS ?? 3000);
const N_EVAL = 1000;
const REPS = 4;
interface ToyRun {
  toy: string;
  steps: number;
  trainSeconds: number;
  energy: number[];
  floor: number[];
  meanEnergy: number;
  meanFloor: number;
  ratio: number;
}
function toyRun(name: string): ToyRun {
  const { config, precond: spec } = presetConfig("toy", 0);
  const net = buildNetwork(config).initialize(0);
  const n = 8192;
  const data: TrainData = { images: toyData(name, n, new Rng(0).stream("dataset")), shape: [n, 2] };
  const loss: LossConfig = { sigmas: { kind: "lognormal", pMean: -1.2, pStd: 1.2 }, weighting: { kind: "simple" }, labelDropout: 0 };
  const t = performance.now();
  const r = train({ net, precond: buildPreconditioner(spec), loss, data, batchSize: 256, steps: TOY_STEPS, seed: 0, adam: { lr: 2e-3, warmup: 100, clip: 1 }, emaDecay: 0.999 });
  const trainSeconds = (performance.now() - t) / 1000;
  const m = loadModel(saveModel(net, spec, { values: r.ema.shadow }));
  // The sampler directly, not generate(): generate() clamps every sample to [-1, 1] (right for images, but
  // the toys have std ~1 and reach |x| ~ 2.5), which would measure the clamp, not the model.
  const sig = karrasSigmas(40, m.precond.sigmaMin, m.precond.sigmaMax);
  const srng = new Rng(1);
  const samples = getSampler("dpmpp_2m")(m.denoiser(), initialNoise(srng, N_EVAL * REPS, 2, sig[0]), sig, { batch: N_EVAL * REPS, rng: srng.stream("sampler") }).x;
  const fresh = toyData(name, N_EVAL * 2 * REPS, new Rng(12345).stream("fresh"));
  const energy: number[] = [];
  const floor: number[] = [];
  for (let k = 0; k < REPS; k++) {
    const s = samples.subarray(k * 2 * N_EVAL, (k + 1) * 2 * N_EVAL);
    const a = fresh.subarray(2 * k * 2 * N_EVAL, (2 * k + 1) * 2 * N_EVAL);
    const b = fresh.subarray((2 * k + 1) * 2 * N_EVAL, (2 * k + 2) * 2 * N_EVAL);
    energy.push(energyDistance(s, a, 2));
    floor.push(energyDistance(b, a, 2));
  }
  const mean = (v: number[]) => v.reduce((x, y) => x + y, 0) / v.length;
  const res = { toy: name, steps: TOY_STEPS, trainSeconds, energy, floor, meanEnergy: mean(energy), meanFloor: mean(floor), ratio: mean(energy) / mean(floor) };
  log(`toy ${name}: energy distance ${res.meanEnergy.toExponential(2)} vs floor ${res.meanFloor.toExponential(2)} = ${res.ratio.toFixed(2)}x (train ${trainSeconds.toFixed(0)} s, final loss ${r.losses[r.losses.length - 1].toFixed(3)})`);
  return res;
}
const toys = TOYS.map(toyRun);

// ---- optional: guidance 2, if the budget allows another generation pass (about twice the first) ----
if (elapsed() + 2.2 * gen[0].seconds < BUDGET_S) gen.push(generated(2));
else log(`guidance 2 skipped: ${elapsed().toFixed(0)} s used, another pass needs ~${(2.2 * gen[0].seconds).toFixed(0)} s of the ${BUDGET_S} s budget`);

// ---- report ----
const targets = { confidentFraction: 0.9, histogramEntropy: 0.95 * Math.log(10), toyRatio: 1.5, classifierAccuracy: 0.97 };
const g1 = gen[0].stats;
console.log("\n| measure | value | target |\n|---|---:|---:|");
console.log(`| classifier held-out accuracy | ${(100 * accuracy).toFixed(1)} % | ≥ 97 % |`);
for (const g of gen) {
  console.log(`| confident (p ≥ 0.9), guidance ${g.guidance} | ${(100 * g.stats.confidentFraction).toFixed(1)} % | ≥ 90 % |`);
  console.log(`| class-histogram entropy, guidance ${g.guidance} | ${g.stats.histogramEntropy.toFixed(3)} (${g.stats.entropyOverLn10.toFixed(3)} ln 10) | ≥ ${targets.histogramEntropy.toFixed(3)} |`);
  console.log(`| label agreement, guidance ${g.guidance} | ${(100 * g.stats.labelAgreement).toFixed(1)} % | – |`);
}
for (const t of toys) console.log(`| toy ${t.toy}: energy distance / floor | ${t.meanEnergy.toExponential(2)} / ${t.meanFloor.toExponential(2)} = ${t.ratio.toFixed(2)}× | ≤ 1.5× |`);
const met = {
  classifierAccuracy: accuracy >= targets.classifierAccuracy,
  confident: g1.confidentFraction >= targets.confidentFraction,
  entropy: g1.histogramEntropy >= targets.histogramEntropy,
  toys: toys.every((t) => t.ratio <= targets.toyRatio),
};
writeJson("bench/results/quality.json", {
  ...env,
  command: "npm run bench:quality",
  seconds: elapsed(),
  classifier: { architecture: "conv3x3(1->16) s1, conv3x3(16->32) s2, conv3x3(32->32) s2, linear(1568->64), linear(64->10), SiLU; shifts of up to 2 px", parameters: clf.parameterCount(), epochs: EPOCHS, batch: 64, lr: 2e-3, epochLosses: clfLosses, trainSeconds: clfSeconds, testAccuracy: accuracy, onRealTestDigits: realStats },
  model: modelInfo,
  generated: gen,
  toys: { sampler: "dpmpp_2m (called directly: generate() clamps samples to [-1, 1])", samplerSteps: 40, trainPoints: 8192, evalPoints: N_EVAL, replicates: REPS, estimator: "squared energy distance, V-statistic, mean over replicates", runs: toys },
  targets,
  met,
});
log(`wrote bench/results/quality.json; targets met: ${JSON.stringify(met)}`);
