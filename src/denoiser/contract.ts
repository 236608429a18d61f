// The contract every layer meets at (../shared/design.md §1; k-diffusion, EDM):
// a Denoiser maps a noisy batch in VE space, x = x0 + sigma n, with one sigma per batch item, to its
// estimate of x0. Networks of any parameterization (eps, x0, v, score, EDM preconditioning) and any
// schedule (VP or VE) become Denoisers through wrappers; samplers only ever see this type.

/**
 * x: the batch, flat, `batch` items of x.length / batch values each ([B, ...] row-major).
 * sigma: VE-space noise level of each item (length batch), >= 0.
 * Returns a new Float32Array of x.length values: the x0 estimate (it may not alias x).
 */
export type Denoiser = (x: Float32Array, sigma: Float64Array, batch: number) => Float32Array;

/**
 * A Denoiser that also takes class labels, one per item: label -1 is the null (unconditional) class of
 * classifier-free guidance (Ho & Salimans 2022). Called without labels it is a plain Denoiser (a fixed
 * labelling, or the unconditional model), so it goes wherever a Denoiser goes.
 */
export type LabelledDenoiser = (x: Float32Array, sigma: Float64Array, batch: number, labels?: Int32Array) => Float32Array;
