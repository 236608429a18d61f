// Character-level tokens for words: the 26 lowercase letters (ids 0..25) and an end marker (id 26) that
// fills the positions after the word, so a fixed-length sequence holds a word of any length up to L − 1
// and the model learns lengths as it learns letters. The absorbing process's mask is id 27 (K = 27).

import { ArgumentError, int } from "../validate.ts";

export const ALPHABET = "abcdefghijklmnopqrstuvwxyz";
/** The end-of-word token, written "." when shown. */
export const END = ALPHABET.length;
/** Real tokens: the letters and the end marker. */
export const WORD_K = ALPHABET.length + 1;

/** Check that a string is made of the vocabulary's letters; the message names the argument, the character and what is allowed. */
export function checkLetters(arg: string, s: string): string {
  for (let i = 0; i < s.length; i++) {
    if (ALPHABET.indexOf(s[i]) < 0) throw new ArgumentError(arg, `${JSON.stringify(s)} has ${JSON.stringify(s[i])} at position ${i}; allowed are the lowercase letters a-z`);
  }
  return s;
}

/** A word as L tokens: its letters, then END to the last position. The word must be shorter than L. */
export function encodeWord(word: string, L: number, out = new Int32Array(L), offset = 0): Int32Array {
  checkLetters("word", word);
  if (word.length >= L) throw new ArgumentError("word", `${JSON.stringify(word)} has ${word.length} letters; at most ${L - 1} fit in ${L} positions`);
  for (let l = 0; l < L; l++) out[offset + l] = l < word.length ? word.charCodeAt(l) - 97 : END;
  return out;
}

/** The word in tokens[offset, offset + L): the letters before the first END (or a mask, shown as "_"). */
export function decodeWord(tokens: ArrayLike<number>, L: number, offset = 0): string {
  let s = "";
  for (let l = 0; l < L; l++) {
    const v = tokens[offset + l];
    if (v === END) break;
    s += v >= 0 && v < END ? ALPHABET[v] : "_";
  }
  return s;
}

/** Encode many words into one [N, L] array. */
export function encodeWords(words: readonly string[], L: number): Int32Array {
  int("L", L, 2, 4096);
  const out = new Int32Array(words.length * L);
  words.forEach((w, i) => encodeWord(w, L, out, i * L));
  return out;
}

/**
 * The words of a word list (one per line, e.g. Debian's wamerican /usr/share/dict/words) that the model
 * can hold: lowercase a-z only (no proper nouns, possessives or accents), at most maxLetters long;
 * deduplicated and sorted.
 */
export function parseWordList(text: string, maxLetters: number): string[] {
  int("maxLetters", maxLetters, 1, 4095);
  const set = new Set<string>();
  for (const line of text.split(/\r?\n/)) {
    const w = line.trim();
    if (w.length >= 1 && w.length <= maxLetters && /^[a-z]+$/.test(w)) set.add(w);
  }
  return [...set].sort();
}

/** 32-bit FNV-1a of a word: a deterministic split that does not move when other words are added. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Split words into training and held-out parts: a word is held out when its FNV-1a hash is 0 mod 10 (≈ 10 %). */
export function splitWords(words: readonly string[]): { train: string[]; heldOut: string[] } {
  const train: string[] = [];
  const heldOut: string[] = [];
  for (const w of words) (fnv1a(w) % 10 === 0 ? heldOut : train).push(w);
  return { train, heldOut };
}
