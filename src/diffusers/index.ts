// diffusers compatibility: the scheduler classes (createScheduler, schedulerFromJson), a sampling loop
// over any of them (runSchedulerLoop), and a diffusers-convention network as the library's Denoiser
// (schedulerDenoiser, schedulerSigmas), so every library sampler runs on a diffusers model.

export { createScheduler, schedulerClasses, schedulerFromJson } from "./schedulers/index.ts";
export type { Scheduler, SetTimestepsOptions, Shape, StepOptions, StepResult } from "./schedulers/index.ts";
export { runSchedulerLoop, type LoopEvent, type LoopModel, type LoopOptions } from "./loop.ts";
export { schedulerDenoiser, schedulerSigmas, sigmaToT, trainingAlphasCumprod, type DiffusersModel } from "./denoiser.ts";
