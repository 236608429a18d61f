// Classifier-free guidance as a Denoiser wrapper, so every sampler can use it without knowing of labels.

import { ArgumentError } from "../validate.ts";
import type { Denoiser, LabelledDenoiser } from "./contract.ts";
import { checkModelOutput } from "./wrappers.ts";

/**
 * Classifier-free guidance (Ho & Salimans 2022, eq. 6 in x0 form): D = D_u + w (D_c - D_u), with the
 * conditional and unconditional passes batched as one call of 2B items (labels then the null label -1).
 * w = 1 is the conditional model, w = 0 the unconditional one.
 */
export function guidedDenoiser(model: LabelledDenoiser, labels: Int32Array, scale: number): Denoiser {
  if (typeof model !== "function" || model.length < 4) {
    throw new ArgumentError("model", "guidance needs a conditional model (x, sigma, batch, labels) => x0");
  }
  if (!(labels instanceof Int32Array)) throw new ArgumentError("labels", "must be an Int32Array of class labels (one per item)");
  if (!Number.isFinite(scale)) throw new ArgumentError("scale", `must be a finite number, got ${scale}`);
  return (x, sigma, batch) => {
    if (labels.length !== batch) throw new ArgumentError("labels", `must have one label per item (${batch}), got ${labels.length}`);
    const n = x.length;
    const x2 = new Float32Array(2 * n);
    x2.set(x);
    x2.set(x, n);
    const s2 = new Float64Array(2 * batch);
    s2.set(sigma);
    s2.set(sigma, batch);
    const l2 = new Int32Array(2 * batch).fill(-1);
    l2.set(labels);
    const out = checkModelOutput(model(x2, s2, 2 * batch, l2), 2 * n);
    const y = new Float32Array(n);
    for (let j = 0; j < n; j++) y[j] = out[n + j] + scale * (out[j] - out[n + j]);
    return y;
  };
}
