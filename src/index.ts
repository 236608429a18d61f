// edge-diffusion: diffusion models in TypeScript with WASM SIMD kernels.
export { ArgumentError } from "./validate.ts";
/** The argument checkers the library uses (each throws ArgumentError naming the argument), for your own components. */
export * as validate from "./validate.ts";
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
  flowFromVeSigma,
  flowToX0,
  type Prediction,
} from "./denoiser/conversions.ts";
export { dexp, dexpm1, dlog, dlog1p, dpow, dsin, dcos, dsigmoid } from "./math/detmath.ts";
export { shapeImages, SHAPE_NAMES, type ShapeName } from "./data/shapes.ts";
export { imageGrid, type Image8, type GridOptions } from "./image/grid.ts";
export { encodePng } from "./image/png.ts";
export type { Denoiser, LabelledDenoiser } from "./denoiser/contract.ts";
export * from "./samplers/index.ts";
export { GaussianMixture, type MixtureSpec } from "./testbed/index.ts";
export { predictionDenoiser, edmDenoiser, discreteDenoiser, type Model, type PredictionOptions } from "./denoiser/wrappers.ts";
export { guidedDenoiser } from "./denoiser/guidance.ts";
export {
  createScheduler,
  schedulerClasses,
  schedulerFromJson,
  runSchedulerLoop,
  schedulerDenoiser,
  schedulerSigmas,
  type DiffusersModel,
  type LoopEvent,
  type LoopModel,
  type LoopOptions,
  type Scheduler,
  type SetTimestepsOptions,
  type StepOptions,
  type StepResult,
  diffusersPipeline,
  diffusersSamplingModel,
  loadDiffusers,
  saveDiffusers,
  createUNet2DModel,
  loadUNet2DModel,
  DiffusersUNet2D,
  UNet2DWeightsError,
  DiffusersFolderError,
  locateDiffusers,
  parseUNet2DConfig,
  unet2dConfigToJson,
  type DiffusersPipeline,
  type DiffusersFiles,
  type DiffusersLayout,
  type SaveSource,
  type UNet2DConfig,
  type UNet2DSample,
} from "./diffusers/index.ts";
export {
  initKernels,
  createTsKernels,
  createWasmKernels,
  setDefaultWasmSource,
  hasWasmSimd,
  hasRelaxedSimd,
  conv2dOutSize,
  usesWinograd,
  type Kernels,
  type KernelsWithArena,
  type Arena,
  type WasmSource,
  type Buf,
  type BackendName,
  type Conv2dShape,
  type Activation,
  type AdamStep,
  type InitOptions,
  type WasmKernelOptions,
} from "./kernels/index.ts";
export { useKernels, kernels } from "./autograd/backend.ts";
export { Tensor, noGrad } from "./autograd/tensor.ts";
export { BufferPool, withPool } from "./autograd/pool.ts";
export { parallelModelWith, type ParallelModel, type ParallelOptions, type Spawn, type WorkerHandle, type WorkerInit } from "./parallel/host.ts";
export { serveParallelJobs } from "./parallel/serve.ts";
export {
  parallelGradients,
  type ParallelGradients,
  type ParallelTrainOptions,
  type TrainSpawn,
  type TrainWorkerHandle,
  type TrainWorkerInit,
} from "./train-parallel/pool.ts";
export { serveTrainJobs } from "./train-parallel/serve.ts";
export * as ops from "./autograd/ops.ts";
export { Module } from "./nn/module.ts";
export { ScoreMLP, DEFAULT_MLP, type MLPConfig } from "./nn/mlp.ts";
export { UNet, MNIST_UNET, type UNetConfig } from "./nn/unet.ts";
export { Transformer, type TransformerConfig } from "./nn/transformer.ts";
export * as discrete from "./discrete/index.ts";
export { edmPreconditioner, vpPreconditioner, flowPreconditioner, PARAMETERIZATIONS, type Preconditioner, type Parameterization, type Coefficients } from "./denoiser/precondition.ts";
export { preconditionedForward, type Network } from "./denoiser/network.ts";
export { networkDenoiser, type InferenceOptions } from "./denoiser/network-denoiser.ts";
export { batchLoss, diffusionLoss, drawLossBatch, type LossBatch, type LossConfig, type SigmaSampling, type Weighting } from "./train/loss.ts";
export { localShardGradients, shardRanges, type ShardGradients, type ShardRange } from "./train/shards.ts";
export { networkGradientDenoiser, type GradientDenoiser } from "./denoiser/input-gradient.ts";
export * from "./inverse/index.ts";
export { AdamW, EMA, type AdamOptions } from "./train/optim.ts";
export { train, trainAsync, NonFiniteLossError, type TrainOptions, type TrainAsyncOptions, type TrainResult, type Progress } from "./train/trainer.ts";
export { saveModel, loadModel, buildNetwork, buildPreconditioner, type LoadedModel, type NetworkConfig, type PrecondSpec } from "./model.ts";
export { presetConfig, PRESET_NAMES, type PresetName, type Preset, type PresetImage } from "./presets.ts";
export { readSafetensors, writeSafetensors, toFloat32, SafetensorsError, DEFAULT_MAX_HEADER_BYTES, DTYPES, type Dtype, type SafeTensor, type TensorInput, type TensorData, type SafetensorsFile, type ReadOptions, type SafetensorsErrorCode } from "./io/safetensors.ts";
export { float32ToHalf, halfToFloat32, float32ToBf16, bf16ToFloat32, floatToHalfBits, halfBitsToFloat } from "./io/half.ts";
export { packCheckpoint, unpackCheckpoint, CheckpointError, CHECKPOINT_FORMAT, type Checkpoint, type ParamMap, type ParamTensor, type PackOptions, type UnpackOptions } from "./io/checkpoint.ts";
export { type Dataset, DatasetError, checkDataset, batchIndices, gatherBatch } from "./data/dataset.ts";
export { toyData, TOY_NAMES, TOYS, moons, swissRoll, eightGaussians, checkerboard, gaussianGrid, gaussianMixture, type ToyName, type ToyOptions } from "./data/toys.ts";
export { readIdx, idxDataset, gunzipBounded, type IdxArray } from "./data/idx.ts";
export { decodePngImage } from "./data/png-decode.ts";
export { resize, centerCrop, toChannels, type PlanarImage } from "./data/image-ops.ts";
export { SAMPLING_DEFAULTS, type SamplingDefaults } from "./defaults.ts";
export { loadShippedModel, shippedModelBytes, setShippedModelSource, SHIPPED_MODEL_FILE, SHIPPED_MODEL_EXPORT, type ModelSource } from "./shipped-model.ts";
export { generate, generateSteps, SIGMA_SCHEDULES, type SigmaScheduleName, type GenerateOptions, type GenerateResult, type GenerationProgress, type GenerationState } from "./generate.ts";
