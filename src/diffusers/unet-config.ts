// A diffusers UNet2DModel config.json: parsed and validated as untrusted input, completed with diffusers'
// defaults for the keys an older diffusers did not write, and written back with the keys and the
// formatting diffusers' save_config uses (json.dumps(indent=2, sort_keys=True) plus a newline).
//
// Every value is bounded before anything is sized from it (UNET2D_LIMITS), and the whole architecture
// is laid out (src/nn/unet2d.ts) without allocating, so a caller can compare the parameter count with a
// weights file before building the model. An unknown key or an unsupported value is an ArgumentError
// named for the key, listing what is allowed.

import { JsonError, parseJsonStrict } from "../io/json.ts";
import { ACT_FNS, DOWN_BLOCK_TYPES, UP_BLOCK_TYPES, unet2dLayout, unet2dParameterCount, type UNet2DConfig, type UNet2DLayout } from "../nn/unet2d.ts";
import { ArgumentError } from "../validate.ts";

export type { UNet2DConfig } from "../nn/unet2d.ts";

/** UNet2DModel.__init__'s defaults (diffusers 0.40.0.dev0, models/unets/unet_2d.py). */
export const UNET2D_DEFAULTS: Readonly<UNet2DConfig> = Object.freeze({
  sample_size: null,
  in_channels: 3,
  out_channels: 3,
  center_input_sample: false,
  time_embedding_type: "positional",
  time_embedding_dim: null,
  freq_shift: 0,
  flip_sin_to_cos: true,
  down_block_types: ["DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"],
  mid_block_type: "UNetMidBlock2D",
  up_block_types: ["AttnUpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"],
  block_out_channels: [224, 448, 672, 896],
  layers_per_block: 2,
  mid_block_scale_factor: 1,
  downsample_padding: 1,
  downsample_type: "conv",
  upsample_type: "conv",
  dropout: 0.0,
  act_fn: "silu",
  attention_head_dim: 8,
  norm_num_groups: 32,
  attn_norm_num_groups: null,
  norm_eps: 1e-5,
  resnet_time_scale_shift: "default",
  add_attention: true,
  class_embed_type: null,
  num_class_embeds: null,
  num_train_timesteps: null,
} as UNet2DConfig);

export const UNET2D_CONFIG_KEYS = Object.keys(UNET2D_DEFAULTS) as (keyof UNet2DConfig)[];

/**
 * Bounds on every size a config can ask for. They are far above any published UNet2DModel (ddpm-*-256:
 * 6 blocks, 256 channels at most), and keep the layout's own work small (at most 16 x 65 resnets).
 */
export const UNET2D_LIMITS = Object.freeze({
  blocks: 16,
  layersPerBlock: 64,
  channels: 65536,
  groups: 65536,
  classes: 1 << 24,
  timesteps: 1 << 24,
  sampleSize: 65536,
  padding: 64,
  /** Largest config.json text accepted, in characters. */
  textLength: 1 << 20,
});

/** The version diffusers writes into configs we save: the one whose UNet2DModel keys this module mirrors. */
export const DIFFUSERS_VERSION = "0.40.0.dev0";

function show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (typeof v === "number" || typeof v === "boolean" || v === null || v === undefined) return String(v);
  return Array.isArray(v) ? `an array of ${v.length}` : typeof v === "object" ? "an object" : typeof v;
}

function intIn(key: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) throw new ArgumentError(key, `must be an integer in [${lo}, ${hi}], got ${show(v)}`);
  return v;
}

function orNull<T>(v: unknown, f: (v: unknown) => T): T | null {
  return v === null ? null : f(v);
}

function bool(key: string, v: unknown): boolean {
  if (typeof v !== "boolean") throw new ArgumentError(key, `must be true or false, got ${show(v)}`);
  return v;
}

