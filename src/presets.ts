// Presets: a network configuration and its preconditioning under one name, the way the shipped model
// and the benchmarks are trained. "mnist" is the shipped model's network (MNIST_UNET, checked against
// models/mnist.safetensors by the tests); "mnist-tiny" is a two-level UNet for quick runs; "toy" is the
// MLP for 2-D point clouds. Image presets take the data's channels and size, so the same names train on
// Fashion-MNIST or a folder of PNGs.

import { TOY_NAMES } from "./data/toys.ts";
import type { NetworkConfig, PrecondSpec } from "./model.ts";
import { DEFAULT_MLP } from "./nn/mlp.ts";
import { MNIST_UNET } from "./nn/unet.ts";
import { ArgumentError, int, oneOf } from "./validate.ts";

export const PRESET_NAMES = ["mnist", "mnist-tiny", "toy"] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

/**
 * The preset a dataset trains with when none is named: "toy" for the 2-D toys (src/data/toys.ts), the
 * shipped model's "mnist" for every image dataset: mnist, idx:FILES and folder:DIR (issue 14, point 11:
 * a folder of PNGs used to fall through to "toy" and fail).
 */
export function defaultPreset(dataset: string): PresetName {
  return (TOY_NAMES as readonly string[]).includes(dataset) ? "toy" : "mnist";
}

/** What a preset fixes: the network and how its output is preconditioned (what a model file stores). */
export interface Preset {
  config: NetworkConfig;
  precond: PrecondSpec;
}

/** Image data a UNet preset is fitted to: channels and the (square) side in pixels. */
export interface PresetImage {
  channels: number;
  size: number;
}

// EDM preconditioning (Karras et al. 2022, Table 1) with sigma_data the data's standard deviation:
// MNIST in [-1, 1] has std ~0.6, and sigma_max 80 is generous for a data range of 2; the toys are
// scaled to std about 1 (src/data/toys.ts).
const IMAGE_PRECOND: PrecondSpec = { parameterization: "edm", sigmaData: 0.6, sigmaMin: 0.002, sigmaMax: 80 };
const TOY_PRECOND: PrecondSpec = { parameterization: "edm", sigmaData: 1, sigmaMin: 0.002, sigmaMax: 40 };

/**
 * Network and preconditioning of a preset. `numClasses` (0: unconditional) defaults to 10 for the image
 * presets (MNIST's digits) and 0 for "toy"; `image` (UNet presets only) defaults to MNIST's 1 x 28 x 28.
 * `presetConfig("mnist")` is the shipped model's configuration.
 */
export function presetConfig(preset: string, numClasses?: number, image: PresetImage = { channels: MNIST_UNET.inChannels, size: MNIST_UNET.size }): Preset {
  const p = oneOf("preset", preset, PRESET_NAMES);
  const classes = int("numClasses", numClasses ?? (p === "toy" ? DEFAULT_MLP.numClasses : MNIST_UNET.numClasses), 0, 100_000);
  if (p === "toy") return { config: { ...DEFAULT_MLP, numClasses: classes }, precond: { ...TOY_PRECOND } };
  const channels = p === "mnist" ? [...MNIST_UNET.channels] : [8, 16];
  const inChannels = int("image.channels", image?.channels, 1, 64);
  // every level but the last halves the side, so it must divide by 2^(levels - 1)
  const size = int("image.size", image?.size, 2 ** (channels.length - 1), 4096);
  if (size % 2 ** (channels.length - 1)) throw new ArgumentError("image.size", `must be divisible by ${2 ** (channels.length - 1)} for preset ${p}, got ${size}`);
  return {
    config: { ...MNIST_UNET, inChannels, size, channels, attentionLevels: [channels.length - 1], groups: Math.min(8, channels[0]), numClasses: classes },
    precond: { ...IMAGE_PRECOND },
  };
}
