// Modules hold parameters under dotted names ("down.0.conv1.weight") that are also the checkpoint keys.
// Initialisation is separate from construction and seeded per parameter name, so a parameter's initial
// values depend only on (seed, its name), not on the order modules were built in.

import { Rng } from "../rng.ts";
import { Tensor } from "../autograd/tensor.ts";
import { ArgumentError } from "../validate.ts";

/** How a parameter starts: uniform(-bound, bound) (PyTorch's default for Linear/Conv), or a constant. */
export type Init = { kind: "uniform"; bound: number } | { kind: "constant"; value: number };

export abstract class Module {
  private readonly ownParams = new Map<string, { t: Tensor; init: Init }>();
  private readonly children = new Map<string, Module>();

  protected param(name: string, shape: number[], init: Init): Tensor {
    const t = Tensor.zeros(shape, true);
    this.ownParams.set(name, { t, init });
    return t;
  }

  protected child<M extends Module>(name: string, m: M): M {
    this.children.set(name, m);
    return m;
  }

  /** Every parameter under its dotted name, in registration order. */
  parameters(prefix = ""): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [n, { t }] of this.ownParams) out.set(prefix + n, t);
    for (const [n, m] of this.children) for (const [k, t] of m.parameters(`${prefix}${n}.`)) out.set(k, t);
    return out;
  }

  private inits(prefix = ""): [string, Tensor, Init][] {
    const out: [string, Tensor, Init][] = [];
    for (const [n, { t, init }] of this.ownParams) out.push([prefix + n, t, init]);
    for (const [n, m] of this.children) out.push(...m.inits(`${prefix}${n}.`));
    return out;
  }

  /** Fill every parameter from its Init, drawing from rng.stream(name). */
  initialize(seed: number): this {
    const rng = new Rng(seed);
    for (const [name, t, init] of this.inits()) {
      if (init.kind === "constant") t.data.fill(init.value);
      else {
        rng.stream(name).uniform(t.data);
        for (let i = 0; i < t.data.length; i++) t.data[i] = (2 * t.data[i] - 1) * init.bound;
      }
    }
    return this;
  }

  /** Number of scalar parameters. */
  parameterCount(): number {
    let n = 0;
    for (const t of this.parameters().values()) n += t.size;
    return n;
  }

  /** Copy values from a name -> Float32Array map; every parameter must be present with its size. */
  loadParameters(values: Map<string, Float32Array> | Record<string, Float32Array>): void {
    const get = (k: string) => (values instanceof Map ? values.get(k) : values[k]);
    for (const [name, t] of this.parameters()) {
      const v = get(name);
      if (!v) throw new ArgumentError("values", `has no parameter ${JSON.stringify(name)}`);
      if (v.length !== t.size) throw new ArgumentError(`values[${JSON.stringify(name)}]`, `has ${v.length} values, the model needs ${t.size}`);
      t.data.set(v);
    }
  }
}

/** PyTorch's default init bound 1/sqrt(fan_in) (kaiming_uniform with a = sqrt(5)). */
export function fanInBound(fanIn: number): Init {
  return { kind: "uniform", bound: 1 / Math.sqrt(fanIn) };
}

export const ZERO: Init = { kind: "constant", value: 0 };
export const ONE: Init = { kind: "constant", value: 1 };
