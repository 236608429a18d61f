// `edge-diffusion info MODEL`: what a model file holds, read from the file alone: the network
// (architecture and its size), how its weights are stored, the classes it is conditioned on, the
// preconditioning, and what its training recorded (settings, step, loss, time).
import { readSafetensors } from "../io/safetensors.ts";
import type { NetworkConfig, PrecondSpec } from "../model.ts";
import { DiffusersFolderError } from "../diffusers/layout.ts";
import { UNet2DWeightsError } from "../diffusers/unet-weights.ts";
import { SafetensorsError } from "../io/safetensors.ts";
import { loadDiffusers, readDiffusersFolder } from "../node/diffusers-folder.ts";
import { ArgumentError } from "../validate.ts";
import { isDiffusersPath, loadModelFile } from "./sample.ts";

export interface ModelInfo {
  text: string;
  json: Record<string, unknown>;
}

function architecture(c: NetworkConfig): string {
  if (c.kind === "unet") {
    return `UNet, ${c.inChannels} channel${c.inChannels > 1 ? "s" : ""} ${c.size}x${c.size}, levels ${c.channels.join("-")}, ${c.resBlocks} res block${c.resBlocks > 1 ? "s" : ""} per level, attention at level${c.attentionLevels.length === 1 ? "" : "s"} ${c.attentionLevels.join(", ") || "none"}, ${c.groups} groups, noise features ${c.embDim}`;
  }
  return `MLP on points of ${c.dim} values, ${c.blocks} residual blocks of width ${c.hidden}, noise features ${c.embDim}`;
}

function preconditioning(p: PrecondSpec): string {
  if (p.parameterization === "edm") return `EDM (Karras et al. 2022): sigma_data ${p.sigmaData}, sigma in [${p.sigmaMin}, ${p.sigmaMax}]`;
  const s = p.schedule;
  return `${p.parameterization}-prediction on ${s.kind === "discrete" ? `a discrete ${s.betas} schedule, T = ${s.T}` : s.kind}`;
}

const mib = (n: number) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(2)} MiB` : `${(n / 1024).toFixed(1)} KiB`);

/** A diffusers pipeline or model folder: the UNet's blocks and size, its weights' dtype, the scheduler. */
function diffusersInfo(path: string): ModelInfo {
  let p;
  try {
    p = loadDiffusers(path);
  } catch (e) {
    if (e instanceof DiffusersFolderError || e instanceof UNet2DWeightsError || e instanceof SafetensorsError || e instanceof ArgumentError) {
      const why = e instanceof ArgumentError ? e.message.slice(e.arg.length + 2) : e.message;
      throw new ArgumentError("MODEL", `${path}: ${why}`);
    }
    throw e;
  }
  const files = readDiffusersFolder(path);
  const bytes = [...files.values()].reduce((a, b) => a + b.length, 0);
  const c = p.config;
  const s = p.scheduler;
  const json = {
    file: path,
    bytes,
    kind: p.kind === "pipeline" ? `diffusers pipeline${p.pipelineClass ? ` (${p.pipelineClass})` : ""}` : "diffusers UNet2DModel folder",
    architecture: c,
    parameters: p.unet.parameterCount(),
    dtype: p.unet.dtype,
    scheduler: s ? { className: s.className, config: s.config } : null,
  };
  const size = c.sample_size === null ? "?" : typeof c.sample_size === "number" ? `${c.sample_size}x${c.sample_size}` : c.sample_size.join("x");
  const lines = [
    `${path}`,
    `  kind            ${json.kind}`,
    `  architecture    UNet2DModel, ${c.in_channels} -> ${c.out_channels} channels ${size}, blocks ${c.down_block_types.join(", ")} | ${c.up_block_types.join(", ")}, channels ${c.block_out_channels.join("-")}, ${c.layers_per_block} per block`,
    `  parameters      ${json.parameters.toLocaleString("en-US")}`,
    `  dtype           ${p.unet.dtype} (held as float32 in memory)`,
    `  size            ${mib(bytes)} (${bytes} bytes)`,
    `  classes         ${c.num_class_embeds ? `${c.num_class_embeds} (${c.class_embed_type ?? "embedding"})` : "none (unconditional)"}`,
    `  scheduler       ${s ? `${s.className} (${String(s.config.prediction_type ?? "")}${s.config.num_train_timesteps ? `, ${s.config.num_train_timesteps} training steps` : ""})` : "none (a bare model folder)"}`,
  ];
  return { text: lines.join("\n"), json };
}

export function modelInfo(path: string): ModelInfo {
  if (typeof path !== "string") throw new ArgumentError("MODEL", "must be a path");
  if (isDiffusersPath(path)) return diffusersInfo(path);
  const { bytes, model } = loadModelFile("MODEL", path);
  const { tensors, metadata } = readSafetensors(bytes);
  const dtypes = [...new Set(Object.values(tensors).map((t) => t.dtype))].sort();
  const meta = JSON.parse(metadata.meta ?? "{}") as { train?: Record<string, unknown>; step?: number };
  const info = model.info;
  const parts = (metadata.state ?? "").split(",").filter((x) => x);
  const train = meta.train ?? {};
  const step = typeof meta.step === "number" ? meta.step : typeof info.steps === "number" ? info.steps : null;
  const json = {
    file: path,
    bytes: bytes.length,
    kind: parts.length ? `training checkpoint (${parts.join(", ")})` : "model",
    architecture: model.config,
    parameters: model.net.parameterCount(),
    dtype: dtypes,
    itemShape: model.itemShape,
    classes: model.numClasses,
    preconditioning: model.precondSpec,
    step,
    training: { ...train, ...info },
  };
  const lines = [
    `${path}`,
    `  kind            ${json.kind}`,
    `  architecture    ${architecture(model.config)}`,
    `  parameters      ${json.parameters.toLocaleString("en-US")}`,
    `  dtype           ${dtypes.join(", ")}`,
    `  size            ${mib(bytes.length)} (${bytes.length} bytes)`,
    `  item shape      [${model.itemShape.join(", ")}]`,
    `  classes         ${model.numClasses > 0 ? `${model.numClasses} (labels 0..${model.numClasses - 1}; classifier-free guidance)` : "none (unconditional)"}`,
    `  precondition    ${preconditioning(model.precondSpec)}`,
    `  step            ${step ?? "not recorded"}`,
  ];
  for (const [k, v] of Object.entries(json.training)) {
    if (k === "steps" && step !== null) continue;
    const shown = k === "seconds" && typeof v === "number" ? `${(v / 60).toFixed(1)} min` : typeof v === "string" ? v : JSON.stringify(v);
    lines.push(`  ${(k === "seconds" ? "training time" : k).padEnd(15)} ${shown}`);
  }
  return { text: lines.join("\n"), json };
}
