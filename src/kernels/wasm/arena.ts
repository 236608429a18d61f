// The WASM backend's memory: the arena of Bufs, scratch above its top, and the staging of arrays that do
// not live in WASM memory.
//
//   0 ... static data | GEMM packing panels (~650 KB) | arena (Bufs) -> top | scratch ... | memory end
//                     ^ __heap_base (aligned)         ^ arena_base()
//
// - The WASM module owns no allocator (AssemblyScript `--runtime stub`, never called). Its only fixed
//   scratch, the GEMM packing panels, sits past the static data (assembly/blocking.ts); WASM kernels
//   never allocate.
// - The TS side owns a bump arena from arena_base(): `alloc(n)` returns a Buf {ptr, length} (64-byte
//   aligned, zero-filled), `mark()`/`release(m)` pop it like a stack. This suits the intended use:
//   parameters and optimiser state allocated once at the bottom, each training or sampling step's
//   activations above a mark that is released when the step ends. Memory grows (memory.grow, in pages,
//   at least doubling) when needed and never shrinks.
// - Scratch lives above the arena top only for the duration of one call: convolution workspaces (a
//   padded image copy, Winograd tiles; ./conv.ts) and copies of non-resident arrays. `reserveScratch(n)`
//   keeps n floats free there from then on (each alloc grows memory to preserve it), so calls whose
//   scratch fits never grow memory; `conv2dScratch(shape)` says how much a convolution needs.
// - A Buf is a handle, not a view: `view(buf)` builds a fresh Float32Array over memory.buffer. Growth
//   detaches every earlier view, so views are taken right before use, never kept across an alloc (nor
//   across a call that may grow memory, unless its scratch was reserved).
// - Kernels accept any Float32Array. One whose `.buffer === memory.buffer` is used in place (zero-copy:
//   its byteOffset is the pointer). Any other array is copied into scratch, the kernel runs, outputs are
//   copied back. All resident pointers are taken before any scratch is bumped, so a call stays correct
//   even when it grows memory.

import { ArgumentError } from "../../validate.ts";
import type { ArrayUse, ConvDims, Resolved } from "../args.ts";
import type { RawArena } from "../checked.ts";
import type { Buf } from "../types.ts";

const PAGE = 65536;
const ALIGN = 64;

class WasmBuf implements Buf {
  constructor(
    readonly owner: object,
    readonly ptr: number,
    readonly length: number,
  ) {}
}

export interface WasmMemory {
  /** The arena API (checked by ../checked.ts). */
  readonly arena: RawArena;
  /**
   * Run `run` on pointers to `arrays`: resident ones in place, the others copied into scratch above the
   * arena top (outputs, per `uses`, copied back); the scratch is released afterwards.
   */
  stage<T>(arrays: readonly Float32Array[], uses: readonly ArrayUse[], a: Resolved, run: (ptrs: readonly number[]) => T): T;
  /** Run `run` with `bytes` of temporary workspace above the arena top (released afterwards). */
  withWorkspace(bytes: number, run: (ws: number) => void): void;
}

/**
 * The memory of one instance: `base` is arena_base(); `convWorkspace(d)` the most workspace bytes a
 * convolution of `d` takes (./conv.ts).
 */
export function wasmMemory(mem: WebAssembly.Memory, base: number, convWorkspace: (d: ConvDims) => number): WasmMemory {
  let top = base; // arena top (bytes)
  let reserved = 0; // scratch bytes kept free above the arena top (reserveScratch)
  const owner = {};

  function ensure(end: number): void {
    const have = mem.buffer.byteLength;
    if (end <= have) return;
    const want = Math.max(end, have * 2);
    mem.grow(Math.ceil((want - have) / PAGE));
  }
  ensure(base);

  /** Move the top up by `bytes`; `keep`: also keep the reserved scratch free above it (alloc). */
  function bump(bytes: number, keep = false): number {
    const p = top;
    top = (top + bytes + ALIGN - 1) & ~(ALIGN - 1);
    ensure(keep ? top + reserved : top);
    return p;
  }

  const arena: RawArena = {
    alloc(length: number): Buf {
      const p = bump(length * 4, true);
      new Uint8Array(mem.buffer, p, length * 4).fill(0);
      return new WasmBuf(owner, p, length);
    },
    view(buf: Buf): Float32Array {
      if (!(buf instanceof WasmBuf) || buf.owner !== owner) throw new ArgumentError("buf", "is not a Buf of this backend");
      if (buf.ptr + buf.length * 4 > top) throw new ArgumentError("buf", "was released (its arena span was freed)");
      return new Float32Array(mem.buffer, buf.ptr, buf.length);
    },
    mark: () => top,
    release(m: number): void {
      if (m < base || m > top) throw new ArgumentError("m", `is not a mark of this arena (${base}..${top}), got ${m}`);
      top = m;
    },
    get bytesInUse() {
      return top - base;
    },
    isResident: (a) => a.buffer === mem.buffer,
    reserveScratch(floats: number): void {
      reserved = Math.max(reserved, floats * 4 + 4 * ALIGN);
      ensure(top + reserved);
    },
    conv2dScratch: (d) => Math.ceil(convWorkspace(d) / 4) + ALIGN,
  };

  const ptrs: number[] = [];
  function stage<T>(arrays: readonly Float32Array[], uses: readonly ArrayUse[], a: Resolved, run: (ptrs: readonly number[]) => T): T {
    const mb = mem.buffer;
    const mark = top;
    ptrs.length = arrays.length;
    for (let i = 0; i < arrays.length; i++) ptrs[i] = arrays[i].buffer === mb ? arrays[i].byteOffset : -1;
    for (let i = 0; i < arrays.length; i++) if (ptrs[i] < 0) ptrs[i] = bump(arrays[i].length * 4);
    try {
      for (let i = 0; i < arrays.length; i++) {
        const use = uses[i];
        // an output the kernel overwrites in full is not copied in
        const overwritten = use.role === "writes" && arrays[i].length === use.overwrites!(a);
        if (arrays[i].buffer !== mb && !overwritten) new Float32Array(mem.buffer, ptrs[i], arrays[i].length).set(arrays[i]);
      }
      const p = ptrs.slice();
      const r = run(p);
      for (let i = 0; i < arrays.length; i++) {
        if (uses[i].role !== "in" && arrays[i].buffer !== mb) arrays[i].set(new Float32Array(mem.buffer, p[i], arrays[i].length));
      }
      return r;
    } finally {
      top = mark;
    }
  }

  function withWorkspace(bytes: number, run: (ws: number) => void): void {
    const mark = top;
    try {
      run(bump(bytes));
    } finally {
      top = mark;
    }
  }

  return { arena, stage, withWorkspace };
}
