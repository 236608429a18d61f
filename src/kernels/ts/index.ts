// The TypeScript backend: the reference kernels behind the shared argument checks (../checked.ts).
// Memory is plain Float32Arrays: a Buf owns its array, `view` returns it, every array is "resident", and
// mark/release keep a stack of live Bufs so the byte count matches the WASM arena's accounting (the
// garbage collector frees released arrays).

import { ArgumentError } from "../../validate.ts";
import { checked } from "../checked.ts";
import type { Buf, Kernels } from "../types.ts";
import * as ref from "./reference.ts";

class TsBuf implements Buf {
  constructor(readonly array: Float32Array) {}
  get length(): number {
    return this.array.length;
  }
}

export function createTsKernels(): Kernels {
  const live: TsBuf[] = [];
  let bytes = 0;
  return checked({
    backend: "ts",
    bitReproducible: true,
    winograd: false,
    alloc(length: number): Buf {
      const b = new TsBuf(new Float32Array(length));
      live.push(b);
      bytes += length * 4;
      return b;
    },
    view(buf: Buf): Float32Array {
      if (!(buf instanceof TsBuf)) throw new ArgumentError("buf", "is not a Buf of this backend");
      return buf.array;
    },
    mark: () => live.length,
    release(m: number): void {
      while (live.length > m) bytes -= live.pop()!.length * 4;
    },
    get bytesInUse() {
      return bytes;
    },
    isResident: () => true,
    reserveScratch: () => {},
    conv2dScratch: () => 0,
    gemm: (tA, tB, M, N, K, A, lda, B, ldb, C, ldc, acc = false) => ref.gemm(tA, tB, M, N, K, A, lda, B, ldb, C, ldc, acc),
    conv2d: ref.conv2d,
    conv2dBackwardInput: ref.conv2dBackwardInput,
    conv2dBackwardWeight: ref.conv2dBackwardWeight,
    biasAct: ref.biasAct,
    siluBackward: ref.siluBackward,
    sumChannels: (x, out, o, c, i, acc = false) => ref.sumChannels(x, out, o, c, i, acc),
    groupNorm: ref.groupNorm,
    groupNormBackward: ref.groupNormBackward,
    softmax: ref.softmax,
    softmaxBackward: ref.softmaxBackward,
    axpy: ref.axpy,
    axpby: ref.axpby,
    scale: ref.scale,
    mul: ref.mul,
    sum: ref.sum,
    dot: ref.dot,
    sqDist: ref.sqDist,
    adam: ref.adam,
  });
}
