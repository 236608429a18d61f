// The WASM SIMD backend: TS does shapes, WASM does arithmetic (the tfjs-backend-wasm split).
//
// Memory design
// -------------
//   0 ... static data | GEMM packing panels (~650 KB) | arena (Bufs) -> top | scratch ... | memory end
//                     ^ __heap_base (aligned)         ^ arena_base()
//
// - The WASM module owns no allocator (AssemblyScript `--runtime stub`, never called). Its only fixed
//   scratch, the GEMM packing panels, sits past the static data; WASM kernels never allocate.
// - The TS side owns a bump arena from arena_base(): `alloc(n)` returns a Buf {ptr, length} (64-byte
//   aligned, zero-filled), `mark()`/`release(m)` pop it like a stack. This suits the intended use:
//   parameters and optimiser state allocated once at the bottom, each training or sampling step's
//   activations above a mark that is released when the step ends. Memory grows (memory.grow, in pages,
//   at least doubling) when needed and never shrinks.
// - Scratch lives above the arena top only for the duration of one call: stride-1 convolution
//   workspaces (a padded image copy, Winograd tiles) and copies of non-resident arrays. `reserveScratch(n)`
//   keeps n floats free there from then on (each alloc grows memory to preserve it), so calls whose
//   scratch fits never grow memory; `conv2dScratch(shape)` says how much a convolution needs.
// - A Buf is a handle, not a view: `view(buf)` builds a fresh Float32Array over memory.buffer. Growth
//   detaches every earlier view, so views are taken right before use, never kept across an alloc (nor
//   across a call that may grow memory, unless its scratch was reserved).
// - Kernels accept any Float32Array. One whose `.buffer === memory.buffer` is used in place (zero-copy:
//   its byteOffset is the pointer). Any other array is copied into scratch, the kernel runs, outputs are
//   copied back. All resident pointers are taken before any scratch is bumped, so a call stays correct
//   even when it grows memory.
// - Exported signatures come from the compiler's generated bindings (build/kernels.d.ts, `asc --bindings
//   raw`): the type `Exports` below is derived from them, so there is one source of truth.
//
// Per call: argument checks (../checked.ts), one `buffer ===` test per array, one WASM call; no objects
// are allocated on the resident path.

import type { instantiate } from "../../../build/kernels.js";
import { ArgumentError } from "../../validate.ts";
import { checked } from "../checked.ts";
import type { ConvDims } from "../check.ts";
import type { Activation, AdamStep, BackendName, Buf, Kernels } from "../types.ts";

/** The module's exports, typed by the compiler-generated bindings. */
export type Exports = Awaited<ReturnType<typeof instantiate>>;

const PAGE = 65536;
const ALIGN = 64;

class WasmBuf implements Buf {
  constructor(
    readonly owner: object,
    readonly ptr: number,
    readonly length: number,
  ) {}
}

export interface WasmKernelOptions {
  /**
   * Run 3x3 stride-1 pad-1 convolutions (forward, input and weight gradients) with Winograd F(2x2, 3x3)
   * when both channel counts are ≥ 8 (default true): ≈ 1.8x faster, a few ulps different from direct.
   */
  winograd?: boolean;
}

/** Whether a convolution pass runs as Winograd F(2x2, 3x3) (see WasmKernelOptions.winograd). */
export function usesWinograd(d: ConvDims, pass: "fwd" | "bwd" | "wgrad"): boolean {
  void pass; // the same condition for all three passes
  return d.R === 3 && d.S === 3 && d.st === 1 && d.pad === 1 && d.Ci >= 8 && d.Co >= 8;
}

