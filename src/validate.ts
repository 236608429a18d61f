// Argument checks at the public boundary. Every message names the argument, shows the value and the
// allowed range, so a user can fix the call without reading our source.

/** Thrown for a bad argument to a public function; `arg` names the argument. */
export class ArgumentError extends RangeError {
  readonly arg: string;
  constructor(arg: string, message: string) {
    super(`${arg}: ${message}`);
    this.name = "ArgumentError";
    this.arg = arg;
  }
}

function show(v: unknown): string {
  if (typeof v === "number") return Number.isNaN(v) ? "NaN" : String(v);
  if (typeof v === "string") return JSON.stringify(v);
  if (v === null || v === undefined) return String(v);
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as unknown as ArrayLike<number>).length})`;
  return typeof v;
}

/** A finite number. */
export function finite(arg: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new ArgumentError(arg, `must be a finite number, got ${show(v)}`);
  }
  return v;
}

/**
 * A number in an interval. `lo`/`hi` bound it; `open` says which ends are excluded:
 * "()" open, "[]" closed, "(]" and "[)" half-open.
 */
export function inRange(
  arg: string,
  v: unknown,
  lo: number,
  hi: number,
  ends: "()" | "[]" | "(]" | "[)" = "[]",
): number {
  const x = finite(arg, v);
  const loOk = ends[0] === "[" ? x >= lo : x > lo;
  const hiOk = ends[1] === "]" ? x <= hi : x < hi;
  if (!loOk || !hiOk) {
    throw new ArgumentError(arg, `must be in ${ends[0]}${lo}, ${hi}${ends[1]}, got ${show(v)}`);
  }
  return x;
}

/** A number > 0. */
export function positive(arg: string, v: unknown): number {
  const x = finite(arg, v);
  if (!(x > 0)) throw new ArgumentError(arg, `must be > 0, got ${show(v)}`);
  return x;
}

/** An integer in [lo, hi]. */
export function int(arg: string, v: unknown, lo: number, hi: number = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== "number" || !Number.isInteger(v)) {
    throw new ArgumentError(arg, `must be an integer in [${lo}, ${hi}], got ${show(v)}`);
  }
  if (v < lo || v > hi) throw new ArgumentError(arg, `must be an integer in [${lo}, ${hi}], got ${show(v)}`);
  return v;
}

/** One of a fixed set of strings. */
export function oneOf<T extends string>(arg: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== "string" || !(allowed as readonly string[]).includes(v)) {
    throw new ArgumentError(arg, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}, got ${show(v)}`);
  }
  return v as T;
}

/** A Float32Array (the tensor storage type of the library). */
export function f32(arg: string, v: unknown): Float32Array {
  if (!(v instanceof Float32Array)) throw new ArgumentError(arg, `must be a Float32Array, got ${show(v)}`);
  return v;
}

/** Two arrays of equal length. */
export function sameLength(argA: string, a: ArrayLike<number>, argB: string, b: ArrayLike<number>): void {
  if (a.length !== b.length) {
    throw new ArgumentError(argB, `must have the length of ${argA} (${a.length}), got ${b.length}`);
  }
}

/**
 * The number of items in a batch stored flat in `data`, given `batch`: data.length must be a positive
 * multiple of batch. Returns the per-item size.
 */
export function itemSize(arg: string, data: ArrayLike<number>, batch: number): number {
  int("batch", batch, 1);
  if (data.length === 0 || data.length % batch !== 0) {
    throw new ArgumentError(arg, `length ${data.length} is not a positive multiple of batch ${batch}`);
  }
  return data.length / batch;
}
