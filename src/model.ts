// A trained model as one safetensors file: the network's parameters under their dotted names, and in
// the metadata the network config, the preconditioning and free-form training info, so the file alone
// rebuilds a Denoiser. Runtime-neutral (bytes in, bytes out): Node, Deno, Bun, Workers and browsers
// load models the same way.

import type { Denoiser } from "./denoiser.ts";
import { readSafetensors, toFloat32, writeSafetensors, type TensorInput } from "./io/safetensors.ts";
import { DEFAULT_MLP, ScoreMLP, type MLPConfig } from "./nn/mlp.ts";
import { UNet, type UNetConfig } from "./nn/unet.ts";
import { discreteSchedule, type BetaScheduleName } from "./schedule/discrete.ts";
import { VPCosine, VPLinear } from "./schedule/continuous.ts";
import type { Network } from "./train/loss.ts";
import { edmPreconditioner, vpPreconditioner, type Preconditioner } from "./train/precondition.ts";
import { networkDenoiser } from "./train/trainer.ts";
import { ArgumentError } from "./validate.ts";

export type NetworkConfig = MLPConfig | UNetConfig;

/** How the preconditioning is described in a model file. */
export type PrecondSpec =
  | { parameterization: "edm"; sigmaData: number; sigmaMin: number; sigmaMax: number }
  | { parameterization: "eps" | "x0" | "v"; schedule: { kind: "discrete"; betas: BetaScheduleName; T: number } | { kind: "vp-linear" | "vp-cosine" } };

export function buildNetwork(config: NetworkConfig): ScoreMLP | UNet {
  if (!config || typeof config !== "object") throw new ArgumentError("config", "must be a network config object");
  if (config.kind === "mlp") return new ScoreMLP({ ...DEFAULT_MLP, ...config });
  if (config.kind === "unet") return new UNet(config);
  throw new ArgumentError("config.kind", `must be "mlp" or "unet", got ${JSON.stringify((config as { kind: unknown }).kind)}`);
}

export function buildPreconditioner(spec: PrecondSpec): Preconditioner {
  if (spec.parameterization === "edm") return edmPreconditioner(spec.sigmaData, spec.sigmaMin, spec.sigmaMax);
  const s = spec.schedule;
  const schedule = s.kind === "discrete" ? discreteSchedule(s.betas, { T: s.T }) : s.kind === "vp-linear" ? new VPLinear() : new VPCosine();
  return vpPreconditioner(spec.parameterization, schedule);
}

/** The shape of one item the network takes: [C, S, S] for a UNet, [dim] for an MLP. */
export function itemShapeOf(config: NetworkConfig): number[] {
  return config.kind === "unet" ? [config.inChannels, config.size, config.size] : [config.dim];
}

export interface LoadedModel {
  config: NetworkConfig;
  precond: Preconditioner;
  precondSpec: PrecondSpec;
  net: ScoreMLP | UNet;
  itemShape: number[];
  numClasses: number;
  /** Free-form information stored with the model (training command, steps, final loss...). */
  info: Record<string, unknown>;
  /**
   * The model as a Denoiser. Fixed labels condition every call; a 4th argument overrides them per
   * call (label -1, or numClasses, is "no label": the unconditional model of classifier-free guidance).
   */
  denoiser(labels?: Int32Array): Denoiser & ((x: Float32Array, sigma: Float64Array, batch: number, labels?: Int32Array) => Float32Array);
}

export interface SaveOptions {
  /** Store weights as float16 (half the size; values round to nearest even). Default false. */
  fp16?: boolean;
  info?: Record<string, unknown>;
}

/** Serialise a network's parameters (or `values`, e.g. its EMA) with its config and preconditioning. */
export function saveModel(
  net: Network & { config: NetworkConfig },
  precondSpec: PrecondSpec,
  opts: SaveOptions & { values?: Map<string, Float32Array> } = {},
): Uint8Array {
  const tensors: Record<string, TensorInput> = {};
  for (const [name, t] of net.parameters()) {
    const data = opts.values?.get(name) ?? t.data;
    if (data.length !== t.size) throw new ArgumentError(`values[${JSON.stringify(name)}]`, `has ${data.length} values, the parameter has ${t.size}`);
    tensors[name] = { dtype: opts.fp16 ? "F16" : "F32", shape: [...t.shape], data };
  }
  return writeSafetensors(tensors, {
    format: "edge-diffusion-model",
    version: "1",
    config: JSON.stringify(net.config),
    precond: JSON.stringify(precondSpec),
    info: JSON.stringify(opts.info ?? {}),
  });
}

function parseMeta(meta: Record<string, string>, key: string): unknown {
  const raw = meta[key];
  if (raw === undefined) throw new ArgumentError("model", `is not an edge-diffusion model file: metadata has no ${JSON.stringify(key)}`);
  try {
    return JSON.parse(raw);
  } catch {
    throw new ArgumentError("model", `metadata ${JSON.stringify(key)} is not valid JSON`);
  }
}

/** Rebuild a model from the bytes of a file written by saveModel (or `edge-diffusion train`). */
export function loadModel(bytes: Uint8Array): LoadedModel {
  const file = readSafetensors(bytes);
  if (file.metadata.format !== "edge-diffusion-model") {
    throw new ArgumentError("model", `is not an edge-diffusion model file (metadata format is ${JSON.stringify(file.metadata.format ?? null)})`);
  }
  const config = parseMeta(file.metadata, "config") as NetworkConfig;
  const precondSpec = parseMeta(file.metadata, "precond") as PrecondSpec;
  const info = (parseMeta(file.metadata, "info") ?? {}) as Record<string, unknown>;
  const net = buildNetwork(config);
  const values = new Map<string, Float32Array>();
  for (const [name, t] of Object.entries(file.tensors)) values.set(name, toFloat32(t, name));
  for (const [name, t] of net.parameters()) {
    const v = values.get(name);
    if (!v) throw new ArgumentError("model", `has no tensor ${JSON.stringify(name)} for its network`);
    const st = file.tensors[name];
    if (st.shape.join() !== t.shape.join()) throw new ArgumentError("model", `tensor ${JSON.stringify(name)} has shape [${st.shape}], the network needs [${t.shape}]`);
  }
  net.loadParameters(values);
  const precond = buildPreconditioner(precondSpec);
  const itemShape = itemShapeOf(config);
  return {
    config,
    precond,
    precondSpec,
    net,
    itemShape,
    numClasses: config.numClasses,
    info,
    denoiser: (labels) => networkDenoiser(net, precond, itemShape, labels),
  };
}
