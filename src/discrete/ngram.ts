// A character n-gram model of words, the baseline of `npm run bench:text`: the letters of a word and an
// end marker, each predicted from the previous n − 1 symbols (start markers before the word), with
// interpolated Witten-Bell smoothing (Witten & Bell 1991; Chen & Goodman 1998, §2.5):
//   P(c | h) = (C(h c) + N₁₊(h ·) P(c | h')) / (C(h) + N₁₊(h ·)),  h' = h without its oldest symbol,
// down to the uniform distribution over the 27 symbols. So it assigns every word a probability and its
// −log₂ P / (letters + 1) is comparable with the diffusion model's ELBO in bits per character.

import { Rng } from "../rng.ts";
import { ArgumentError, int } from "../validate.ts";
import { categorical } from "./process.ts";
import { ALPHABET, END, WORD_K } from "./vocab.ts";

const START = "^";
const SYMBOLS = ALPHABET + "$"; // "$" is the end marker, END = 26

export class CharNgram {
  /** counts.get(history)[symbol]: how often symbol followed history (histories of length 0..n−1). */
  private readonly counts = new Map<string, Float64Array>();
  private readonly totals = new Map<string, { n: number; types: number }>();

  constructor(readonly order: number, words: readonly string[]) {
    int("order", order, 1, 12);
    for (const w of words) {
      const s = START.repeat(order - 1) + w;
      for (let i = order - 1; i <= s.length; i++) {
        const c = i === s.length ? END : SYMBOLS.indexOf(s[i]);
        if (c < 0) throw new ArgumentError("words", `${JSON.stringify(w)} has a character outside a-z`);
        for (let k = 0; k < order; k++) {
          const h = s.slice(i - k, i);
          let row = this.counts.get(h);
          if (!row) this.counts.set(h, (row = new Float64Array(WORD_K)));
          row[c]++;
        }
      }
    }
    for (const [h, row] of this.counts) {
      let n = 0;
      let types = 0;
      for (const v of row) {
        n += v;
        if (v > 0) types++;
      }
      this.totals.set(h, { n, types });
    }
  }

  /** P(· | the last order − 1 symbols of `prefix`) over the 27 symbols, into out. */
  next(prefix: string, out = new Float64Array(WORD_K)): Float64Array {
    const s = START.repeat(this.order - 1) + prefix;
    out.fill(1 / WORD_K);
    for (let k = 0; k < this.order; k++) {
      const h = s.slice(s.length - k);
      const row = this.counts.get(h);
      if (!row) break; // a longer history was never seen either
      const { n, types } = this.totals.get(h)!;
      for (let c = 0; c < WORD_K; c++) out[c] = (row[c] + types * out[c]) / (n + types);
    }
    return out;
  }

  /** −log₂ P(word and its end marker). */
  bits(word: string): number {
    const p = new Float64Array(WORD_K);
    let b = 0;
    for (let i = 0; i <= word.length; i++) {
      this.next(word.slice(0, i), p);
      b -= Math.log2(p[i === word.length ? END : ALPHABET.indexOf(word[i])]);
    }
    return b;
  }

  /** Draw `count` words of at most maxLetters letters (the end marker is forced after that). */
  sample(count: number, maxLetters: number, seed = 0): string[] {
    const rng = new Rng(seed);
    const p = new Float64Array(WORD_K);
    const u = new Float64Array(maxLetters + 1);
    const out: string[] = [];
    for (let b = 0; b < count; b++) {
      rng.uniform(u, b);
      let w = "";
      for (let i = 0; i < maxLetters; i++) {
        const c = categorical(this.next(w, p), 0, WORD_K, u[i]);
        if (c === END) break;
        w += ALPHABET[c];
      }
      out.push(w);
    }
    return out;
  }
}
