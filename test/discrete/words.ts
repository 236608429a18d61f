// A small generated word list for the text-model tests (they must not depend on /usr/share/dict):
// every word of two or three syllables from five, so a model can learn its structure in a few steps.
export const SYLLABLES = ["ba", "ko", "ri", "tu", "nel"];

export function syllableWords(): string[] {
  const out: string[] = [];
  for (const a of SYLLABLES) for (const b of SYLLABLES) {
    out.push(a + b);
    for (const c of SYLLABLES) out.push(a + b + c);
  }
  return out.sort();
}

/** Whether a word is made of the syllables. */
export function isSyllableWord(w: string): boolean {
  if (w === "") return false;
  for (const s of SYLLABLES) if (w.startsWith(s) && (w.length === s.length || isSyllableWord(w.slice(s.length)))) return true;
  return false;
}
