// The text model: a Transformer denoiser of the absorbing (masked) process over the word tokens of
// vocab.ts, its file (safetensors with the config, the masking schedule and the training words' length
// histogram in the metadata), and word generation with prefix/suffix infilling.

import { softmax } from "../autograd/ops.ts";
import { noGrad, Tensor } from "../autograd/tensor.ts";
import { readSafetensors, toFloat32, writeSafetensors, type TensorInput } from "../io/safetensors.ts";
import { checkTransformerConfig, Transformer, type TransformerConfig } from "../nn/transformer.ts";
import { Rng } from "../rng.ts";
import { ArgumentError, int, oneOf } from "../validate.ts";
import type { DiscreteDenoiser } from "./denoiser.ts";
import { ancestralSample, categorical, confidenceSample } from "./samplers.ts";
import { discreteAlphas, maskSchedule, MASK_SCHEDULE_NAMES, type MaskScheduleName } from "./schedule.ts";
import { ALPHABET, checkLetters, decodeWord, END, WORD_K } from "./vocab.ts";

export const TEXT_MODEL_FORMAT = "edge-diffusion.text-model";
export const TEXT_SAMPLERS = ["confidence", "ancestral"] as const;
export type TextSampler = (typeof TEXT_SAMPLERS)[number];

export interface TextModel {
  net: Transformer;
  /** Sequence length L: words of at most L − 1 letters. */
  L: number;
  schedule: MaskScheduleName;
  /** lengths[n]: how many training words have n letters (for --suffix, which needs a length). */
  lengths: number[];
  /** Free-form training record (steps, words, command). */
  info: Record<string, unknown>;
}

/** A character-level word model's network config: K = 27 outputs (letters, end), 28 inputs (+ mask). */
export function wordTransformerConfig(L: number, dim: number, heads: number, layers: number): TransformerConfig {
  return { kind: "transformer", vocabIn: WORD_K + 1, vocabOut: WORD_K, length: L, dim, heads, layers, mlp: 4 * dim };
}

/**
 * The network as a DiscreteDenoiser: p̃(x_0 | x_t) = softmax(logits), α ignored (MDLM's SUBS network is
 * time-free), in chunks of `chunk` sequences to bound memory.
 */
export function textDenoiser(net: Transformer, chunk = 256): DiscreteDenoiser {
  const L = net.config.length;
  const K = net.config.vocabOut;
  return (x, batch) =>
    noGrad(() => {
      const out = new Float32Array(batch * L * K);
      for (let b0 = 0; b0 < batch; b0 += chunk) {
        const n = Math.min(chunk, batch - b0);
        const logits = net.forward(x.subarray(b0 * L, (b0 + n) * L), n);
        out.set(softmax(new Tensor(logits.data, [n * L, K])).data, b0 * L * K);
      }
      return out;
    });
}

/** The model file: the parameters (float32, or float16 with `fp16`) and the metadata. */
export function saveTextModel(m: TextModel, params: Map<string, Float32Array> = new Map([...m.net.parameters()].map(([k, t]) => [k, t.data])), opts: { fp16?: boolean } = {}): Uint8Array {
  // fp16 halves the shipped file (the package carries it); loading widens it exactly (toFloat32)
  const dtype = opts.fp16 ? "F16" : "F32";
  const tensors: Record<string, TensorInput> = {};
  for (const [k, t] of m.net.parameters()) tensors[k] = { dtype, shape: [...t.shape], data: params.get(k)! };
  return writeSafetensors(tensors, {
    format: TEXT_MODEL_FORMAT,
    config: JSON.stringify(m.net.config),
    alphabet: ALPHABET,
    schedule: m.schedule,
    lengths: JSON.stringify(m.lengths),
    info: JSON.stringify(m.info),
  });
}

