// A trained model is a checkpoint file (src/io/checkpoint.ts: safetensors with the parameters under
// their dotted names) whose meta holds the network config, the preconditioning and free-form training
// info, so the file alone rebuilds a Denoiser. A training checkpoint (with EMA and Adam moments) is
// therefore also a model: loadModel takes its EMA weights. Runtime-neutral (bytes in, bytes out): Node,
// Deno, Bun, Workers and browsers load models the same way.

import { packCheckpoint, unpackCheckpoint, type ParamMap } from "./io/checkpoint.ts";
import { DEFAULT_MLP, ScoreMLP, type MLPConfig } from "./nn/mlp.ts";
import { UNet, type UNetConfig } from "./nn/unet.ts";
import { discreteSchedule, type BetaScheduleName } from "./schedule/discrete.ts";
import { VPCosine, VPLinear } from "./schedule/continuous.ts";
import type { LabelledDenoiser } from "./denoiser/contract.ts";
import type { Network } from "./denoiser/network.ts";
import { networkDenoiser, type InferenceOptions } from "./denoiser/network-denoiser.ts";
import { edmPreconditioner, flowPreconditioner, vpPreconditioner, type Preconditioner } from "./denoiser/precondition.ts";
import { BufferPool } from "./autograd/pool.ts";
import { ArgumentError } from "./validate.ts";

export type NetworkConfig = MLPConfig | UNetConfig;

/** How the preconditioning is described in a model file. */
export type PrecondSpec =
  | { parameterization: "edm"; sigmaData: number; sigmaMin: number; sigmaMax: number }
  | { parameterization: "eps" | "x0" | "v"; schedule: { kind: "discrete"; betas: BetaScheduleName; T: number } | { kind: "vp-linear" | "vp-cosine" } }
  /** A rectified-flow velocity model (x_t = (1 - t) x0 + t eps, v = eps - x0), trained on t in [tMin, tMax]. */
  | { parameterization: "flow"; schedule: { kind: "rectified-flow" }; tMin: number; tMax: number };

export function buildNetwork(config: NetworkConfig): ScoreMLP | UNet {
  if (!config || typeof config !== "object") throw new ArgumentError("config", "must be a network config object");
  if (config.kind === "mlp") return new ScoreMLP({ ...DEFAULT_MLP, ...config });
  if (config.kind === "unet") return new UNet(config);
  throw new ArgumentError("config.kind", `must be "mlp" or "unet", got ${JSON.stringify((config as { kind: unknown }).kind)}`);
}

export function buildPreconditioner(spec: PrecondSpec): Preconditioner {
  if (spec.parameterization === "edm") return edmPreconditioner(spec.sigmaData, spec.sigmaMin, spec.sigmaMax);
  if (spec.parameterization === "flow") return flowPreconditioner(spec.tMin, spec.tMax);
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
   * The activation buffers its denoisers reuse: about microBatch x 3.5 MB for the MNIST UNet (14 MB at the default 4), held
   * while the model is; `pool.clear()` gives them back.
   */
  pool: BufferPool;
  /**
   * The model as a Denoiser. Fixed labels condition every call; a 4th argument overrides them per
   * call (label -1, or numClasses, is "no label": the unconditional model of classifier-free guidance).
   * Every denoiser of one model shares the model's activation pool (`pool`), unless opts gives another.
   */
  denoiser(labels?: Int32Array, opts?: InferenceOptions): LabelledDenoiser;
}

export interface SaveOptions {
  /** Store weights as float16 (half the size; values round to nearest even). Default false. */
  fp16?: boolean;
  info?: Record<string, unknown>;
}

/** Model metadata, stored as the checkpoint's meta. */
export interface ModelMeta {
  config: NetworkConfig;
  precond: PrecondSpec;
  info?: Record<string, unknown>;
}

/** A network's parameters (or `values`, e.g. its EMA) as a ParamMap. */
export function paramMap(net: Network, values?: Map<string, Float32Array>): ParamMap {
  const out: ParamMap = {};
  for (const [name, t] of net.parameters()) {
    const data = values?.get(name) ?? t.data;
    if (data.length !== t.size) throw new ArgumentError(`values[${JSON.stringify(name)}]`, `has ${data.length} values, the parameter has ${t.size}`);
    out[name] = { shape: [...t.shape], data };
  }
  return out;
}

/** Serialise a network's parameters (or `values`, e.g. its EMA) with its config and preconditioning. */
export function saveModel(
  net: Network & { config: NetworkConfig },
  precondSpec: PrecondSpec,
  opts: SaveOptions & { values?: Map<string, Float32Array> } = {},
): Uint8Array {
  const meta: ModelMeta = { config: net.config, precond: precondSpec, info: opts.info ?? {} };
  return packCheckpoint({ params: paramMap(net, opts.values), meta: meta as unknown as Record<string, unknown> }, { dtype: opts.fp16 ? "F16" : "F32" });
}

/**
 * Rebuild a model from the bytes of a file written by saveModel or `edge-diffusion train` (a training
 * checkpoint loads its EMA weights).
 */
export function loadModel(bytes: Uint8Array): LoadedModel {
  const ckpt = unpackCheckpoint(bytes);
  const meta = ckpt.meta as Partial<ModelMeta>;
  if (!meta.config || typeof meta.config !== "object") throw new ArgumentError("model", "is a checkpoint without a network config in its meta");
  if (!meta.precond || typeof meta.precond !== "object") throw new ArgumentError("model", "is a checkpoint without a preconditioning in its meta");
  const config = meta.config;
  const precondSpec = meta.precond;
  const net = buildNetwork(config);
  const weights = ckpt.ema ?? ckpt.params;
  const values = new Map<string, Float32Array>();
  for (const [name, t] of net.parameters()) {
    const v = weights[name];
    if (!v) throw new ArgumentError("model", `has no tensor ${JSON.stringify(name)} for its network`);
    if (v.shape.join() !== t.shape.join()) throw new ArgumentError("model", `tensor ${JSON.stringify(name)} has shape [${v.shape}], the network needs [${t.shape}]`);
    values.set(name, v.data);
  }
  net.loadParameters(values);
  const precond = buildPreconditioner(precondSpec);
  const itemShape = itemShapeOf(config);
  const pool = new BufferPool();
  return {
    pool,
    config,
    precond,
    precondSpec,
    net,
    itemShape,
    numClasses: config.numClasses,
    info: meta.info ?? {},
    denoiser: (labels, opts) => networkDenoiser(net, precond, itemShape, labels, { pool, ...opts }),
  };
}
