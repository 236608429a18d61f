// Floating-point helpers: distances in units in the last place, float32 unit roundoff.

const f64 = new Float64Array(1);
const i64 = new BigInt64Array(f64.buffer);

/** Map a double to an integer so that adjacent doubles differ by 1 (monotone across 0). */
function ordinal(x: number): bigint {
  f64[0] = x;
  const b = i64[0];
  return b < 0n ? -(b & 0x7fffffffffffffffn) : b;
}

/** How many representable doubles lie between a and b (0 when equal; +0 and -0 count as equal). */
export function ulpDist(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
  if (a === b) return 0;
  const d = ordinal(a) - ordinal(b);
  return Number(d < 0n ? -d : d);
}

/** The spacing of doubles at |x| (2^-1074 for subnormals). */
export function ulpOf(x: number): number {
  const a = Math.abs(x);
  if (a < 2.2250738585072014e-308) return 5e-324;
  return 2 ** (Math.floor(Math.log2(a)) - 52) * (2 ** Math.floor(Math.log2(a)) > a ? 0.5 : 1);
}

/** float64 unit roundoff (half an ulp of 1). */
export const EPS64 = 2 ** -53;
/** float32 unit roundoff: the relative error of storing a double in a Float32Array. */
export const U32 = 2 ** -24;

/** |a - b| <= tol * max(|a|, |b|), with a readable failure message. */
export function relClose(a: number, b: number, tol: number): boolean {
  return Math.abs(a - b) <= tol * Math.max(Math.abs(a), Math.abs(b));
}
