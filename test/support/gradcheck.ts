// Autograd's backward against central finite differences of its float32 forward. The scalar probed is
// L = sum_i r_i y_i, accumulated in float64 from the op's float32 output, so dL/dx_j from backward
// (seed r) must equal (L(x + h e_j) - L(x - h e_j)) / 2h.
//
// Tolerance: the forward is float32, so each L carries a rounding error of about
// eps32 * sum_i |r_i y_i| (eps32 = 6e-8); divided by 2h this is the noise floor of the difference
// quotient. Smooth nonlinear ops add a truncation error O(h^2 f'''); h = 1e-2 balances the two. The
// check is |fd - analytic| <= 2e-3 * (1 + |fd|) + 4 * noise, which a wrong formula (a missing term, a
// transposed index) exceeds by orders of magnitude.
import { Tensor } from "../../src/autograd/tensor.ts";
import type { Rng } from "../../src/rng.ts";

const H = 1e-2;

/** A tensor of seeded standard normals times `scale` that records gradients. */
export function randTensor(rng: Rng, shape: number[], scale = 1): Tensor {
  const d = rng.normal(new Float32Array(shape.reduce((a, b) => a * b, 1)));
  for (let i = 0; i < d.length; i++) d[i] *= scale;
  return new Tensor(d, shape, { requiresGrad: true });
}

/**
 * Check d(sum r*f(inputs))/d(input), r random (rng.stream("r")), for every input and every coordinate,
 * or `maxCoords` evenly spaced ones of a larger input.
 */
export function gradcheck(rng: Rng, inputs: Tensor[], f: () => Tensor, maxCoords = 60): void {
  const y0 = f();
  const r = new Float32Array(y0.size);
  rng.stream("r").normal(r);
  compare(inputs, f, y0, r, maxCoords);
}

/** Check backward() of a scalar f() (the loss itself, r = 1) at every coordinate of every input. */
export function gradcheckScalar(inputs: Tensor[], f: () => Tensor): void {
  compare(inputs, f, f(), Float32Array.of(1), Infinity);
}

function compare(inputs: Tensor[], f: () => Tensor, y0: Tensor, r: Float32Array, maxCoords: number): void {
  const L = () => {
    const y = f().data;
    let s = 0;
    let mag = 0;
    for (let i = 0; i < y.length; i++) {
      s += r[i] * y[i];
      mag += Math.abs(r[i] * y[i]);
    }
    return [s, mag];
  };
  for (const t of inputs) t.grad = null;
  y0.backward(r);
  inputs.forEach((t, ti) => {
    const g = t.grad ?? new Float32Array(t.size);
    const coords = t.size <= maxCoords ? [...Array(t.size).keys()] : [...Array(maxCoords)].map((_, i) => Math.floor((i * t.size) / maxCoords));
    for (const j of coords) {
      const x = t.data[j];
      t.data[j] = x + H;
      const [lp, mp] = L();
      t.data[j] = x - H;
      const [lm, mm] = L();
      t.data[j] = x;
      // the actual step in float32 may differ from H: divide by it
      const step = Math.fround(x + H) - Math.fround(x - H);
      const fd = (lp - lm) / step;
      const noise = (6e-8 * (mp + mm)) / step;
      const err = Math.abs(fd - g[j]);
      if (!(err <= 2e-3 * (1 + Math.abs(fd)) + 4 * noise)) {
        throw new Error(`input ${ti} coord ${j}: backward ${g[j]}, finite difference ${fd} (noise ${noise})`);
      }
    }
  });
}
