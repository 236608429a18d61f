// Tensors with reverse-mode automatic differentiation, in the style of micrograd: every op records its
// inputs and a closure that pushes the output's gradient to them; backward() runs the closures in
// reverse topological order. Storage is a flat row-major Float32Array; shapes are plain number arrays.

import { ArgumentError } from "../validate.ts";
import { kernels } from "./backend.ts";

let gradEnabled = true;

/** Run fn without recording the graph (sampling, EMA updates): no closures, no retained inputs. */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/**
 * Run fn with these tensors treated as constants (requiresGrad off, restored afterwards): a gradient
 * with respect to a network's input alone then skips every weight gradient (DPS, Chung et al. 2023,
 * differentiates the denoiser with respect to x, never its weights).
 */
export function withFrozen<T>(tensors: Iterable<Tensor>, fn: () => T): T {
  const changed: Tensor[] = [];
  for (const t of tensors) {
    if (t.requiresGrad) {
      (t as { requiresGrad: boolean }).requiresGrad = false;
      changed.push(t);
    }
  }
  try {
    return fn();
  } finally {
    for (const t of changed) (t as { requiresGrad: boolean }).requiresGrad = true;
  }
}

export function isGradEnabled(): boolean {
  return gradEnabled;
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export class Tensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
  /** The gradient of the loss with respect to this tensor, allocated by backward(). */
  grad: Float32Array | null = null;
  readonly requiresGrad: boolean;
  /** Inputs of the op that made this tensor, and how to pass the gradient back to them. */
  readonly parents: readonly Tensor[];
  private readonly backwardFn: ((g: Float32Array) => void) | null;

  constructor(
    data: Float32Array,
    shape: readonly number[],
    opts: { requiresGrad?: boolean; parents?: readonly Tensor[]; backward?: (g: Float32Array) => void } = {},
  ) {
    if (data.length !== sizeOf(shape)) {
      throw new ArgumentError("data", `length ${data.length} does not match shape [${shape.join(", ")}]`);
    }
    this.data = data;
    this.shape = shape;
    const parents = opts.parents ?? [];
    const track = gradEnabled && parents.some((p) => p.requiresGrad);
    this.requiresGrad = opts.requiresGrad ?? track;
    this.parents = track ? parents : [];
    this.backwardFn = track ? (opts.backward ?? null) : null;
  }

  static zeros(shape: readonly number[], requiresGrad = false): Tensor {
    return new Tensor(new Float32Array(sizeOf(shape)), shape, { requiresGrad });
  }

  static from(data: Float32Array, shape: readonly number[]): Tensor {
    return new Tensor(data, shape);
  }

  get size(): number {
    return this.data.length;
  }

  /** Add g into this tensor's gradient (allocating it on first use). */
  accumulate(g: Float32Array): void {
    if (!this.requiresGrad) return;
    if (this.grad === null) this.grad = Float32Array.from(g);
    else kernels().axpy(1, g, this.grad);
  }

  /** The gradient buffer, allocated and zeroed if absent: for ops that write into it in place. */
  gradBuffer(): Float32Array {
    if (this.grad === null) this.grad = new Float32Array(this.data.length);
    return this.grad;
  }

  /**
   * Backpropagate from this scalar (or from `seed` for a non-scalar output). Gradients of every tensor
   * that requires one are accumulated into .grad; intermediate gradients are freed as soon as used.
   */
  backward(seed?: Float32Array): void {
    if (!seed && this.size !== 1) throw new ArgumentError("seed", `needed for a non-scalar output of shape [${this.shape.join(", ")}]`);
    const order: Tensor[] = [];
    const seen = new Set<Tensor>();
    // iterative DFS post-order (a deep UNet would overflow a recursive one in some engines)
    const stack: [Tensor, number][] = [[this, 0]];
    seen.add(this);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [t, i] = top;
      if (i < t.parents.length) {
        top[1]++;
        const p = t.parents[i];
        if (p.requiresGrad && !seen.has(p)) {
          seen.add(p);
          stack.push([p, 0]);
        }
      } else {
        stack.pop();
        order.push(t);
      }
    }
    this.grad = seed ? Float32Array.from(seed) : Float32Array.of(1);
    for (let k = order.length - 1; k >= 0; k--) {
      const t = order[k];
      if (t.backwardFn && t.grad) {
        t.backwardFn(t.grad);
        if (t.parents.length > 0) t.grad = null; // an intermediate: its gradient is spent
      }
    }
  }
}
