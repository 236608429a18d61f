// edge-diffusion: diffusion models in TypeScript with WASM SIMD kernels.
export { ArgumentError } from "./validate.ts";
export { Rng, philox4x32, type RngState } from "./rng.ts";
export * from "./schedule/index.ts";
export {
  qSample,
  forwardStep,
  forwardChain,
  posterior,
  posteriorMean,
  ddpmReverseVariance,
  type Posterior,
  type PerItem,
} from "./process.ts";
export {
  PREDICTIONS,
  conversionCoefficients,
  convertPrediction,
  vpFromVeSigma,
  type Prediction,
} from "./param.ts";
export { dexp, dexpm1, dlog, dlog1p, dpow, dsin, dcos, dsigmoid } from "./math/detmath.ts";
export { shapeImages, SHAPE_NAMES, type ShapeName } from "./data/shapes.ts";
export { imageGrid, type Image8, type GridOptions } from "./image/grid.ts";
export { encodePng } from "./image/png.ts";
export type { Denoiser } from "./denoiser.ts";
