// npm run soak: the long fuzz pass, at least 100,000 cases per hostile-input target (the quick pass in
// npm test runs 2,000). Prints each target's cases, time and outcome histogram, and writes
// bench/results/soak.json for bench/RESULTS.md's reliability section.
import fc from "fast-check";
import { mkdirSync, writeFileSync } from "node:fs";
import { TARGETS } from "../test/support/fuzz-targets.ts";

const runs = Number(process.env.SOAK_RUNS ?? 100_000);
const seed = Number(process.env.SOAK_SEED ?? 20261126);
const results = [];
for (const t of TARGETS) {
  const seen = new Map<string, number>();
  const t0 = performance.now();
  fc.assert(
    fc.property(t.arb, (input) => {
      const o = t.run(input);
      seen.set(o, (seen.get(o) ?? 0) + 1);
    }),
    { seed, numRuns: runs },
  );
  const seconds = (performance.now() - t0) / 1000;
  const outcomes = Object.fromEntries([...seen].sort((a, b) => b[1] - a[1]));
  results.push({ target: t.name, cases: runs, seconds, outcomes });
  console.log(`${t.name}: ${runs} cases in ${seconds.toFixed(1)} s, no crash; outcomes ${JSON.stringify(outcomes)}`);
}
mkdirSync("bench/results", { recursive: true });
writeFileSync("bench/results/soak.json", JSON.stringify({ date: new Date().toISOString(), node: process.version, seed, results }, null, 2));
