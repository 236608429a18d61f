// Float64 finite differences, the oracle of the backward-kernel tests.

/** Central differences of L = Σ f(v)·g with respect to every element of v (v is restored). */
export function fdGrad(v: Float64Array, f: (v: Float64Array) => Float64Array, g: Float64Array, h = 1e-6): Float64Array {
  const out = new Float64Array(v.length);
  const L = (vv: Float64Array) => f(vv).reduce((s, y, i) => s + y * g[i], 0);
  for (let i = 0; i < v.length; i++) {
    const keep = v[i];
    v[i] = keep + h;
    const up = L(v);
    v[i] = keep - h;
    const dn = L(v);
    v[i] = keep;
    out[i] = (up - dn) / (2 * h);
  }
  return out;
}