/** Read a text model file; a file of another kind is named, not misread. */
export function loadTextModel(bytes: Uint8Array): TextModel {
  const f = readSafetensors(bytes);
  const fmt = f.metadata.format;
  if (fmt !== TEXT_MODEL_FORMAT) {
    throw new ArgumentError("model", `is not an edge-diffusion text model (its __metadata__.format is ${fmt === undefined ? "missing" : JSON.stringify(fmt)}, expected ${JSON.stringify(TEXT_MODEL_FORMAT)}; 'npm run train:text' writes one)`);
  }
  if (f.metadata.alphabet !== ALPHABET) throw new ArgumentError("model", `was trained on the alphabet ${JSON.stringify(f.metadata.alphabet)}, this version reads ${JSON.stringify(ALPHABET)}`);
  const config = checkTransformerConfig(JSON.parse(f.metadata.config ?? "null") as TransformerConfig);
  if (config.vocabIn !== WORD_K + 1 || config.vocabOut !== WORD_K) throw new ArgumentError("model", `has ${config.vocabIn} input and ${config.vocabOut} output tokens, a word model has ${WORD_K + 1} and ${WORD_K}`);
  const net = new Transformer(config);
  const values = new Map<string, Float32Array>();
  for (const [k, t] of Object.entries(f.tensors)) values.set(k, toFloat32(t, k));
  net.loadParameters(values);
  const lengths = JSON.parse(f.metadata.lengths ?? "[]") as number[];
  return { net, L: config.length, schedule: oneOf("schedule", f.metadata.schedule ?? "linear", MASK_SCHEDULE_NAMES), lengths, info: JSON.parse(f.metadata.info ?? "{}") as Record<string, unknown> };
}

export interface GenerateWordsOptions {
  count: number;
  /** Network calls (confidence sampler) or reverse steps (ancestral); default L. */
  steps?: number;
  seed?: number;
  /** Letters every word starts with. */
  prefix?: string;
  /** Letters every word ends with: the word's length is drawn from the training lengths that fit. */
  suffix?: string;
  sampler?: TextSampler;
}

/**
 * Generate words by infilling: the prefix's letters are clamped at the first positions; with a suffix,
 * a length n is drawn from the training words' lengths (n ≥ |prefix| + |suffix|) and the suffix and the
 * end markers are clamped at n − |suffix| ..; every other position starts masked and is unmasked by the
 * sampler. Returns the words (letters before the first end marker).
 */
export function generateWords(m: TextModel, o: GenerateWordsOptions): string[] {
  const count = int("count", o.count, 1, 100000);
  const L = m.L;
  const steps = int("steps", o.steps ?? L, 1, 10000);
  const rng = new Rng(o.seed ?? 0);
  const sampler = oneOf("sampler", o.sampler ?? "confidence", TEXT_SAMPLERS);
  const prefix = o.prefix === undefined ? "" : nonEmptyLetters("prefix", o.prefix);
  const suffix = o.suffix === undefined ? "" : nonEmptyLetters("suffix", o.suffix);
  const fixed = prefix.length + suffix.length;
  if (fixed > L - 1) throw new ArgumentError(o.suffix ? "suffix" : "prefix", `prefix and suffix have ${fixed} letters together; the model holds words of at most ${L - 1}`);
  const K = WORD_K;
  const init = new Int32Array(count * L).fill(K);
  // lengths that fit, weighted by how often they occur in training (every length that fits if none do)
  const weights = Float64Array.from({ length: L }, (_, n) => (n >= Math.max(fixed, 1) && n <= L - 1 ? (m.lengths[n] ?? 0) : 0));
  if (suffix && !weights.some((w) => w > 0)) for (let n = Math.max(fixed, 1); n < L; n++) weights[n] = 1;
  const u = rng.stream("length").uniform(new Float64Array(count));
  for (let b = 0; b < count; b++) {
    const row = b * L;
    for (let i = 0; i < prefix.length; i++) init[row + i] = prefix.charCodeAt(i) - 97;
    if (suffix) {
      const n = categorical(weights, 0, L, u[b]);
      for (let i = 0; i < suffix.length; i++) init[row + n - suffix.length + i] = suffix.charCodeAt(i) - 97;
      for (let l = n; l < L; l++) init[row + l] = END;
    }
  }
  const den = textDenoiser(m.net);
  const x =
    sampler === "confidence"
      ? confidenceSample(den, { K, L, batch: count, rng: rng.stream("sample"), init, steps, schedule: maskSchedule(m.schedule) })
      : ancestralSample("absorbing", den, { K, L, batch: count, rng: rng.stream("sample"), init, alphas: discreteAlphas(maskSchedule(m.schedule), steps), alphaFree: true });
  return Array.from({ length: count }, (_, b) => decodeWord(x, L, b * L));
}

function nonEmptyLetters(arg: string, s: string): string {
  if (typeof s !== "string" || s.length === 0) throw new ArgumentError(arg, `must be one or more letters a-z, got ${JSON.stringify(s)}`);
  return checkLetters(arg, s);
}
