// The TypeScript backend: the reference kernels (./reference.ts, one function per table entry, named
// like it) behind the shared checked front (../checked.ts). Memory is plain Float32Arrays: a Buf owns its
// array, `view` returns it, every array is "resident", and mark/release keep a stack of live Bufs so the
// byte count matches the WASM arena's accounting (the garbage collector frees released arrays).

import { ArgumentError } from "../../validate.ts";
import { checkedKernels, type RawArena } from "../checked.ts";
import type { ResolvedKernels } from "../table.ts";
import type { Buf, KernelsWithArena } from "../types.ts";
import * as ref from "./reference.ts";

/** Every kernel of the table has its reference function, taking the resolved arguments. */
const REFERENCE: ResolvedKernels = ref;

class TsBuf implements Buf {
  constructor(readonly array: Float32Array) {}
  get length(): number {
    return this.array.length;
  }
}

function tsArena(): RawArena {
  const live: TsBuf[] = [];
  let bytes = 0;
  return {
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
  };
}

export function createTsKernels(): KernelsWithArena {
  return checkedKernels({ backend: "ts", bitReproducible: true, winograd: false }, tsArena(), (name) => {
    const f = REFERENCE[name] as (...values: unknown[]) => unknown;
    return (values) => f(...values);
  });
}
