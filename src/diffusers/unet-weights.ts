// diffusers UNet2DModel weights (diffusion_pytorch_model.safetensors) onto the parameters of
// src/nn/unet2d.ts, and back. Reading treats the file as hostile: PyTorch pickles are refused before
// anything is parsed (unpickling runs code), the safetensors reader checks the layout, and every
// tensor is matched by name, shape and dtype against the parameter list the config implies, with
// every problem named in one error. Old checkpoints (google/ddpm-*, diffusers < 0.14) name attention
// weights query/key/value/proj_attn; they are read as diffusers' own loader renames them
// (ModelMixin._convert_deprecated_attention_blocks).

import { halfBitsToFloat } from "../io/half.ts";
import { readSafetensors, writeSafetensors, type Dtype, type SafeTensor, type TensorInput } from "../io/safetensors.ts";
import { unet2dParameterShapes, type UNet2DLayout } from "../nn/unet2d.ts";
import type { Tensor } from "../autograd/tensor.ts";
import { ArgumentError } from "../validate.ts";

export type UNet2DWeightsErrorCode = "pickle" | "mismatch" | "duplicate" | "dtype";

/** Weights that do not fit the config (or are not safetensors). Lists name every offending tensor. */
export class UNet2DWeightsError extends Error {
  readonly code: UNet2DWeightsErrorCode;
  readonly missing: readonly string[];
  readonly unexpected: readonly string[];
  readonly misshaped: readonly { name: string; expected: number[]; got: number[] }[];
  /** The tensor named by a duplicate or dtype error. */
  readonly key: string | undefined;
  constructor(
    code: UNet2DWeightsErrorCode,
    message: string,
    details: { missing?: string[]; unexpected?: string[]; misshaped?: { name: string; expected: number[]; got: number[] }[]; key?: string } = {},
  ) {
    super(`diffusers weights: ${message}`);
    this.name = "UNet2DWeightsError";
    this.code = code;
    this.missing = details.missing ?? [];
    this.unexpected = details.unexpected ?? [];
    this.misshaped = details.misshaped ?? [];
    this.key = details.key;
  }
}

/** Dtypes a UNet2DModel checkpoint may store; all are widened to float32 on load for now. */
export const WEIGHT_DTYPES = ["F32", "F16", "BF16"] as const;
export type WeightDtype = (typeof WEIGHT_DTYPES)[number];

const CONVERT_HINT =
  "convert it to safetensors with diffusers: UNet2DModel.from_pretrained(folder).save_pretrained(out, safe_serialization=True) " +
  "(or for a whole pipeline, DiffusionPipeline.from_pretrained(folder).save_pretrained(out, safe_serialization=True))";

/**
 * Refuse a PyTorch checkpoint (torch.save: a zip archive since PyTorch 1.6, a bare pickle before) by its
 * file name or its first bytes, before any parsing. It is never unpickled: a pickle can run code.
 */
export function refusePickle(bytes: Uint8Array, fileName?: string): void {
  const named = fileName !== undefined && /\.(bin|ckpt|pt|pth|pkl|pickle)$/i.test(fileName);
  const zip = bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
  const pickle = bytes.length >= 2 && bytes[0] === 0x80 && bytes[1] >= 2 && bytes[1] <= 5;
  if (named || zip || pickle) {
    const what = named ? `${fileName} is a PyTorch checkpoint` : zip ? "these bytes are a zip archive (a PyTorch torch.save checkpoint)" : "these bytes are a Python pickle";
    throw new UNet2DWeightsError("pickle", `${what}, which is never unpickled here (loading a pickle can run arbitrary code); ${CONVERT_HINT}`);
  }
}

/** Deprecated attention names -> current ones (the renames diffusers' loader applies). */
const LEGACY_ATTENTION: Record<string, string> = { query: "to_q", key: "to_k", value: "to_v", proj_attn: "to_out.0" };
const LEGACY_RE = /^(.+)\.(query|key|value|proj_attn)\.(weight|bias)$/;

const LIST_MAX = 12;
function listed(label: string, items: string[]): string {
  if (items.length === 0) return "";
  const shown = items.slice(0, LIST_MAX).join(", ");
  return ` ${label} (${items.length}): ${shown}${items.length > LIST_MAX ? `, ... ${items.length - LIST_MAX} more` : ""}.`;
}

export interface LoadedWeights {
  /** Parameter name -> the file's tensor (F32, F16 or BF16, shape checked), for every parameter of the layout. */
  tensors: Map<string, SafeTensor>;
  /** The file's dtype, or "mixed" when its tensors differ. */
  dtype: WeightDtype | "mixed";
  /** Tensors read under a deprecated name: [current name, name in the file]. */
  renamed: [string, string][];
}

/**
 * Read a diffusers safetensors file for `layout`: every parameter present with its shape, nothing else,
 * in F32, F16 or BF16. Throws UNet2DWeightsError (pickle, mismatch with every missing, unexpected and
 * mis-shaped tensor listed, duplicate, dtype) or SafetensorsError (a damaged or truncated file).
 */
