// Floating-point tolerances: distances in units in the last place, and the unit roundoffs of float64 and
// float32 that error bounds are written in.

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

/** Fail unless `got` is within `tol` ulp of `want`; the message names `what` and the distance. */
export function expectUlps(got: number, want: number, tol: number, what: string): void {
  const u = ulpDist(got, want);
  if (!(u <= tol)) throw new Error(`${what}: got ${got}, want ${want}: ${u} ulp apart (tolerance ${tol})`);
}

/** float64 unit roundoff (half an ulp of 1). */
export const EPS64 = 2 ** -53;
/** float32 unit roundoff: the relative error of storing a double in a Float32Array. */
export const U32 = 2 ** -24;
