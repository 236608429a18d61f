// A diffusers UNet2DModel here: built from (config.json, safetensors bytes) or from a config alone
// (random init, for training), called like UNet2DModel.forward, and saved back as the two files of a
// diffusers model folder. The config is laid out and its parameter count compared with the weights file
// before any parameter is allocated, so a hostile config cannot make the loader allocate more than the
// file it came with justifies (at most 2x the file: an F16 file is widened to float32).
//
// Weights are held as float32 in the module's parameters whatever the file's dtype (F16 and BF16 are
// widened exactly on load); `dtype` records what the file stored.

import { BufferPool, withPool } from "../autograd/pool.ts";
import { noGrad, Tensor } from "../autograd/tensor.ts";
import { UNet2D } from "../nn/unet2d.ts";
import { ArgumentError } from "../validate.ts";
import { parseUNet2DConfig, parseUNet2DConfigText, unet2dConfigSize, unet2dConfigToJson, type UNet2DConfig } from "./unet-config.ts";
import { copyWeightInto, readUNet2DWeights, UNet2DWeightsError, writeUNet2DWeights, type WeightDtype } from "./unet-weights.ts";

/** An image batch as UNet2DModel.forward takes and returns it: NCHW float32. */
export interface UNet2DSample {
  data: Float32Array;
  shape: readonly number[];
}

/** Default cap on a model created from a config alone (no file to justify it): 256 M parameters, 1 GiB of float32. */
export const DEFAULT_MAX_PARAMETERS = 256 * 1024 * 1024;

export const UNET_CONFIG_FILE = "config.json";
export const UNET_WEIGHTS_FILE = "diffusion_pytorch_model.safetensors";

export class DiffusersUNet2D {
  /** The trainable network; its parameters() carry diffusers' state-dict names. */
  readonly module: UNet2D;
  /** The dtype of the weights file it was loaded from ("F32" for a fresh model). Values are float32 in memory. */
  readonly dtype: WeightDtype | "mixed";
  /** Where forward's activations come from; after the first call at a batch size, later calls allocate no activations. */
  readonly pool = new BufferPool();

  constructor(module: UNet2D, dtype: WeightDtype | "mixed" = "F32") {
    this.module = module;
    this.dtype = dtype;
  }

  get config(): UNet2DConfig {
    return this.module.config;
  }

  parameterCount(): number {
    return this.module.parameterCount();
  }

  /**
   * UNet2DModel.forward(sample, timestep, class_labels).sample, without recording a graph: sample
   * [B, in_channels, H, W]; timesteps one number per item (integers or floats) or a single number for
   * all; classLabels one per item (or E values per item for class_embed_type "identity"), a single one
   * broadcasting. Returns a fresh [B, out_channels, H, W] array; activations come from a pool that is
   * reused by the next call.
   */
  forward(sample: UNet2DSample, timesteps: number | ArrayLike<number>, classLabels?: number | ArrayLike<number>): { data: Float32Array; shape: [number, number, number, number] } {
    if (sample === null || typeof sample !== "object" || !(sample.data instanceof Float32Array)) throw new ArgumentError("sample", "must be { data: Float32Array, shape: [B, C, H, W] }");
    const shape = sample.shape;
    if (!Array.isArray(shape) || shape.length !== 4 || !shape.every((d) => Number.isInteger(d) && d >= 1)) {
      throw new ArgumentError("sample.shape", `must be [B, C, H, W] of positive integers, got ${JSON.stringify(shape)}`);
    }
    const [B] = shape;
    if (shape.reduce((a, b) => a * b, 1) !== sample.data.length) throw new ArgumentError("sample.data", `has ${sample.data.length} values, shape [${shape.join(", ")}] needs ${shape.reduce((a, b) => a * b, 1)}`);
    const t = broadcast("timesteps", timesteps, B, 1);
    const E = this.module.layout.temb;
    const labels = classLabels === undefined ? undefined : broadcast("classLabels", classLabels, B, this.config.class_embed_type === "identity" ? E : 1);
    return noGrad(() =>
      withPool(this.pool, () => {
        const y = this.module.forward(new Tensor(sample.data, shape), t, labels);
        return { data: Float32Array.from(y.data), shape: y.shape.slice() as [number, number, number, number] };
      }),
    );
  }

  /** The model as the two files of a diffusers model folder. */
  save(opts: { dtype?: WeightDtype; diffusersVersion?: string } = {}): Record<string, Uint8Array> {
    return {
      [UNET_CONFIG_FILE]: new TextEncoder().encode(unet2dConfigToJson(this.config, opts)),
      [UNET_WEIGHTS_FILE]: writeUNet2DWeights(this.module.parameters(), opts),
    };
  }
}

/** Values per item: a number or a 1-item list broadcasts (as UNet2DModel broadcasts a 0-d timestep). */
function broadcast(arg: string, v: number | ArrayLike<number>, B: number, per: number): Float64Array {
  if (typeof v === "number") v = [v];
  if (v === null || typeof v !== "object" || typeof v.length !== "number") throw new ArgumentError(arg, `must be a number or a list of numbers, got ${typeof v}`);
  const n = v.length;
  if (n !== B * per && n !== per) throw new ArgumentError(arg, `must have ${per === 1 ? "one value" : `${per} values`} per item (${B * per}) or ${per === 1 ? "a single value" : `${per} for all`}, got ${n}`);
  const out = new Float64Array(B * per);
  for (let i = 0; i < B * per; i++) {
    const x = Number(v[n === per ? i % per : i]);
    if (!Number.isFinite(x)) throw new ArgumentError(`${arg}[${i}]`, `must be a finite number, got ${String(v[i])}`);
    out[i] = x;
  }
  return out;
}

function configOf(config: unknown): UNet2DConfig {
  return typeof config === "string" ? parseUNet2DConfigText(config) : parseUNet2DConfig(config);
}

/** A fresh UNet2DModel (PyTorch's default initialisation, seeded per parameter name) for a config (text or parsed JSON). */
export function createUNet2DModel(config: unknown, opts: { seed?: number; maxParameters?: number } = {}): DiffusersUNet2D {
  const c = configOf(config);
  const { layout, parameters } = unet2dConfigSize(c);
  const max = opts.maxParameters ?? DEFAULT_MAX_PARAMETERS;
  if (parameters > max) throw new ArgumentError("config", `describes ${parameters} parameters, above maxParameters (${max})`);
  return new DiffusersUNet2D(new UNet2D(layout).initialize(opts.seed ?? 0));
}

/**
 * A UNet2DModel from its config (text or parsed JSON) and its diffusion_pytorch_model.safetensors bytes.
 * Order: config validated and laid out; pickles refused; the file parsed and matched tensor by tensor
 * against the config's parameter list (counts compared); only then the model is allocated.
 */
export function loadUNet2DModel(config: unknown, weights: Uint8Array, opts: { fileName?: string } = {}): DiffusersUNet2D {
  const c = configOf(config);
  const { layout } = unet2dConfigSize(c);
  const w = readUNet2DWeights(layout, weights, opts);
  const module = new UNet2D(layout);
  for (const [name, p] of module.parameters()) copyWeightInto(w.tensors.get(name)!, p.data);
  return new DiffusersUNet2D(module, w.dtype);
}

export { UNet2DWeightsError };
