// The quick fuzz pass (npm test): every hostile-input target either accepts its input or rejects it with
// its own typed error, never anything else. `npm run soak` runs the same targets 100,000 times each.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TARGETS } from "../support/fuzz-targets.ts";

describe("hostile inputs are accepted or rejected with a typed error, never a crash", () => {
  for (const t of TARGETS) {
    it(`${t.name}: 2,000 seeded cases`, () => {
      const seen = new Map<string, number>();
      fc.assert(
        fc.property(t.arb, (input) => {
          const o = t.run(input);
          seen.set(o, (seen.get(o) ?? 0) + 1);
        }),
        { seed: 7, numRuns: 2000 },
      );
      // the generator must reach both sides: some inputs accepted, some rejected
      expect(seen.size).toBeGreaterThan(1);
    });
  }
});
