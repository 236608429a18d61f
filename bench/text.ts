// Text benchmark (issue 16, item 8), not part of `npm test`:
//
//   npm run bench:text                     (node --import tsx bench/text.ts)
//   MODEL=path npm run bench:text          another text model (default models/text.safetensors)
//   (about 15 minutes on a quiet 2-core machine with the defaults, mostly the ELBO and the sampling)
//   WORDS=file DRAWS=4 COUNT=1000 STEPS=16 word list, ELBO draws per word, words generated, sampler steps
//
// On the held-out 10 % of the word list (vocab.ts splitWords, the split train:text used):
// 1. bits per character: the diffusion model's negative ELBO (MDLM eq. 10, Monte Carlo, DRAWS draws of
//    (t, mask) per word) and each character n-gram's exact −log₂ P, both over the word's letters and its
//    end marker (a word and its padded sequence are one-to-one, so the two are comparable);
// 2. COUNT generated words from each: the share that are real words (in the whole list), real and
//    held out (never seen in training: generalisation, not copying), copies of training words, distinct;
//    and samples per second.
// Writes bench/results/text.json.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { useKernels } from "../src/autograd/backend.ts";
import { elboMonteCarlo } from "../src/discrete/elbo.ts";
import { CharNgram } from "../src/discrete/ngram.ts";
import { maskSchedule } from "../src/discrete/schedule.ts";
import { generateWords, loadTextModel, textDenoiser, type TextSampler } from "../src/discrete/text-model.ts";
import { encodeWords, parseWordList, splitWords, WORD_K } from "../src/discrete/vocab.ts";
import { initKernels } from "../src/kernels/index.ts";
import { Rng } from "../src/rng.ts";

const MODEL = process.env.MODEL ?? "models/text.safetensors";
const WORDS = process.env.WORDS ?? "/usr/share/dict/words";
const DRAWS = Number(process.env.DRAWS ?? 4);
const COUNT = Number(process.env.COUNT ?? 1000);
const STEPS = Number(process.env.STEPS ?? 16);
for (const [f, what] of [[MODEL, "text model (npm run train:text)"], [WORDS, "word list (apt-get install -y wamerican)"]]) {
  if (!existsSync(f)) {
    console.error(`bench:text: no ${what} at ${f}`);
    process.exit(2);
  }
}

useKernels(await initKernels());
const model = loadTextModel(new Uint8Array(readFileSync(MODEL)));
const L = model.L;
const all = parseWordList(readFileSync(WORDS, "utf8"), L - 1);
const { train, heldOut } = splitWords(all);
const allSet = new Set(all);
const trainSet = new Set(train);
const heldSet = new Set(heldOut);
const symbols = heldOut.reduce((s, w) => s + w.length + 1, 0);
console.log(`bench:text: ${MODEL} (${model.net.parameterCount()} parameters, trained ${JSON.stringify(model.info.steps)} steps); ${train.length} training / ${heldOut.length} held-out words from ${WORDS}`);

// 1. bits per character on the held-out words
const t0 = performance.now();
const perWord = elboMonteCarlo(textDenoiser(model.net), maskSchedule(model.schedule), WORD_K, encodeWords(heldOut, L), heldOut.length, new Rng(0), { draws: DRAWS, alphaFree: true });
let nats = 0;
let sq = 0;
for (const v of perWord) nats += v;
const meanW = nats / perWord.length;
for (const v of perWord) sq += (v - meanW) ** 2;
const bpc = nats / Math.LN2 / symbols;
// standard error of the total over words (the per-word estimates are independent across words)
const bpcSe = Math.sqrt((sq / (perWord.length - 1)) * perWord.length) / Math.LN2 / symbols;
const elboSeconds = (performance.now() - t0) / 1000;
console.log(`diffusion: held-out ELBO ${bpc.toFixed(4)} ± ${bpcSe.toFixed(4)} bits/char (${DRAWS} draws per word, ${elboSeconds.toFixed(1)} s)`);
const ngrams = [1, 2, 3, 4, 5, 6, 7, 8].map((order) => {
  const m = new CharNgram(order, train);
  const bits = heldOut.reduce((s, w) => s + m.bits(w), 0) / symbols;
  console.log(`${order}-gram: held-out ${bits.toFixed(4)} bits/char`);
  return { order, m, bits };
});
const best = ngrams.reduce((a, b) => (b.bits < a.bits ? b : a));

// 2. generated words
function judge(words: string[], seconds: number) {
  const n = words.length;
  const real = words.filter((w) => allSet.has(w)).length;
  const novel = words.filter((w) => heldSet.has(w)).length;
  const copied = words.filter((w) => trainSet.has(w)).length;
  return { count: n, realShare: real / n, realHeldOutShare: novel / n, realHeldOutCount: novel, trainingCopyShare: copied / n, distinctShare: new Set(words).size / n, samplesPerSecond: n / seconds, examples: words.slice(0, 20) };
}
const gen: Record<string, ReturnType<typeof judge>> = {};
for (const sampler of ["confidence", "ancestral"] as TextSampler[]) {
  const t = performance.now();
  const words = generateWords(model, { count: COUNT, steps: STEPS, seed: 0, sampler });
  gen[`diffusion ${sampler} ${STEPS} steps`] = judge(words, (performance.now() - t) / 1000);
}
for (const g of [best, ngrams[3]]) {
  const t = performance.now();
  const words = g.m.sample(COUNT, L - 1, 0);
  gen[`${g.order}-gram`] = judge(words, (performance.now() - t) / 1000);
}
for (const [k, r] of Object.entries(gen)) {
  console.log(`${k}: real ${(100 * r.realShare).toFixed(1)} %, real and held out ${(100 * r.realHeldOutShare).toFixed(1)} % (${r.realHeldOutCount}), training copies ${(100 * r.trainingCopyShare).toFixed(1)} %, distinct ${(100 * r.distinctShare).toFixed(1)} %, ${r.samplesPerSecond.toFixed(1)} words/s; e.g. ${r.examples.slice(0, 10).join(" ")}`);
}

mkdirSync("bench/results", { recursive: true });
writeFileSync(
  "bench/results/text.json",
  JSON.stringify(
    {
      date: new Date().toISOString(),
      machine: `${os.cpus()[0]?.model ?? "?"}, ${os.cpus().length} vCPUs, load average ${os.loadavg()[0].toFixed(1)}`,
      node: process.version,
      model: MODEL,
      modelInfo: model.info,
      parameters: model.net.parameterCount(),
      words: { list: WORDS, train: train.length, heldOut: heldOut.length },
      heldOutBitsPerChar: { diffusionElbo: bpc, diffusionElboStdErr: bpcSe, draws: DRAWS, ngram: Object.fromEntries(ngrams.map((g) => [g.order, g.bits])), bestNgramOrder: best.order },
      generated: gen,
    },
    null,
    2,
  ),
);
console.log("wrote bench/results/text.json");
