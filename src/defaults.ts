// The one set of sampling defaults: what `generate()` does with an option left out, and what the CLI
// (`edge-diffusion sample`, `npm start`), the browser demo, the Deno example and the Worker example
// start from. Defined here once so that they cannot drift apart again (issue 14, #9: the examples
// sampled unguided with other steps than the CLI and drew visibly worse digits).
//
// Why these values, measured on the shipped MNIST model by `npm run bench:quality` (README, "The
// shipped model"): classifier-free guidance 2 gives 93.3 % confidently classified digits against 72.1 %
// at guidance 1; DPM-Solver++ 2M (Lu et al. 2022, Alg. 2) needs the fewest denoiser calls of all the
// samplers to reach the energy-distance target on the 2-D test bed (docs/samplers.md), and 20 steps
// reach its 1.2x-floor quality there; sigmas follow Karras et al. 2022 eq. 5 (rho = 7) over the model's
// own [sigmaMin, sigmaMax].

export const SAMPLING_DEFAULTS = Object.freeze({
  /** Samples per call (the CLI's `sample`: four of each of the ten digits). */
  count: 40,
  /** Sampler steps: the length of the sigma sequence, minus its final 0. */
  steps: 20,
  /** A name of SAMPLER_NAMES. */
  sampler: "dpmpp_2m",
  /** The noise seed. */
  seed: 0,
  /** Classifier-free guidance scale (Ho & Salimans 2022); 1 is the plain conditional model. */
  guidance: 2,
  /**
   * The sigma sequence: `karrasSigmas(steps, model.precond.sigmaMin, model.precond.sigmaMax)` (EDM
   * eq. 5 with its rho = 7), the noise levels the model was trained over.
   */
  schedule: "karras",
  /** What generate() returns: a PNG grid ("png") or the raw tensor ("safetensors"). */
  format: "png",
} as const);

export type SamplingDefaults = typeof SAMPLING_DEFAULTS;
