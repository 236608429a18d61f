// diffusers compatibility: the scheduler classes (createScheduler, schedulerFromJson), a sampling loop
// over any of them (runSchedulerLoop), and a diffusers-convention network as the library's Denoiser
// (schedulerDenoiser, schedulerSigmas), so every library sampler runs on a diffusers model.

export { createScheduler, schedulerClasses, schedulerFromJson } from "./schedulers/index.ts";
export type { Scheduler, SetTimestepsOptions, Shape, StepOptions, StepResult } from "./schedulers/index.ts";
export { runSchedulerLoop, type LoopEvent, type LoopModel, type LoopOptions } from "./loop.ts";
export { schedulerDenoiser, schedulerSigmas, sigmaToT, trainingAlphasCumprod, type DiffusersModel } from "./denoiser.ts";
export { diffusersPipeline, loadDiffusers, saveDiffusers, type DiffusersPipeline, type SaveSource } from "./pipeline.ts";
export { DiffusersFolderError, locateDiffusers, type DiffusersFiles, type DiffusersLayout } from "./layout.ts";
export { createUNet2DModel, loadUNet2DModel, DiffusersUNet2D, UNet2DWeightsError, type UNet2DSample } from "./unet-model.ts";
export { parseUNet2DConfig, parseUNet2DConfigText, unet2dConfigToJson, type UNet2DConfig } from "./unet-config.ts";
export { diffusersSamplingModel, type DiffusersSamplingModel } from "./sampling-model.ts";
