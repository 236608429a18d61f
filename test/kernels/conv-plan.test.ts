// The WASM backend's convolution planning (src/kernels/wasm/conv.ts): which strategy each pass takes, as
// its header documents, and that the workspace it plans is what arena.conv2dScratch reserves, so a
// reserved arena runs every pass without growing memory (views taken before the calls stay attached).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { convDims } from "../../src/kernels/args.ts";
import { createWasmKernels, type Conv2dShape, type KernelsWithArena } from "../../src/kernels/index.ts";
import type { Exports } from "../../src/kernels/wasm/abi.ts";
import { planConv, type ConvStrategy } from "../../src/kernels/wasm/conv.ts";
import { randn } from "./helpers.ts";

const bytes = readFileSync(new URL("../../build/kernels.wasm", import.meta.url));
async function backend(winograd: boolean): Promise<{ e: Exports; k: KernelsWithArena }> {
  const { instance } = await WebAssembly.instantiate(bytes, {});
  return { e: instance.exports as unknown as Exports, k: createWasmKernels(instance.exports, "wasm", { winograd }) };
}

const shape = (s: Partial<Conv2dShape>): Conv2dShape => ({
  batch: 2, inChannels: 8, height: 9, width: 7, outChannels: 8, kernelH: 3, kernelW: 3, stride: 1, pad: 1, ...s,
});

// [what, shape, winograd, strategies of fwd, bwd, wgrad]
const cases: Array<[string, Conv2dShape, boolean, [ConvStrategy, ConvStrategy, ConvStrategy]]> = [
  ["3x3 pad 1, >= 8 channels", shape({}), true, ["winograd", "winograd", "winograd"]],
  ["the same with Winograd off", shape({}), false, ["direct", "direct", "gemm"]],
  ["3x3 pad 1, 3 input channels", shape({ inChannels: 3 }), true, ["direct", "direct", "gemm"]],
  ["5x5 pad 2", shape({ kernelH: 5, kernelW: 5, pad: 2 }), true, ["direct", "direct", "gemm"]],
  ["3x3 unpadded", shape({ pad: 0 }), true, ["direct", "direct", "gemm"]],
  ["1x1 unpadded: a plain GEMM", shape({ kernelH: 1, kernelW: 1, pad: 0 }), true, ["gemm", "gemm", "gemm"]],
  ["1x1 pad 1: the flipped padding would be negative", shape({ kernelH: 1, kernelW: 1, pad: 1 }), true, ["direct", "gemm", "gemm"]],
  ["3x3 stride 2", shape({ stride: 2 }), true, ["gemm", "col2im", "gemm"]],
  ["4x4 stride 2 pad 1", shape({ kernelH: 4, kernelW: 4, stride: 2 }), true, ["gemm", "col2im", "gemm"]],
];

describe("planConv", () => {
  for (const [what, s, winograd, want] of cases) {
    it(`${what}: ${want.join(", ")}`, async () => {
      const { e } = await backend(winograd);
      const d = convDims(s);
      const got = (["fwd", "bwd", "wgrad"] as const).map((pass) => planConv(e, d, pass, winograd));
      expect(got.map((p) => p.strategy)).toEqual(want);
      // workspace exactly where a strategy needs one
      for (const p of got) expect(p.bytes > 0).toBe(p.strategy !== "gemm");
    });
  }
});

describe("arena.conv2dScratch", () => {
  for (const [what, s, winograd] of cases) {
    it(`covers every pass (${what}, winograd ${winograd})`, async () => {
      const { e, k } = await backend(winograd);
      const d = convDims(s);
      const scratch = k.arena.conv2dScratch(s);
      k.arena.reserveScratch(scratch);
      const [x, w, y] = [d.N * d.Ci * d.H * d.W, d.Co * d.Ci * d.R * d.S, d.N * d.Co * d.Ho * d.Wo].map((n) => k.arena.alloc(n));
      // fill memory up to the reserve (plus its alignment slack), so a pass needing more would grow it
      const free = e.memory.buffer.byteLength - k.arena.mark() - 4 * scratch - 4 * 64;
      if (free >= 64) k.arena.alloc(Math.floor(free / 64) * 16);
      const [vx, vw, vy] = [x, w, y].map((b) => k.arena.view(b));
      vx.set(randn(vx.length, 1));
      vw.set(randn(vw.length, 2));
      vy.set(randn(vy.length, 3));
      k.conv2d(vx, vw, vy, s);
      k.conv2dBackwardInput(vy, vw, vx, s);
      k.conv2dBackwardWeight(vx, vy, vw, s);
      for (const v of [vx, vw, vy]) expect(v.length, "a view detached: the call grew memory").toBeGreaterThan(0);
      expect(vw.every(Number.isFinite)).toBe(true);
    });
  }
});