function choice<T extends string | null>(key: string, v: unknown, allowed: readonly T[]): T {
  if (!(allowed as readonly unknown[]).includes(v)) throw new ArgumentError(key, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}, got ${show(v)}`);
  return v as T;
}

function num(key: string, v: unknown, lo: number, hi: number, loOpen = false): number {
  if (typeof v !== "number" || !Number.isFinite(v) || (loOpen ? v <= lo : v < lo) || v > hi) {
    throw new ArgumentError(key, `must be a finite number in ${loOpen ? "(" : "["}${lo}, ${hi}], got ${show(v)}`);
  }
  return v;
}

function list(key: string, v: unknown, max: number): unknown[] {
  if (!Array.isArray(v) || v.length < 1 || v.length > max) throw new ArgumentError(key, `must be a list of 1 to ${max} entries, got ${show(v)}`);
  return v;
}

/** diffusers' get_down_block / get_up_block strip a "UNetRes" prefix ("UNetResDownBlock2D" is DownBlock2D). */
function blockType<T extends string>(key: string, v: unknown, allowed: readonly T[]): T {
  const s = typeof v === "string" && v.startsWith("UNetRes") ? v.slice(7) : v;
  return choice(key, s, allowed);
}

/**
 * Validate a parsed config.json (untrusted) and complete it with diffusers' defaults. Keys starting
 * with "_" are diffusers' bookkeeping (_class_name, _diffusers_version, _name_or_path, ...) and do not
 * change the network; _class_name, when present, must be "UNet2DModel". Throws ArgumentError naming the
 * first bad key.
 */
export function parseUNet2DConfig(json: unknown): UNet2DConfig {
  if (json === null || typeof json !== "object" || Array.isArray(json)) throw new ArgumentError("config", `must be a JSON object, got ${show(json)}`);
  const src = json as Record<string, unknown>;
  const known = new Set<string>(UNET2D_CONFIG_KEYS);
  for (const k of Object.keys(src)) {
    if (k.startsWith("_")) continue;
    if (!known.has(k)) {
      throw new ArgumentError(show(k).slice(1, -1), `is not a UNet2DModel config key; the keys are ${UNET2D_CONFIG_KEYS.join(", ")} (and "_"-prefixed metadata)`);
    }
  }
  if (Object.prototype.hasOwnProperty.call(src, "_class_name") && src._class_name !== "UNet2DModel") {
    throw new ArgumentError("_class_name", `must be "UNet2DModel" (the only diffusers model class read here), got ${show(src._class_name)}`);
  }
  const get = (k: keyof UNet2DConfig): unknown => (Object.prototype.hasOwnProperty.call(src, k) ? src[k] : UNET2D_DEFAULTS[k]);
  const Lm = UNET2D_LIMITS;
  const ch = (k: string) => (v: unknown) => intIn(k, v, 1, Lm.channels);

  const sampleSize = get("sample_size");
  const c: UNet2DConfig = {
    sample_size:
      sampleSize === null
        ? null
        : Array.isArray(sampleSize)
          ? (() => {
              if (sampleSize.length !== 2) throw new ArgumentError("sample_size", `must be an integer, a pair [height, width] or null, got ${show(sampleSize)}`);
              return [intIn("sample_size[0]", sampleSize[0], 1, Lm.sampleSize), intIn("sample_size[1]", sampleSize[1], 1, Lm.sampleSize)] as [number, number];
            })()
          : intIn("sample_size", sampleSize, 1, Lm.sampleSize),
    in_channels: intIn("in_channels", get("in_channels"), 1, Lm.channels),
    out_channels: intIn("out_channels", get("out_channels"), 1, Lm.channels),
    center_input_sample: bool("center_input_sample", get("center_input_sample")),
    time_embedding_type: choice("time_embedding_type", get("time_embedding_type"), ["positional", "fourier", "learned"] as const),
    time_embedding_dim: orNull(get("time_embedding_dim"), ch("time_embedding_dim")),
    freq_shift: num("freq_shift", get("freq_shift"), -Lm.channels, Lm.channels),
    flip_sin_to_cos: bool("flip_sin_to_cos", get("flip_sin_to_cos")),
    down_block_types: list("down_block_types", get("down_block_types"), Lm.blocks).map((v, i) => blockType(`down_block_types[${i}]`, v, DOWN_BLOCK_TYPES)),
    mid_block_type: choice("mid_block_type", get("mid_block_type"), ["UNetMidBlock2D", null] as const),
    up_block_types: list("up_block_types", get("up_block_types"), Lm.blocks).map((v, i) => blockType(`up_block_types[${i}]`, v, UP_BLOCK_TYPES)),
    block_out_channels: list("block_out_channels", get("block_out_channels"), Lm.blocks).map((v, i) => intIn(`block_out_channels[${i}]`, v, 1, Lm.channels)),
    layers_per_block: intIn("layers_per_block", get("layers_per_block"), 1, Lm.layersPerBlock),
    mid_block_scale_factor: num("mid_block_scale_factor", get("mid_block_scale_factor"), 0, 1e6, true),
    downsample_padding: intIn("downsample_padding", get("downsample_padding"), 0, Lm.padding),
    downsample_type: choice("downsample_type", get("downsample_type"), ["conv", "resnet", null] as const),
    upsample_type: choice("upsample_type", get("upsample_type"), ["conv", "resnet", null] as const),
    dropout: num("dropout", get("dropout"), 0, 1),
    act_fn: choice("act_fn", get("act_fn"), ACT_FNS),
    attention_head_dim: orNull(get("attention_head_dim"), ch("attention_head_dim")),
    norm_num_groups: orNull(get("norm_num_groups"), (v) => intIn("norm_num_groups", v, 1, Lm.groups)),
    attn_norm_num_groups: orNull(get("attn_norm_num_groups"), (v) => intIn("attn_norm_num_groups", v, 1, Lm.groups)),
    norm_eps: num("norm_eps", get("norm_eps"), 0, 1, true),
    resnet_time_scale_shift: choice("resnet_time_scale_shift", get("resnet_time_scale_shift"), ["default", "scale_shift"] as const),
    add_attention: bool("add_attention", get("add_attention")),
    class_embed_type: choice("class_embed_type", get("class_embed_type"), [null, "timestep", "identity"] as const),
    num_class_embeds: orNull(get("num_class_embeds"), (v) => intIn("num_class_embeds", v, 1, Lm.classes)),
    num_train_timesteps: orNull(get("num_train_timesteps"), (v) => intIn("num_train_timesteps", v, 1, Lm.timesteps)),
  };
  if (c.down_block_types.length !== c.block_out_channels.length) {
    throw new ArgumentError("down_block_types", `must have one entry per block_out_channels entry (${c.block_out_channels.length}), got ${c.down_block_types.length}`);
  }
  if (c.up_block_types.length !== c.block_out_channels.length) {
    throw new ArgumentError("up_block_types", `must have one entry per block_out_channels entry (${c.block_out_channels.length}), got ${c.up_block_types.length}`);
  }
  unet2dLayout(c); // the architecture must be buildable: group counts, heads, skip paths
  return c;
}

/** Parse config.json text (strict JSON: no duplicate keys, nesting and length bounded), then validate it. */
export function parseUNet2DConfigText(text: string): UNet2DConfig {
  if (typeof text !== "string") throw new ArgumentError("config.json", `must be text, got ${show(text)}`);
  if (text.length > UNET2D_LIMITS.textLength) throw new ArgumentError("config.json", `is ${text.length} characters, above the ${UNET2D_LIMITS.textLength} a UNet2DModel config can need`);
  let json: unknown;
  try {
    json = parseJsonStrict(text, 8);
  } catch (e) {
    if (e instanceof JsonError) throw new ArgumentError("config.json", `is not valid JSON: ${e.message}`);
    throw e;
  }
  return parseUNet2DConfig(json);
}

/** The architecture of a validated config, and its parameter count, computed without allocating tensors. */
export function unet2dConfigSize(config: UNet2DConfig): { layout: UNet2DLayout; parameters: number } {
  const layout = unet2dLayout(config);
  return { layout, parameters: unet2dParameterCount(layout) };
}

// ---- writing config.json as diffusers does ----

/** diffusers' float-typed keys: Python writes them with a decimal point or exponent (0.0, 1e-05). */
const FLOAT_KEYS = new Set(["dropout", "norm_eps"]);

/** Python's repr of a float: shortest round-trip digits; exponent notation below 1e-4 or from 1e16. */
export function pythonFloat(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? "NaN" : x > 0 ? "Infinity" : "-Infinity";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const [mant, expStr] = x.toExponential().split("e");
  const e = Number(expStr);
  if (e >= -4 && e < 16) {
    const s = String(x); // JS writes fixed notation throughout this range, with the same shortest digits
    return /[.e]/.test(s) ? s : `${s}.0`;
  }
  return `${mant}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
}

