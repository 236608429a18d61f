// The transformer (src/nn/transformer.ts): backward through the whole network against finite differences
// (test/support/gradcheck.ts), on both kernel backends, with the zero-initialised branches made non-zero
// so every parameter is on a live path; attention is bidirectional (a change at the last position
// moves the first position's logits) and sequences of a batch do not see each other.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useKernels } from "../../src/autograd/backend.ts";
import { noGrad } from "../../src/autograd/tensor.ts";
import { createTsKernels, initKernels } from "../../src/kernels/index.ts";
import { Transformer, type TransformerConfig } from "../../src/nn/transformer.ts";
import { Rng } from "../../src/rng.ts";
import { gradcheck } from "../support/gradcheck.ts";

const CFG: TransformerConfig = { kind: "transformer", vocabIn: 6, vocabOut: 5, length: 4, dim: 8, heads: 2, layers: 2, mlp: 12 };

function liveNet(seed: number): Transformer {
  const net = new Transformer(CFG).initialize(seed);
  // the zero-initialised output layers and the LayerNorm gains: random, so every path carries gradient
  const rng = new Rng(seed + 1);
  for (const [name, t] of net.parameters()) {
    if (/proj|fc2|ln/.test(name)) {
      rng.stream(name).normal(t.data);
      for (let i = 0; i < t.size; i++) t.data[i] = 0.5 * t.data[i] + (name.endsWith("ln1.weight") || name.endsWith("ln2.weight") ? 1 : 0);
    }
  }
  return net;
}

describe.each(["ts", "wasm"] as const)("transformer backward equals finite differences, %s kernels", (backend) => {
  beforeAll(async () => {
    useKernels(backend === "ts" ? createTsKernels() : await initKernels({ backend: "wasm" }));
  });
  afterAll(() => useKernels(createTsKernels()));

  it("every parameter tensor, batch of 2", () => {
    const net = liveNet(3);
    const tokens = Int32Array.of(0, 5, 2, 1, 4, 4, 5, 3);
    const params = [...net.parameters().values()];
    gradcheck(new Rng(4), params, () => net.forward(tokens, 2), 24);
  });
});

describe("transformer", () => {
  it("attends both ways within a sequence, never across the batch", () => {
    const net = liveNet(5);
    const a = Int32Array.of(1, 2, 3, 4, 0, 1, 2, 3);
    const b = Int32Array.of(1, 2, 3, 5, 0, 1, 2, 3); // last token of sequence 0 changed
    const [ya, yb] = noGrad(() => [net.forward(a, 2).data, net.forward(b, 2).data]);
    const V = CFG.vocabOut;
    const diff = (from: number, to: number) => ya.subarray(from * V, to * V).some((v, i) => Math.abs(v - yb[from * V + i]) > 1e-6);
    expect(diff(0, 1)).toBe(true); // position 0 sees position 3
    expect(diff(4, 8)).toBe(false); // sequence 1 is untouched
  });

  it("names bad configs and inputs", () => {
    expect(() => new Transformer({ ...CFG, heads: 3 })).toThrow(/config.heads: must divide config.dim \(8\), got 3/);
    expect(() => new Transformer(CFG).forward(new Int32Array(5), 1)).toThrow(/tokens: must hold 1 sequences of 4 tokens, got 5/);
  });
});
