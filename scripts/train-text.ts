// npm run train:text: train the shipped text model, character-level masked diffusion (MDLM) on an
// English word list (Debian's wamerican, /usr/share/dict/words: `apt-get install -y wamerican`), 10 % of
// the words held out (vocab.ts splitWords). Writes the EMA weights to --out; every --save-every steps too,
// so a stopped run leaves a usable model.
//
//   node --import tsx scripts/train-text.ts [--words FILE] [--steps N] [--batch N] [--dim D] [--layers N]
//     [--heads H] [--length L] [--lr X] [--warmup N] [--seed S] [--out FILE] [--save-every N]
//     [--max-minutes M] [--fp16]
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { useKernels } from "../src/autograd/backend.ts";
import { wordTransformerConfig, saveTextModel } from "../src/discrete/text-model.ts";
import { trainText } from "../src/discrete/train.ts";
import { encodeWords, parseWordList, splitWords } from "../src/discrete/vocab.ts";
import { initKernels } from "../src/kernels/index.ts";
import { Transformer } from "../src/nn/transformer.ts";
import { writeFileAtomic } from "../src/node/files.ts";
import type { EMA } from "../src/train/optim.ts";

const { values: v } = parseArgs({
  options: {
    words: { type: "string", default: "/usr/share/dict/words" },
    steps: { type: "string", default: "4000" },
    batch: { type: "string", default: "64" },
    dim: { type: "string", default: "128" },
    layers: { type: "string", default: "4" },
    heads: { type: "string", default: "4" },
    length: { type: "string", default: "16" },
    lr: { type: "string", default: "1e-3" },
    warmup: { type: "string", default: "200" },
    seed: { type: "string", default: "0" },
    out: { type: "string", default: "models/text.safetensors" },
    "save-every": { type: "string", default: "500" },
    // stop (and save) after this many minutes of training even if --steps is not reached: the budget
    // of 'npm run train:text' is wall-clock time on a shared machine, where the step rate varies
    "max-minutes": { type: "string", default: "0" },
    // store the weights as F16 (the shipped file: half the package size; loading widens them exactly)
    fp16: { type: "boolean", default: false },
  },
});

if (!existsSync(v.words)) {
  console.error(`train:text: no word list at ${v.words}; install Debian's wamerican (apt-get install -y wamerican) or pass --words FILE`);
  process.exit(2);
}
const L = Number(v.length);
const all = parseWordList(readFileSync(v.words, "utf8"), L - 1);
const { train, heldOut } = splitWords(all);
const data = encodeWords(train, L);
const lengths = new Array<number>(L).fill(0);
for (const w of train) lengths[w.length]++;
const config = wordTransformerConfig(L, Number(v.dim), Number(v.heads), Number(v.layers));
const net = new Transformer(config).initialize(Number(v.seed));
const out = resolve(v.out);
mkdirSync(dirname(out), { recursive: true });
useKernels(await initKernels());
const steps = Number(v.steps);
const t0 = performance.now();
console.log(`train:text: ${train.length} training words (${heldOut.length} held out) of ${all.length} from ${v.words}; ${net.parameterCount()} parameters (${((net.parameterCount() * 4) / 2 ** 20).toFixed(2)} MiB float32); ${steps} steps of batch ${v.batch}`);
const save = (step: number, ema: EMA) => {
  const model = { net, L, schedule: "linear" as const, lengths, info: { steps: step, batch: Number(v.batch), lr: Number(v.lr), seed: Number(v.seed), trainWords: train.length, heldOutWords: heldOut.length, wordList: v.words, minutes: (performance.now() - t0) / 60000, command: `npm run train:text -- ${process.argv.slice(2).join(" ")}`.trim() } };
  writeFileAtomic(out, saveTextModel(model, ema.shadow, { fp16: v.fp16 }));
};
const stop = new AbortController();
const maxMinutes = Number(v["max-minutes"]);
if (maxMinutes > 0) setTimeout(() => stop.abort(), maxMinutes * 60000).unref();
process.once("SIGINT", () => stop.abort());
const r = await trainText({
  signal: stop.signal,
  net,
  data,
  K: config.vocabOut,
  batchSize: Number(v.batch),
  steps,
  seed: Number(v.seed),
  adam: { lr: Number(v.lr), warmup: Number(v.warmup), clip: 1 },
  emaDecay: 0.999,
  reportEvery: 50,
  saveEvery: Number(v["save-every"]),
  onSave: (s, _adam, ema) => save(s, ema),
  onProgress: (p) => console.log(`step ${p.step}/${p.steps}  loss ${p.meanLoss.toFixed(4)} nats/position  ${p.itPerSec.toFixed(2)} it/s  eta ${(p.etaSeconds / 60).toFixed(1)} min`),
});
save(r.step, r.ema);
console.log(`train:text: ${r.aborted ? "stopped at the time limit" : "done"}, ${r.step} steps in ${((performance.now() - t0) / 60000).toFixed(1)} min; wrote ${out}`);
