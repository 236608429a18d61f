// Philox4x32-10 (Salmon et al. 2011), the counter-based generator under src/rng.ts, against the
// known-answer vectors published with Random123.
import { describe, expect, it } from "vitest";
import { philox4x32 } from "../../src/rng.ts";

describe("Philox4x32-10", () => {
  it("matches the Random123 known-answer vectors", () => {
    const o = new Uint32Array(4);
    philox4x32(0, 0, 0, 0, 0, 0, o);
    expect([...o]).toEqual([0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
    philox4x32(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, o);
    expect([...o]).toEqual([0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]);
  });
});
