// The kernel table (src/kernels/table.ts) as the one description of the kernels: both backends are
// derived from it (every entry a method, nothing else in the core interface: the arena is an
// extension), checks run sizes first and then arrays in signature order, and a table that names an
// argument wrongly fails loudly instead of skipping the check.
import { describe, expect, it } from "vitest";
import { f32, size } from "../../src/kernels/args.ts";
import { createTsKernels, initKernels, type KernelsWithArena } from "../../src/kernels/index.ts";
import { KERNELS } from "../../src/kernels/table.ts";
import { ArgumentError } from "../../src/validate.ts";

const ARENA = ["alloc", "view", "mark", "release", "bytesInUse", "isResident", "reserveScratch", "conv2dScratch"];

async function backends(): Promise<KernelsWithArena[]> {
  return [createTsKernels(), await initKernels({ backend: "wasm" })];
}

describe("backends derived from the table", () => {
  it("have one method per table entry, the three facts about the backend, and the arena apart", async () => {
    for (const k of await backends()) {
      const own = Object.keys(k).sort();
      expect(own, k.backend).toEqual([...Object.keys(KERNELS), "arena", "backend", "bitReproducible", "winograd"].sort());
      for (const name of Object.keys(KERNELS)) expect(typeof (k as unknown as Record<string, unknown>)[name], name).toBe("function");
      for (const member of ARENA) expect(member in k.arena, member).toBe(true);
    }
  });

  it("check sizes and scalars before arrays, then arrays in signature order", async () => {
    const short = new Float32Array(1);
    const cases: Array<[string, (k: KernelsWithArena) => void, string]> = [
      // both M and A are bad: M (a size) is reported although A comes first in the signature
      ["gemm", (k) => k.gemm(false, false, -1, 2, 2, short, 2, new Float32Array(4), 2, new Float32Array(4), 2), "M"],
      // both dy and dx are short: dy comes first
      ["conv2dBackwardInput", (k) => k.conv2dBackwardInput(short, new Float32Array(9), short, { batch: 1, inChannels: 1, height: 3, width: 3, outChannels: 1, kernelH: 3, kernelW: 3, stride: 1, pad: 1 }), "dy"],
      // adam's options come last in the signature and are checked first
      ["adam", (k) => k.adam(short, new Float32Array(2), short, short, { lr: NaN, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, step: 1 }), "opts.lr"],
      ["groupNorm eps", (k) => k.groupNorm(short, short, short, short, short, short, 1, 2, 2, 1, NaN), "eps"],
    ];
    for (const k of await backends()) {
      for (const [what, call, arg] of cases) {
        let err: unknown;
        try {
          call(k);
        } catch (e) {
          err = e;
        }
        expect(err, `${k.backend} ${what}`).toBeInstanceOf(ArgumentError);
        expect((err as ArgumentError).arg, `${k.backend} ${what}`).toBe(arg);
      }
    }
  });
});

describe("argument descriptors", () => {
  it("fail loudly when a table entry names an argument that is not there", () => {
    expect(() => size("lda", (a) => a.Kk).resolve(3, { K: 3 })).toThrow(/kernel table: the minimum of lda/);
    expect(() => f32("y", { length: "xx" }).resolve(new Float32Array(2), { x: new Float32Array(2) })).toThrow(/kernel table: the length of xx/);
    expect(() => f32("y", { length: (a) => a.rows * a.colz }).resolve(new Float32Array(2), { rows: 1, cols: 2 })).toThrow(/kernel table/);
  });

  it("default an omitted accumulate to overwriting, on both backends", async () => {
    for (const k of await backends()) {
      const C = new Float32Array([5]);
      k.gemm(false, false, 1, 1, 1, new Float32Array([2]), 1, new Float32Array([3]), 1, C, 1);
      expect([...C], k.backend).toEqual([6]);
      k.gemm(false, false, 1, 1, 1, new Float32Array([2]), 1, new Float32Array([3]), 1, C, 1, true);
      expect([...C], k.backend).toEqual([12]);
    }
  });
});
