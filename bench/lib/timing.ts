// Interleaved timing on a shared, noisy machine: each contender gets a warm-up and an iteration count
// calibrated to about `sampleMs` per sample; then rounds run one sample of every contender in turn (so
// load changes hit all alike) and the median sample is reported. Ratios are only meaningful within one run.

export interface Contender {
  name: string;
  run: () => void;
  /** Called before each sample (e.g. switch the tfjs backend); not timed. */
  before?: () => Promise<void> | void;
}

function timeOnce(run: () => void, iters: number): number {
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) run();
  return (performance.now() - t0) / iters;
}

export function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Median milliseconds per call of every contender, and all samples. */
export async function interleaved(cs: Contender[], rounds: number, sampleMs: number, warmup = 2): Promise<{ name: string; ms: number; samples: number[]; iters: number }[]> {
  const iters: number[] = [];
  for (const c of cs) {
    await c.before?.();
    const t = timeOnce(c.run, warmup) || 1e-3; // warm-up (and tier-up); its time sizes the samples
    const t2 = timeOnce(c.run, 1);
    iters.push(Math.max(1, Math.round(sampleMs / Math.max(Math.min(t, t2), 1e-3))));
  }
  const samples: number[][] = cs.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < cs.length; i++) {
      await cs[i].before?.();
      samples[i].push(timeOnce(cs[i].run, iters[i]));
    }
  }
  return cs.map((c, i) => ({ name: c.name, ms: median(samples[i]), samples: samples[i], iters: iters[i] }));
}
