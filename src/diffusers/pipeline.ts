// diffusers folders in and out: loadDiffusers(files) reads a pipeline folder (model_index.json, unet/,
// scheduler/) or a bare UNet2DModel folder from a map of file names to bytes (every runtime; the Node
// entry also takes a folder path), and saveDiffusers writes one back. A pipeline becomes a model whose
// `denoiser` follows its scheduler's prediction_type and timestep convention, so every library sampler
// runs on it, and whose `scheduler` runs diffusers' own loop (runSchedulerLoop).

import type { Denoiser } from "../denoiser/contract.ts";
import { ArgumentError } from "../validate.ts";
import { schedulerDenoiser } from "./denoiser.ts";
import { DiffusersFolderError, filesOf, locateDiffusers, textOf, type DiffusersFiles } from "./layout.ts";
import { createScheduler, schedulerFromJson } from "./schedulers/index.ts";
import type { Scheduler } from "./schedulers/types.ts";
import { DIFFUSERS_VERSION, type UNet2DConfig } from "./unet-config.ts";
import { DiffusersUNet2D, loadUNet2DModel, UNET_CONFIG_FILE, UNET_WEIGHTS_FILE } from "./unet-model.ts";
import type { WeightDtype } from "./unet-weights.ts";

export interface DiffusersPipeline {
  /** The UNet2DModel: forward(sample, timesteps, classLabels?) as diffusers calls it. */
  unet: DiffusersUNet2D;
  /** The pipeline's scheduler (absent for a bare model folder). */
  scheduler?: Scheduler;
  /** The UNet's config (diffusers' keys, defaults filled in). */
  config: UNet2DConfig;
  kind: "pipeline" | "model";
  /** model_index.json's _class_name (DDPMPipeline, DDIMPipeline, ...). */
  pipelineClass?: string;
  /** The library Denoiser (x, sigma) -> x0 of the UNet under the scheduler's convention; class labels per call, if the model has classes. */
  denoiser(classLabels?: ArrayLike<number>): Denoiser;
}

/**
 * Load a diffusers pipeline or model folder from its files (relative name -> bytes). Reads config.json,
 * the safetensors weights (F32, F16, BF16; pickles are refused with the conversion command) and, for a
 * pipeline, scheduler/scheduler_config.json.
 */
export function loadDiffusers(source: DiffusersFiles): DiffusersPipeline {
  if (typeof source === "string") {
    throw new ArgumentError("source", "a folder path is read by edge-diffusion/node's loadDiffusers; here pass a map from relative file names to their bytes");
  }
  const files = filesOf(source);
  const layout = locateDiffusers(files);
  if (layout.weightNames.length !== 1) {
    throw new DiffusersFolderError("no_weights", `sharded weights (${layout.weightNames.length} files) are not read yet: save the model as one ${UNET_WEIGHTS_FILE}`);
  }
  const unet = loadUNet2DModel(textOf(files, layout.configName), files.get(layout.weightNames[0])!, { fileName: layout.weightNames[0] });
  const scheduler = layout.schedulerName ? schedulerFromJson(textOf(files, layout.schedulerName)) : undefined;
  return pipelineOf(unet, scheduler, layout.kind, layout.pipelineClass);
}

function pipelineOf(unet: DiffusersUNet2D, scheduler: Scheduler | undefined, kind: "pipeline" | "model", pipelineClass?: string): DiffusersPipeline {
  const c = unet.config;
  return {
    unet,
    scheduler,
    config: c,
    kind,
    pipelineClass,
    denoiser(classLabels?: ArrayLike<number>): Denoiser {
      if (!scheduler) throw new ArgumentError("scheduler", "a bare model folder has no scheduler: load a pipeline folder, or build one with createScheduler and pass it to schedulerDenoiser");
      const C = c.in_channels;
      return schedulerDenoiser(scheduler, (x, t, batch) => {
        const side = Math.round(Math.sqrt(x.length / (batch * C)));
        if (side * side * batch * C !== x.length) throw new ArgumentError("x", `holds ${x.length} values, not ${batch} square ${C}-channel images`);
        return unet.forward({ data: x, shape: [batch, C, side, side] }, t, classLabels).data;
      });
    },
  };
}

/** What saveDiffusers writes: a bare model, or a pipeline with its scheduler. */
export type SaveSource = DiffusersUNet2D | { unet: DiffusersUNet2D; scheduler?: Scheduler; pipelineClass?: string };

/**
 * The files of a diffusers folder (relative name -> bytes): config.json and
 * diffusion_pytorch_model.safetensors for a bare model; with a scheduler, a pipeline folder
 * (model_index.json, unet/, scheduler/scheduler_config.json) that diffusers' from_pretrained loads.
 */
export function saveDiffusers(model: SaveSource, opts: { dtype?: WeightDtype; diffusersVersion?: string } = {}): Record<string, Uint8Array> {
  const unet = model instanceof DiffusersUNet2D ? model : model?.unet;
  if (!(unet instanceof DiffusersUNet2D)) throw new ArgumentError("model", "must be a UNet2DModel (loadDiffusers(...).unet, createUNet2DModel) or { unet, scheduler }");
  const scheduler = model instanceof DiffusersUNet2D ? undefined : model.scheduler;
  const own = unet.save(opts);
  if (!scheduler) return own;
  const enc = new TextEncoder();
  const pipelineClass = (model instanceof DiffusersUNet2D ? undefined : model.pipelineClass) ?? (scheduler.className === "DDIMScheduler" ? "DDIMPipeline" : "DDPMPipeline");
  const index = { _class_name: pipelineClass, _diffusers_version: opts.diffusersVersion ?? DIFFUSERS_VERSION, scheduler: ["diffusers", scheduler.className], unet: ["diffusers", "UNet2DModel"] };
  return {
    "model_index.json": enc.encode(JSON.stringify(index, null, 2) + "\n"),
    [`unet/${UNET_CONFIG_FILE}`]: own[UNET_CONFIG_FILE],
    [`unet/${UNET_WEIGHTS_FILE}`]: own[UNET_WEIGHTS_FILE],
    "scheduler/scheduler_config.json": enc.encode(scheduler.toJson()),
  };
}

/** A pipeline from a model and a scheduler made here (e.g. a freshly trained UNet2DModel and a DDPMScheduler config). */
export function diffusersPipeline(unet: DiffusersUNet2D, scheduler: Scheduler | { className: string; config?: Record<string, unknown> }): DiffusersPipeline {
  const s = "step" in scheduler ? scheduler : createScheduler(scheduler.className, scheduler.config ?? {});
  return pipelineOf(unet, s, "pipeline");
}
