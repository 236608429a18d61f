// The n-gram baseline of bench:text (src/discrete/ngram.ts): its conditionals are distributions, it
// follows the Witten-Bell recursion, bits() is the probability its sampler draws a word with.
import { describe, expect, it } from "vitest";
import { CharNgram } from "../../src/discrete/ngram.ts";
import { END, WORD_K } from "../../src/discrete/vocab.ts";
import { Z } from "../support/stats.ts";
import { syllableWords } from "./words.ts";

describe("CharNgram", () => {
  const words = syllableWords();

  it("every conditional is a distribution over the 27 symbols with no zero", () => {
    for (const order of [1, 2, 4]) {
      const m = new CharNgram(order, words);
      for (const h of ["", "b", "ko", "zzq", "banel"]) {
        const p = m.next(h);
        expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
        expect(p.every((v) => v > 0)).toBe(true);
      }
    }
  });

  it("follows interpolated Witten-Bell: P(c | h) = (C(hc) + T(h) P(c | h')) / (C(h) + T(h))", () => {
    const m = new CharNgram(3, ["ab"]);
    // symbols seen: a, b, $ (once each); "^^" -> a; "^" -> a; "^a" -> b; "a" -> b; "ab" -> $; "b" -> $
    const p0 = (1 + 3 / WORD_K) / (3 + 3); // P(a | "")
    const p1 = (1 + p0) / 2; // P(a | "^")
    expect(m.next("")[0]).toBeCloseTo((1 + p1) / 2, 14); // P(a | "^^")
    const q0 = (1 + 3 / WORD_K) / 6; // P($ | "")
    const q1 = (1 + q0) / 2; // P($ | "b")
    expect(m.next("ab")[END]).toBeCloseTo((1 + q1) / 2, 14); // P($ | "ab")
  });

  it("draws each word with probability 2^-bits(word)", () => {
    const m = new CharNgram(3, words);
    const n = 20000;
    const got = m.sample(n, 12, 1);
    for (const w of ["bako", "kori", "nelnel"]) {
      const p = 2 ** -m.bits(w);
      const f = got.filter((x) => x === w).length / n;
      expect(Math.abs(f - p), w).toBeLessThan(Z * Math.sqrt((p * (1 - p)) / n));
    }
  });

  it("a longer context fits the training words better", () => {
    const bits = (o: number) => words.reduce((s, w) => s + new CharNgram(o, words).bits(w), 0);
    expect(bits(3)).toBeLessThan(bits(2));
    expect(bits(2)).toBeLessThan(bits(1));
  });
});
