// The checked front every backend shares, derived from the kernel table: each method checks and resolves
// its arguments per the table (sizes and scalars first, then arrays, each in signature order), so every
// backend rejects exactly the same inputs with the same ArgumentError before any arithmetic, and then
// hands the resolved arguments to the backend. Also the arena's checks.

import { convDims, size, type ConvDims, type Resolved } from "./args.ts";
import { KERNELS, type KernelName, type KernelSpec } from "./table.ts";
import type { Arena, BackendName, Buf, Conv2dShape, KernelsWithArena } from "./types.ts";

/**
 * A backend's implementation of one kernel, on resolved arguments: `values` in call order (what
 * ./ts/reference.ts takes), `a` the same by name (what the table's WASM calls take).
 */
export type KernelImpl = (values: unknown[], a: Resolved) => unknown;

/** A backend's arena with the arguments already checked (conv2dScratch gets checked dimensions). */
export type RawArena = Omit<Arena, "conv2dScratch"> & { conv2dScratch(d: ConvDims): number };

export interface BackendInfo {
  readonly backend: BackendName;
  readonly bitReproducible: boolean;
  readonly winograd: boolean;
}

function checkedMethod(spec: KernelSpec, run: KernelImpl): (...values: unknown[]) => unknown {
  const scalars: number[] = [];
  const arrays: number[] = [];
  spec.args.forEach((arg, i) => (arg.array ? arrays : scalars).push(i));
  const resolvers = spec.args.map((arg) => arg.resolve as (v: unknown, a: Resolved) => unknown);
  const names = spec.args.map((arg) => arg.name);
  // The arguments by name: one object per kernel, shaped once and refilled per call (a fresh record per
  // call, or getters over `values`, cost more); kernel calls do not nest.
  const a: Record<string, unknown> = Object.fromEntries(names.map((n) => [n, undefined]));
  return (...values) => {
    for (let j = 0; j < scalars.length; j++) {
      const i = scalars[j];
      a[names[i]] = values[i] = resolvers[i](values[i], a);
    }
    for (let j = 0; j < arrays.length; j++) {
      const i = arrays[j];
      a[names[i]] = resolvers[i](values[i], a);
    }
    const result = run(values, a);
    for (let j = 0; j < arrays.length; j++) a[names[arrays[j]]] = undefined; // keep no caller's array alive
    return result;
  };
}

/** A backend from its info, memory and one implementation per kernel of the table. */
export function checkedKernels(info: BackendInfo, arena: RawArena, impl: (name: KernelName, spec: KernelSpec) => KernelImpl): KernelsWithArena {
  const k: Record<string, unknown> = { ...info, arena: checkedArena(arena) };
  for (const name of Object.keys(KERNELS) as KernelName[]) {
    const spec: KernelSpec = KERNELS[name];
    k[name] = checkedMethod(spec, impl(name, spec));
  }
  return k as unknown as KernelsWithArena;
}

function checkedArena(raw: RawArena): Arena {
  const length = size("length");
  const mark = size("m");
  const floats = size("floats");
  return {
    alloc: (n: number): Buf => raw.alloc(length.resolve(n, {})),
    view: (buf) => raw.view(buf),
    mark: () => raw.mark(),
    release: (m) => raw.release(mark.resolve(m, {})),
    get bytesInUse() {
      return raw.bytesInUse;
    },
    isResident: (arr) => raw.isResident(arr),
    reserveScratch: (n) => raw.reserveScratch(floats.resolve(n, {})),
    conv2dScratch: (shape: Conv2dShape) => raw.conv2dScratch(convDims(shape)),
  };
}