export function readUNet2DWeights(layout: UNet2DLayout, bytes: Uint8Array, opts: { fileName?: string } = {}): LoadedWeights {
  if (!(bytes instanceof Uint8Array)) throw new ArgumentError("weights", "must be a Uint8Array");
  refusePickle(bytes, opts.fileName);
  const expected = new Map(unet2dParameterShapes(layout));
  let expectedCount = 0;
  for (const s of expected.values()) expectedCount += s.reduce((a, b) => a * b, 1);

  const file = readSafetensors(bytes); // throws SafetensorsError, naming the tensor where there is one
  // map file names to parameter names, renaming deprecated attention names
  const byName = new Map<string, { t: SafeTensor; fileName: string }>();
  const renamed: [string, string][] = [];
  const unexpected: string[] = [];
  let fileCount = 0;
  for (const fileName of Object.keys(file.tensors)) {
    const t = file.tensors[fileName];
    fileCount += t.data.length;
    let name = fileName;
    const m = LEGACY_RE.exec(fileName);
    if (m && !expected.has(fileName)) {
      const current = `${m[1]}.${LEGACY_ATTENTION[m[2]]}.${m[3]}`;
      if (expected.has(current)) {
        name = current;
        renamed.push([current, fileName]);
      }
    }
    const prev = byName.get(name);
    if (prev) {
      throw new UNet2DWeightsError("duplicate", `${JSON.stringify(name)} is stored twice, as ${JSON.stringify(prev.fileName)} and ${JSON.stringify(fileName)}`, { key: name });
    }
    if (!expected.has(name)) unexpected.push(fileName);
    else byName.set(name, { t, fileName });
  }
  const missing: string[] = [];
  const misshaped: { name: string; expected: number[]; got: number[] }[] = [];
  for (const [name, shape] of expected) {
    const e = byName.get(name);
    if (!e) missing.push(name);
    else if (e.t.shape.length !== shape.length || e.t.shape.some((d, i) => d !== shape[i])) misshaped.push({ name: e.fileName, expected: shape, got: e.t.shape });
  }
  if (missing.length || unexpected.length || misshaped.length) {
    const shapes = misshaped.map((m) => `${m.name} [${m.got.join(", ")}], expected [${m.expected.join(", ")}]`);
    throw new UNet2DWeightsError(
      "mismatch",
      `the file does not fit the config: the config describes ${expectedCount} parameters in ${expected.size} tensors, the file holds ${fileCount} values in ${Object.keys(file.tensors).length} tensors.` +
        listed("Missing", missing) +
        listed("Unexpected", unexpected) +
        listed("Mis-shaped", shapes),
      { missing, unexpected, misshaped },
    );
  }
  const tensors = new Map<string, SafeTensor>();
  const dtypes = new Set<Dtype>();
  for (const name of expected.keys()) {
    const { t, fileName } = byName.get(name)!;
    if (!(WEIGHT_DTYPES as readonly string[]).includes(t.dtype)) {
      throw new UNet2DWeightsError("dtype", `${JSON.stringify(fileName)} is ${t.dtype}; UNet2DModel weights must be ${WEIGHT_DTYPES.join(", ")}`, { key: fileName });
    }
    dtypes.add(t.dtype);
    tensors.set(name, t);
  }
  const dtype = dtypes.size === 1 ? ([...dtypes][0] as WeightDtype) : "mixed";
  return { tensors, dtype, renamed };
}

/**
 * Write an F32, F16 or BF16 tensor's values into a float32 parameter, widening exactly, without an
 * intermediate array (loading holds the file's tensors and the model's parameters, nothing more).
 */
export function copyWeightInto(t: SafeTensor, out: Float32Array): void {
  if (t.data.length !== out.length) throw new ArgumentError("out", `has ${out.length} values, the tensor ${t.data.length}`);
  if (t.dtype === "F32") out.set(t.data as Float32Array);
  else if (t.dtype === "F16") {
    const src = t.data as Uint16Array;
    for (let i = 0; i < src.length; i++) out[i] = halfBitsToFloat(src[i]);
  } else if (t.dtype === "BF16") {
    const src = t.data as Uint16Array;
    const bits = new Uint32Array(out.buffer, out.byteOffset, out.length); // bf16 is float32's top half
    for (let i = 0; i < src.length; i++) bits[i] = src[i] << 16;
  } else throw new ArgumentError("t", `must be F32, F16 or BF16, got ${t.dtype}`);
}

/**
 * A model's parameters as a diffusers safetensors file: diffusers' names, the given dtype (F16 and BF16
 * round to nearest even), and the {"format": "pt"} metadata PyTorch's save_file writes.
 */
export function writeUNet2DWeights(parameters: Map<string, Tensor>, opts: { dtype?: WeightDtype } = {}): Uint8Array {
  const dtype = opts.dtype ?? "F32";
  if (!(WEIGHT_DTYPES as readonly string[]).includes(dtype)) throw new ArgumentError("dtype", `must be one of ${WEIGHT_DTYPES.join(", ")}, got ${String(dtype)}`);
  const tensors: Record<string, TensorInput> = {};
  for (const [name, t] of parameters) tensors[name] = { dtype, shape: t.shape, data: t.data };
  return writeSafetensors(tensors, { format: "pt" });
}