export function createWasmKernels(exports: WebAssembly.Exports, backend: BackendName = "wasm", options: WasmKernelOptions = {}): Kernels {
  const winograd = options.winograd ?? true;
  const e = exports as unknown as Exports;
  const mem = e.memory;
  const base = e.arena_base() >>> 0;
  let top = base; // arena top (bytes)
  const owner = {};

  function ensure(end: number): void {
    const have = mem.buffer.byteLength;
    if (end <= have) return;
    const want = Math.max(end, have * 2);
    mem.grow(Math.ceil((want - have) / PAGE));
  }
  ensure(base);

  let reserved = 0; // scratch bytes kept free above the arena top (reserveScratch)
  /** Move the top up by `bytes`; `keep`: also keep the reserved scratch free above it (alloc). */
  function bump(bytes: number, keep = false): number {
    const p = top;
    top = (top + bytes + ALIGN - 1) & ~(ALIGN - 1);
    ensure(keep ? top + reserved : top);
    return p;
  }

  // ---- staging of non-resident arrays -------------------------------------------------------------
  // ptrs[i] for arrays[i]; outputs (bit i of outMask) are copied back after the call; write-only outputs
  // (bit i of writeOnly: overwritten, never read) are not copied in.
  const ptrs: number[] = [];
  function stage<T>(arrays: Float32Array[], outMask: number, run: (p: number[]) => T, writeOnly = 0): T {
    const mb = mem.buffer;
    const mark = top;
    ptrs.length = arrays.length;
    for (let i = 0; i < arrays.length; i++) ptrs[i] = arrays[i].buffer === mb ? arrays[i].byteOffset : -1;
    for (let i = 0; i < arrays.length; i++) if (ptrs[i] < 0) ptrs[i] = bump(arrays[i].length * 4);
    try {
      for (let i = 0; i < arrays.length; i++) {
        if (arrays[i].buffer !== mb && !((writeOnly >> i) & 1)) new Float32Array(mem.buffer, ptrs[i], arrays[i].length).set(arrays[i]);
      }
      const p = ptrs.slice();
      const r = run(p);
      for (let i = 0; i < arrays.length; i++) {
        if ((outMask >> i) & 1 && arrays[i].buffer !== mb) arrays[i].set(new Float32Array(mem.buffer, p[i], arrays[i].length));
      }
      return r;
    } finally {
      top = mark;
    }
  }
  /** `bit` when `arr` is exactly the `written` floats a kernel overwrites (so staging may skip its copy-in). */
  const wo = (arr: Float32Array, written: number, bit: number): number => (arr.length === written ? bit : 0);
  /** True when every array is a view of the current memory (the zero-copy path). */
  function res2(a: Float32Array, b: Float32Array): boolean {
    const mb = mem.buffer;
    return a.buffer === mb && b.buffer === mb;
  }
  function res3(a: Float32Array, b: Float32Array, c: Float32Array): boolean {
    const mb = mem.buffer;
    return a.buffer === mb && b.buffer === mb && c.buffer === mb;
  }

  /** Run `run` with `bytes` of temporary workspace above the arena top (released afterwards). */
  function withWorkspace(bytes: number, run: (ws: number) => void): void {
    const mark = top;
    try {
      run(bump(bytes));
    } finally {
      top = mark;
    }
  }

  type ConvFn = (a: number, b: number, c: number, N: number, Ci: number, H: number, W: number, Co: number, R: number, S: number, st: number, pad: number, Ho: number, Wo: number, acc: number) => void;
  /**
   * Convolution passes. 3x3 stride-1 pad-1 passes with ≥ 8 channels run Winograd F(2x2, 3x3)
   * (assembly/winograd.ts); other stride-1 forward and input-gradient ones (but 1x1) the direct kernel,
   * which reads the taps of a zero-padded copy of the image; strided input gradients a GEMM into a
   * column matrix and col2im; the rest the GEMM driver with im2col packing. All but the last take scratch
   * above the arena top; pointers are taken before it is bumped.
   */
  function conv(fn: ConvFn, direct: "fwd" | "bwd" | "wgrad") {
    return (a: Float32Array, b: Float32Array, c: Float32Array, d: ConvDims, accumulate: boolean): void => {
      const acc = accumulate ? 1 : 0;
      if (direct === "wgrad") {
        // a = x, b = dy, c = dw: Winograd when it applies, else GEMM with im2col(x)ᵀ packing
        const call = (pa: number, pb: number, pc: number) => {
          if (winograd && usesWinograd(d, "wgrad")) {
            const bytes = e.conv3x3_wino_bwd_w_ws_bytes(d.N, d.Ci, d.H, d.W, d.Co) >>> 0;
            withWorkspace(bytes, (ws) => e.conv3x3_wino_bwd_w_f32(pa, pb, pc, d.N, d.Ci, d.H, d.W, d.Co, acc, ws));
          } else fn(pa, pb, pc, d.N, d.Ci, d.H, d.W, d.Co, d.R, d.S, d.st, d.pad, d.Ho, d.Wo, acc);
        };
        if (res3(a, b, c)) call(a.byteOffset, b.byteOffset, c.byteOffset);
        else stage([a, b, c], 4, (p) => call(p[0], p[1], p[2]), accumulate ? 0 : wo(c, d.Co * d.Ci * d.R * d.S, 4));
        return;
      }
      const pointwise = d.R === 1 && d.S === 1 && d.pad === 0;
      const useDirect = d.st === 1 && !pointwise && (direct === "fwd" || (d.pad <= d.R - 1 && d.pad <= d.S - 1));
      const wino = winograd && usesWinograd(d, direct);
      const call = (pa: number, pb: number, pc: number) => {
        if (wino) {
          // fwd: x [Ci] -> y [Co]; bwd: dy [Co] -> dx [Ci] with w used transposed and rotated
          const [Cs, Cd] = direct === "fwd" ? [d.Ci, d.Co] : [d.Co, d.Ci];
          const bytes = e.conv3x3_wino_ws_bytes(d.N, Cs, d.H, d.W, Cd) >>> 0;
          withWorkspace(bytes, (ws) => e.conv3x3_wino_f32(pa, pb, pc, d.N, Cs, d.H, d.W, Cd, acc, direct === "fwd" ? 0 : 1, ws));
          return;
        }
        if (!useDirect && direct === "bwd" && d.st > 1) {
          // strided input gradient: GEMM into a column matrix, then col2im (gathering dy is slow)
          const bytes = e.conv2d_col2im_ws_bytes(d.Ci, d.R, d.S, d.Ho, d.Wo) >>> 0;
          withWorkspace(bytes, (ws) =>
            e.conv2d_bwd_input_col2im_f32(pa, pb, pc, d.N, d.Ci, d.H, d.W, d.Co, d.R, d.S, d.st, d.pad, d.Ho, d.Wo, acc, ws),
          );
          return;
        }
        if (!useDirect) {
          fn(pa, pb, pc, d.N, d.Ci, d.H, d.W, d.Co, d.R, d.S, d.st, d.pad, d.Ho, d.Wo, acc);
          return;
        }
        // fwd: src = x [Ci, H, W] -> y [Co, Ho, Wo]; bwd: src = dy [Co, Ho, Wo] -> dx [Ci, H, W], flipped taps
        const fwd = direct === "fwd";
        const [Cs, Hs, Ws, Cd] = fwd ? [d.Ci, d.H, d.W, d.Co] : [d.Co, d.Ho, d.Wo, d.Ci];
        const padH = fwd ? d.pad : d.R - 1 - d.pad;
        const padW = fwd ? d.pad : d.S - 1 - d.pad;
        const bytes = e.conv2d_direct_ws_bytes(Cs, Hs, Ws, Cd, d.R, d.S, padH, padW) >>> 0;
        withWorkspace(bytes, (ws) => e.conv2d_direct_f32(pa, pb, pc, d.N, Cs, Hs, Ws, Cd, d.R, d.S, padH, padW, acc, fwd ? 0 : 1, ws));
      };
      if (res3(a, b, c)) call(a.byteOffset, b.byteOffset, c.byteOffset);
      else stage([a, b, c], 4, (p) => call(p[0], p[1], p[2]), accumulate ? 0 : wo(c, direct === "fwd" ? d.N * d.Co * d.Ho * d.Wo : d.N * d.Ci * d.H * d.W, 4));
    };
  }

  return checked({
    backend,
    bitReproducible: backend !== "wasm-relaxed",
    winograd,
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
    conv2dScratch(d: ConvDims): number {
      let bytes = 0;
      if (winograd && usesWinograd(d, "wgrad")) bytes = e.conv3x3_wino_bwd_w_ws_bytes(d.N, d.Ci, d.H, d.W, d.Co) >>> 0;
      for (const pass of ["fwd", "bwd"] as const) {
        const [Cs, Hs, Ws, Cd] = pass === "fwd" ? [d.Ci, d.H, d.W, d.Co] : [d.Co, d.Ho, d.Wo, d.Ci];
        if (winograd && usesWinograd(d, pass)) bytes = Math.max(bytes, e.conv3x3_wino_ws_bytes(d.N, Cs, d.H, d.W, Cd) >>> 0);
        else if (d.st === 1) {
          const padH = pass === "fwd" ? d.pad : d.R - 1 - d.pad;
          const padW = pass === "fwd" ? d.pad : d.S - 1 - d.pad;
          if (padH >= 0 && padW >= 0) bytes = Math.max(bytes, e.conv2d_direct_ws_bytes(Cs, Hs, Ws, Cd, d.R, d.S, padH, padW) >>> 0);
        } else if (pass === "bwd") bytes = Math.max(bytes, e.conv2d_col2im_ws_bytes(d.Ci, d.R, d.S, d.Ho, d.Wo) >>> 0);
      }
      return Math.ceil(bytes / 4) + ALIGN;
    },

    gemm(tA, tB, M, N, K, A, lda, B, ldb, C, ldc, acc = false) {
      if (res3(A, B, C)) e.gemm_f32(+tA, +tB, M, N, K, A.byteOffset, lda, B.byteOffset, ldb, C.byteOffset, ldc, +acc);
      else stage([A, B, C], 4, (p) => e.gemm_f32(+tA, +tB, M, N, K, p[0], lda, p[1], ldb, p[2], ldc, +acc), acc || ldc !== N ? 0 : wo(C, M * N, 4));
    },
    conv2d: conv(e.conv2d_f32, "fwd"),
    conv2dBackwardInput: conv(e.conv2d_bwd_input_f32, "bwd"),
    conv2dBackwardWeight: conv(e.conv2d_bwd_weight_f32, "wgrad"),

    biasAct(x, bias, y, outer, C, inner, act: Activation) {
      const a = act === "silu" ? 1 : 0;
      if (res3(x, bias, y)) e.bias_act_f32(x.byteOffset, bias.byteOffset, y.byteOffset, outer, C, inner, a);
      else stage([x, bias, y], 4, (p) => e.bias_act_f32(p[0], p[1], p[2], outer, C, inner, a), wo(y, outer * C * inner, 4));
    },
    siluBackward(x, dy, dx) {
      if (res3(x, dy, dx)) e.silu_bwd_f32(x.length, x.byteOffset, dy.byteOffset, dx.byteOffset);
      else stage([x, dy, dx], 4, (p) => e.silu_bwd_f32(x.length, p[0], p[1], p[2]), 4);
    },
    sumChannels(x, out, outer, C, inner, acc = false) {
      if (res2(x, out)) e.sum_channels_f32(x.byteOffset, out.byteOffset, outer, C, inner, +acc);
      else stage([x, out], 2, (p) => e.sum_channels_f32(p[0], p[1], outer, C, inner, +acc), acc ? 0 : wo(out, C, 2));
    },
    groupNorm(x, gamma, beta, y, mean, rstd, N, C, HW, G, eps) {
      stage([x, gamma, beta, y, mean, rstd], 8 | 16 | 32, (p) => e.groupnorm_f32(p[0], p[1], p[2], p[3], p[4], p[5], N, C, HW, G, eps),
        wo(y, N * C * HW, 8) | wo(mean, N * G, 16) | wo(rstd, N * G, 32),
      );
    },
    groupNormBackward(x, dy, gamma, mean, rstd, dx, dgamma, dbeta, N, C, HW, G) {
      stage([x, dy, gamma, mean, rstd, dx, dgamma, dbeta], 32 | 64 | 128, (p) =>
        e.groupnorm_bwd_f32(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], N, C, HW, G),
        wo(dx, N * C * HW, 32) | wo(dgamma, C, 64) | wo(dbeta, C, 128),
      );
    },
    softmax(x, y, rows, cols) {
      if (res2(x, y)) e.softmax_f32(x.byteOffset, y.byteOffset, rows, cols);
      else stage([x, y], 2, (p) => e.softmax_f32(p[0], p[1], rows, cols), wo(y, rows * cols, 2));
    },
    softmaxBackward(y, dy, dx, rows, cols) {
      if (res3(y, dy, dx)) e.softmax_bwd_f32(y.byteOffset, dy.byteOffset, dx.byteOffset, rows, cols);
      else stage([y, dy, dx], 4, (p) => e.softmax_bwd_f32(p[0], p[1], p[2], rows, cols), wo(dx, rows * cols, 4));
    },
    axpy(a, x, y) {
      if (res2(x, y)) e.axpy_f32(y.length, a, x.byteOffset, y.byteOffset);
      else stage([x, y], 2, (p) => e.axpy_f32(y.length, a, p[0], p[1]));
    },
    axpby(a, x, b, y, out) {
      if (res3(x, y, out)) e.axpby_f32(out.length, a, x.byteOffset, b, y.byteOffset, out.byteOffset);
      else stage([x, y, out], 4, (p) => e.axpby_f32(out.length, a, p[0], b, p[1], p[2]), 4);
    },
    scale(a, x, out) {
      if (res2(x, out)) e.scale_f32(out.length, a, x.byteOffset, out.byteOffset);
      else stage([x, out], 2, (p) => e.scale_f32(out.length, a, p[0], p[1]), 2);
    },
    mul(x, y, out) {
      if (res3(x, y, out)) e.mul_f32(out.length, x.byteOffset, y.byteOffset, out.byteOffset);
      else stage([x, y, out], 4, (p) => e.mul_f32(out.length, p[0], p[1], p[2]), 4);
    },
    sum: (x) => (x.buffer === mem.buffer ? e.sum_f32(x.length, x.byteOffset) : stage([x], 0, (p) => e.sum_f32(x.length, p[0]))),
    dot: (x, y) => (res2(x, y) ? e.dot_f32(x.length, x.byteOffset, y.byteOffset) : stage([x, y], 0, (p) => e.dot_f32(x.length, p[0], p[1]))),
    sqDist: (x, y) =>
      res2(x, y) ? e.sqdist_f32(x.length, x.byteOffset, y.byteOffset) : stage([x, y], 0, (p) => e.sqdist_f32(x.length, p[0], p[1])),
    adam(param, grad, m, v, o: AdamStep) {
      const bc1 = 1 - o.beta1 ** o.step;
      const bc2 = 1 - o.beta2 ** o.step;
      stage([param, grad, m, v], 1 | 4 | 8, (p) =>
        e.adam_f32(param.length, p[0], p[1], p[2], p[3], o.lr, o.beta1, o.beta2, 1 - o.beta1, 1 - o.beta2, o.eps, o.weightDecay, bc1, bc2),
      );
    },
  });
}