function pyValue(key: string, v: unknown, indent: string): string {
  if (v === null) return "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "number") return FLOAT_KEYS.has(key) || !Number.isInteger(v) ? pythonFloat(v) : String(v);
  if (typeof v === "string") return JSON.stringify(v).replace(/[\u007f-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
  if (Array.isArray(v)) {
    if (v.length === 0) return "[]";
    const inner = `${indent}  `;
    return `[\n${v.map((x) => inner + pyValue(key, x, inner)).join(",\n")}\n${indent}]`;
  }
  throw new ArgumentError(key, `cannot be written to config.json: ${show(v)}`);
}

/**
 * config.json text for a validated config, as diffusers' save_config writes it: _class_name,
 * _diffusers_version and every UNet2DModel key, sorted, two-space indent, trailing newline.
 */
export function unet2dConfigToJson(config: UNet2DConfig, opts: { diffusersVersion?: string } = {}): string {
  const c = parseUNet2DConfig(config); // refuse to write what we would not read
  const entries: [string, unknown][] = [
    ["_class_name", "UNet2DModel"],
    ["_diffusers_version", opts.diffusersVersion ?? DIFFUSERS_VERSION],
    ...UNET2D_CONFIG_KEYS.map((k) => [k, c[k]] as [string, unknown]),
  ];
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return `{\n${entries.map(([k, v]) => `  ${JSON.stringify(k)}: ${pyValue(k, v, "  ")}`).join(",\n")}\n}\n`;
}
