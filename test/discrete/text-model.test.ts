// The text model end to end on a small generated word list: the tokenizer and the held-out split, the
// masked-diffusion loss falling as the transformer trains, generation that respects --prefix/--suffix
// (infilling) and learns the list's structure, and the model file's round trip.
import { beforeAll, describe, expect, it } from "vitest";
import { useKernels } from "../../src/autograd/backend.ts";
import { generateWords, loadTextModel, saveTextModel, textDenoiser, wordTransformerConfig, type TextModel } from "../../src/discrete/text-model.ts";
import { trainText } from "../../src/discrete/train.ts";
import { elboMonteCarlo } from "../../src/discrete/elbo.ts";
import { LINEAR } from "../../src/discrete/schedule.ts";
import { decodeWord, encodeWord, encodeWords, END, parseWordList, splitWords, WORD_K } from "../../src/discrete/vocab.ts";
import { initKernels } from "../../src/kernels/index.ts";
import { Transformer } from "../../src/nn/transformer.ts";
import { Rng } from "../../src/rng.ts";
import { isSyllableWord, syllableWords } from "./words.ts";

const L = 10;

describe("vocab", () => {
  it("encodes letters then end markers, decodes back, and names characters outside a-z", () => {
    expect([...encodeWord("cab", 5)]).toEqual([2, 0, 1, END, END]);
    expect(decodeWord(encodeWord("zebra", 6), 6)).toBe("zebra");
    expect(() => encodeWord("Cab", 5)).toThrow(/word: "Cab" has "C" at position 0; allowed are the lowercase letters a-z/);
    expect(() => encodeWord("abcde", 5)).toThrow(/word: "abcde" has 5 letters; at most 4 fit in 5 positions/);
  });

  it("keeps lowercase a-z words that fit, and holds out about 10 % deterministically", () => {
    expect(parseWordList("apple\nApple\nit's\ncafé\napple\nzoo\nabcdefgh\n", 7)).toEqual(["apple", "zoo"]);
    const words = Array.from({ length: 5000 }, (_, i) => `w${i.toString(36)}`.replace(/[0-9]/g, (d) => "abcdefghij"[Number(d)]));
    const { train, heldOut } = splitWords(words);
    expect(train.length + heldOut.length).toBe(5000);
    expect(Math.abs(heldOut.length / 5000 - 0.1)).toBeLessThan(6 * Math.sqrt(0.09 / 5000));
    expect(splitWords(words.slice().reverse()).heldOut.sort()).toEqual(heldOut.slice().sort());
  });
});

describe("training and generation on a generated word list", () => {
  let model: TextModel;
  let losses: Float64Array;
  let untrained: Transformer;
  const words = syllableWords();
  const data = encodeWords(words, L);

  beforeAll(async () => {
    useKernels(await initKernels());
    const config = wordTransformerConfig(L, 32, 2, 2);
    untrained = new Transformer(config).initialize(1);
    const net = new Transformer(config).initialize(1);
    const r = await trainText({ net, data, K: WORD_K, batchSize: 32, steps: 300, seed: 2, adam: { lr: 3e-3, warmup: 20, clip: 1 } });
    losses = r.losses;
    net.loadParameters(r.ema.shadow);
    const lengths = new Array<number>(L).fill(0);
    for (const w of words) lengths[w.length]++;
    model = { net, L, schedule: "linear", lengths, info: {} };
  }, 120_000);

  it("the loss falls: the last 50 steps average well below the first 50", () => {
    const mean = (a: Float64Array) => a.reduce((s, v) => s + v, 0) / a.length;
    expect(mean(losses.subarray(250))).toBeLessThan(0.6 * mean(losses.subarray(0, 50)));
  });

  it("the held-in ELBO of the trained model is far below the untrained one's", () => {
    const elbo = (net: Transformer) => {
      const e = elboMonteCarlo(textDenoiser(net), LINEAR, WORD_K, data, words.length, new Rng(3), { alphaFree: true, draws: 4 });
      return e.reduce((s, v) => s + v, 0) / e.length;
    };
    expect(elbo(model.net)).toBeLessThan(0.5 * elbo(untrained));
  });

  it("most generated words are made of the list's syllables", () => {
    const got = generateWords(model, { count: 200, seed: 4 });
    const share = got.filter(isSyllableWord).length / got.length;
    expect(share).toBeGreaterThan(0.5);
  });

  it("prefix and suffix are kept (infilling), with both samplers", () => {
    for (const sampler of ["confidence", "ancestral"] as const) {
      const got = generateWords(model, { count: 50, seed: 5, prefix: "ko", suffix: "ba", sampler });
      for (const w of got) {
        expect(w.startsWith("ko"), w).toBe(true);
        expect(w.endsWith("ba"), w).toBe(true);
      }
    }
  });

  it("the same seed gives the same words; the file round-trips", () => {
    const a = generateWords(model, { count: 20, seed: 6 });
    const back = loadTextModel(saveTextModel(model));
    expect(generateWords(back, { count: 20, seed: 6 })).toEqual(a);
    expect(back.lengths).toEqual(model.lengths);
  });

  it("an fp16 file holds every weight rounded to the nearest half (round trip is exact on half-representable values)", () => {
    const half = loadTextModel(saveTextModel(model, undefined, { fp16: true }));
    const params = [...model.net.parameters()];
    let changed = 0;
    for (const [k, t] of params) {
      const h = half.net.parameters().get(k)!.data;
      for (let i = 0; i < t.data.length; i++) {
        const v = t.data[i];
        // half precision: 11 significant bits, so the relative rounding error is at most 2^-11 (normal range)
        if (Math.abs(v) > 6.2e-5) expect(Math.abs(h[i] - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -11);
        if (h[i] !== v) changed++;
      }
    }
    expect(changed).toBeGreaterThan(0);
    // rounding is idempotent: saving the half-precision model again changes nothing
    const again = loadTextModel(saveTextModel(half, undefined, { fp16: true }));
    for (const [k, t] of half.net.parameters()) expect(again.net.parameters().get(k)!.data).toEqual(t.data);
  });

  it("bad input is one clear error naming the value", () => {
    expect(() => generateWords(model, { count: 1, prefix: "" })).toThrow(/prefix: must be one or more letters a-z, got ""/);
    expect(() => generateWords(model, { count: 1, suffix: "in9" })).toThrow(/suffix: "in9" has "9" at position 2/);
    expect(() => generateWords(model, { count: 1, prefix: "abcde", suffix: "efghi" })).toThrow(/prefix and suffix have 10 letters together; the model holds words of at most 9/);
  });
});
