// Discrete diffusion, the `discrete` namespace of the public API: the absorbing (masked) and uniform
// processes, masking schedules, ELBOs, samplers, the toy test bed, the word tokenizer, the n-gram
// baseline, the training loop and the text model.
export * from "./schedule.ts";
export * from "./process.ts";
export * from "./denoiser.ts";
export * from "./exact.ts";
export * from "./elbo.ts";
export { ancestralSample, confidenceSample, type AncestralOptions, type ConfidenceOptions, type DiscreteSampleOptions } from "./samplers.ts";
export * from "./vocab.ts";
export * from "./ngram.ts";
export * from "./train.ts";
export * from "./text-model.ts";
