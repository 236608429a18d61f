// The few numpy functions diffusers builds its timestep tables with, with numpy's exact arithmetic
// (float64), so a table here equals numpy's element for element.

/** numpy's round: half to even. */
export function npRound(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** np.linspace(start, stop, num) (endpoint true): y_i = i * step + start, the last set to stop. */
export function npLinspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  if (num === 0) return out;
  if (num === 1) {
    out[0] = start;
    return out;
  }
  const step = (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) out[i] = step === 0 ? ((i / (num - 1)) * (stop - start)) + start : i * step + start;
  out[num - 1] = stop;
  return out;
}

/** np.arange(start, stop, step) for float or integer arguments: start + i * step while short of stop. */
export function npArange(start: number, stop: number, step = 1): Float64Array {
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = start + i * step;
  return out;
}

/** np.interp(x, xp, fp) for ascending xp: linear interpolation, clamped to the end values. */
export function npInterp(x: number, xp: ArrayLike<number>, fp: ArrayLike<number>): number {
  const n = xp.length;
  if (x <= xp[0]) return fp[0];
  if (x >= xp[n - 1]) return fp[n - 1];
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (xp[mid] <= x) lo = mid;
    else hi = mid;
  }
  const slope = (fp[hi] - fp[lo]) / (xp[hi] - xp[lo]);
  return slope * (x - xp[lo]) + fp[lo];
}
