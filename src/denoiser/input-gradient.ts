// The denoiser's vector-Jacobian product with respect to its input, for methods that steer sampling by a
// loss on the x0 estimate (DPS, Chung et al. 2023, Alg. 1: the gradient of ||y - A x̂0(x_t)|| with
// respect to x_t goes through the network). The network runs once with a graph from its input, the
// caller turns the x0 estimate into the loss's gradient, and one backward pass gives J^T g. The weights
// are held constant meanwhile (no weight gradients are formed, and none are left on the model). The
// inference path (networkDenoiser) is untouched: it still runs without a graph.

import { withFrozen } from "../autograd/tensor.ts";
import { ArgumentError, int } from "../validate.ts";
import { checkDenoiserCall } from "./network-denoiser.ts";
import { preconditionedForward, type Network } from "./network.ts";
import type { Preconditioner } from "./precondition.ts";

/**
 * A denoiser that also differentiates: returns x0 = D(x; sigma) and grad = (dD/dx)^T g per item, where
 * g is the gradient of the caller's loss with respect to x0, computed from x0 itself by
 * outputGrad(x0s, first, count): x0s holds items first..first+count-1 (the loss is a sum of per-item
 * terms, so a network can run a few items at a time and hold only their graph), and it returns their
 * gradient (count items).
 */
export type GradientDenoiser = (
  x: Float32Array,
  sigma: Float64Array,
  batch: number,
  outputGrad: (x0: Float32Array, first: number, count: number) => Float32Array,
) => { x0: Float32Array; grad: Float32Array };

/**
 * A trained network as a GradientDenoiser: D(x; sigma) = c_skip x + c_out F(c_in x; c_noise) (EDM eq. 7),
 * so J^T g = c_skip g + c_in J_F^T (c_out g), one backward pass of F per micro-batch, whose graph is
 * dropped before the next. Labels as in networkDenoiser (-1 or numClasses: no label).
 */
export function networkGradientDenoiser(
  net: Network,
  precond: Preconditioner,
  itemShape: readonly number[],
  labels?: Int32Array,
  opts: { microBatch?: number } = {},
): GradientDenoiser {
  const K = net.config.numClasses;
  const micro = int("microBatch", opts.microBatch ?? 4, 1);
  const D = itemShape.reduce((a, b) => a * b, 1);
  return (x, sigma, batch, outputGrad) => {
    const lab = checkDenoiserCall(itemShape, K, x, sigma, batch, labels);
    const netLabels = lab && K > 0 ? Int32Array.from(lab, (l) => (l < 0 ? K : l)) : undefined;
    const safe = Float64Array.from(sigma, (s) => Math.max(s, precond.sigmaMin * 1e-3));
    const x0 = new Float32Array(x.length);
    const grad = new Float32Array(x.length);
    withFrozen(net.parameters().values(), () => {
      for (let b0 = 0; b0 < batch; b0 += micro) {
        const n = Math.min(micro, batch - b0);
        const xs = x.subarray(b0 * D, (b0 + n) * D);
        const { F, coefs, input } = preconditionedForward(net, precond, xs, safe.subarray(b0, b0 + n), [n, ...itemShape], netLabels?.subarray(b0, b0 + n), true);
        const x0s = x0.subarray(b0 * D, (b0 + n) * D);
        for (let b = 0; b < n; b++) {
          const { cSkip, cOut } = coefs[b];
          const s = sigma[b0 + b];
          for (let i = b * D; i < (b + 1) * D; i++) x0s[i] = s === 0 ? xs[i] : cSkip * xs[i] + cOut * F.data[i];
        }
        const g = outputGrad(x0s, b0, n);
        if (!(g instanceof Float32Array) || g.length !== n * D) throw new ArgumentError("outputGrad", `must return a Float32Array of ${n * D} values (${n} items), got ${g && (g as Float32Array).length}`);
        const seed = new Float32Array(n * D);
        for (let b = 0; b < n; b++) {
          const cOut = sigma[b0 + b] === 0 ? 0 : coefs[b].cOut;
          for (let i = b * D; i < (b + 1) * D; i++) seed[i] = cOut * g[i];
        }
        F.backward(seed);
        const gin = input.grad ?? new Float32Array(n * D);
        for (let b = 0; b < n; b++) {
          const s = sigma[b0 + b];
          const { cSkip, cIn } = coefs[b];
          for (let i = b * D; i < (b + 1) * D; i++) grad[b0 * D + i] = s === 0 ? g[i] : cSkip * g[i] + cIn * gin[i];
        }
      }
    });
    return { x0, grad };
  };
}
