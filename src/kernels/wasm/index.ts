// The WASM SIMD backend: TS does shapes, WASM does arithmetic (the tfjs-backend-wasm split). Every kernel
// is its table entry's WASM call (../table.ts) behind the shared checked front (../checked.ts): per call,
// one `buffer ===` test per array, then the call on the arrays' pointers when all are resident in WASM
// memory, else through staging (./arena.ts). Convolutions pick their strategy in ./conv.ts.

import type { ArrayUse } from "../args.ts";
import { checkedKernels, type KernelImpl } from "../checked.ts";
import type { KernelSpec } from "../table.ts";
import type { BackendName, KernelsWithArena } from "../types.ts";
import type { Exports, WasmCall } from "./abi.ts";
import { wasmMemory } from "./arena.ts";
import { convWorkspace, planConv, runConv } from "./conv.ts";

export type { Exports } from "./abi.ts";
export { usesWinograd } from "./conv.ts";

export interface WasmKernelOptions {
  /**
   * Run 3x3 stride-1 pad-1 convolutions (forward, input and weight gradients) with Winograd F(2x2, 3x3)
   * when both channel counts are ≥ 8 (default true): ≈ 1.8x faster, a few ulps different from direct.
   */
  winograd?: boolean;
}

export function createWasmKernels(exports: WebAssembly.Exports, backend: BackendName = "wasm", options: WasmKernelOptions = {}): KernelsWithArena {
  const winograd = options.winograd ?? true;
  const e = exports as unknown as Exports;
  const mem = e.memory;
  const memory = wasmMemory(mem, e.arena_base() >>> 0, (d) => convWorkspace(e, d, winograd));

  const call: WasmCall = {
    conv(pass, a, b, c, d, accumulate) {
      const plan = planConv(e, d, pass, winograd);
      if (plan.bytes === 0) runConv(e, plan, pass, a, b, c, d, accumulate, 0);
      else memory.withWorkspace(plan.bytes, (ws) => runConv(e, plan, pass, a, b, c, d, accumulate, ws));
    },
  };

  function impl(_name: string, spec: KernelSpec): KernelImpl {
    const at: number[] = [];
    const names: string[] = [];
    const uses: ArrayUse[] = [];
    spec.args.forEach((arg, i) => {
      if (!arg.array) return;
      at.push(i);
      names.push(arg.name);
      uses.push(arg.array);
    });
    // the pointers by name: one object per kernel, shaped once, reused (kernel calls do not nest)
    const p: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
    return (values, a) => {
      const mb = mem.buffer;
      let resident = true;
      for (let j = 0; j < at.length; j++) {
        const v = values[at[j]] as Float32Array;
        resident &&= v.buffer === mb;
        p[names[j]] = v.byteOffset;
      }
      if (resident) return spec.wasm(e, a, p, call);
      const arrays = at.map((i) => values[i] as Float32Array);
      return memory.stage(arrays, uses, a, (ptrs) => {
        for (let j = 0; j < ptrs.length; j++) p[names[j]] = ptrs[j];
        return spec.wasm(e, a, p, call);
      });
    };
  }

  return checkedKernels({ backend, bitReproducible: backend !== "wasm-relaxed", winograd }, memory.arena, impl);
}
