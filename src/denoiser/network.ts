// A trainable network and the one place it is called under a preconditioning: the training loss
// (train/loss.ts) and the network denoiser (network-denoiser.ts) both run F through
// preconditionedForward, so what the network is trained on and what it is asked at sampling time
// cannot drift apart (EDM, Karras et al. 2022, eq. 7).

import { alloc } from "../autograd/pool.ts";
import { Tensor } from "../autograd/tensor.ts";
import { ArgumentError } from "../validate.ts";
import type { Coefficients, Preconditioner } from "./precondition.ts";

/** A network the loss and the Denoiser wrapper can call. */
export interface Network {
  forward(x: Tensor, cNoise: ArrayLike<number>, labels?: Int32Array): Tensor;
  parameters(): Map<string, Tensor>;
  readonly config: { numClasses: number };
}

/**
 * Run F on a batch at the given sigmas: returns F's output (a graph node) and each item's coefficients.
 * This is the one place a network is called; the loss, networkDenoiser and the input gradient
 * (input-gradient.ts) all use it. `inputGrad` records the graph from the scaled input c_in x (returned as
 * `input`), for a gradient with respect to x.
 */
export function preconditionedForward(
  net: Network,
  precond: Preconditioner,
  x: Float32Array,
  sigmas: Float64Array,
  shape: readonly number[],
  labels?: Int32Array,
  inputGrad = false,
): { F: Tensor; coefs: Coefficients[]; input: Tensor } {
  const B = shape[0];
  if (sigmas.length !== B) throw new ArgumentError("sigma", `must have one value per batch item (${B}), got ${sigmas.length}`);
  const D = x.length / B;
  const coefs: Coefficients[] = [];
  const xin = alloc(x.length);
  const cNoise = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    const c = precond.at(sigmas[b]);
    coefs.push(c);
    cNoise[b] = c.cNoise;
    for (let i = b * D; i < (b + 1) * D; i++) xin[i] = c.cIn * x[i];
  }
  const input = new Tensor(xin, shape, { requiresGrad: inputGrad });
  return { F: net.forward(input, cNoise, labels), coefs, input };
}
