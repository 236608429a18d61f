// A diffusers sampling loop on any Scheduler, as diffusers' pipelines write it (DDPMPipeline,
// DDIMPipeline, StableDiffusionPipeline's denoising loop): setTimesteps, latents times initNoiseSigma,
// then for each timestep scaleModelInput -> model -> step.

import { Rng } from "../rng.ts";
import type { Scheduler, Shape } from "./schedulers/types.ts";
import { ArgumentError, f32, int } from "../validate.ts";

/** A network in diffusers' convention for one loop step: (model input, timestep) -> model output. */
export type LoopModel = (sample: Float32Array, t: number) => Float32Array;

export interface LoopEvent {
  /** 0-based index of the step just taken. */
  step: number;
  steps: number;
  /** The timestep of this step. */
  t: number;
  /** The sample after the step (do not keep a reference). */
  x: Float32Array;
  /** The scheduler's x0 estimate at this step, where it reports one. */
  denoised?: Float32Array;
}

export interface LoopOptions {
  /** Inference steps (scheduler.setTimesteps(steps)); or custom `timesteps`/`sigmas` for schedulers that take them. */
  steps?: number;
  timesteps?: ArrayLike<number>;
  sigmas?: ArrayLike<number>;
  /** The sample's shape [B, ...] (thresholding and learned variances work per item). Default: one item. */
  shape?: Shape;
  /** Noise of the stochastic steps: step i draws from rng.stream(i) (the library samplers' convention). */
  rng?: Rng;
  /** DDIM's eta (and other per-step arguments diffusers' step takes). */
  eta?: number;
  useClippedModelOutput?: boolean;
  onStep?: (e: LoopEvent) => void;
  signal?: AbortSignal;
}

/**
 * Run a whole diffusers sampling loop: `latents` is unit-variance initial noise (multiplied by
 * scheduler.initNoiseSigma after setTimesteps, as diffusers' prepare_latents does); returns the final
 * sample in diffusers' output space.
 */
export function runSchedulerLoop(scheduler: Scheduler, model: LoopModel, latents: Float32Array, opts: LoopOptions = {}): Float32Array {
  if (!scheduler || typeof scheduler.step !== "function" || typeof scheduler.setTimesteps !== "function") {
    throw new ArgumentError("scheduler", "must be a Scheduler (createScheduler or schedulerFromJson)");
  }
  if (typeof model !== "function") throw new ArgumentError("model", "must be a function (sample, t) => model output");
  f32("latents", latents);
  if (opts.rng !== undefined && !(opts.rng instanceof Rng)) throw new ArgumentError("rng", "must be an Rng");
  if (opts.onStep !== undefined && typeof opts.onStep !== "function") throw new ArgumentError("onStep", "must be a function");
  const custom = opts.timesteps !== undefined || opts.sigmas !== undefined;
  if (!custom && opts.steps === undefined) throw new ArgumentError("steps", "is needed (or custom timesteps / sigmas)");
  const steps = opts.steps === undefined ? null : int("steps", opts.steps, 1);
  scheduler.setTimesteps(custom ? null : steps, { timesteps: opts.timesteps, sigmas: opts.sigmas });
  const check = () => {
    if (opts.signal?.aborted) throw opts.signal.reason ?? new Error("sampling aborted");
  };
  check();
  const sigma0 = scheduler.initNoiseSigma;
  let x: Float32Array = sigma0 === 1 ? Float32Array.from(latents) : latents.map((v) => v * sigma0);
  const ts = Array.from(scheduler.timesteps);
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i];
    const input = scheduler.scaleModelInput(x, t);
    const out = model(input, t);
    if (!(out instanceof Float32Array)) throw new ArgumentError("model", `must return a Float32Array, got ${typeof out}`);
    const r = scheduler.step(out, t, x, { shape: opts.shape, rng: opts.rng, eta: opts.eta, useClippedModelOutput: opts.useClippedModelOutput });
    x = r.prevSample;
    opts.onStep?.({ step: i, steps: ts.length, t, x, denoised: r.predOriginalSample });
    check();
  }
  return x;
}
