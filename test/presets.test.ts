// Presets (src/presets.ts): "mnist" is the network and preconditioning stored in the shipped model
// file, MNIST_UNET is that same network, image presets follow the data's channels and size, and bad
// arguments throw ArgumentError naming presetConfig's own arguments (the CLI maps them to its flags).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { unpackCheckpoint } from "../src/io/checkpoint.ts";
import { buildNetwork } from "../src/model.ts";
import { MNIST_UNET, UNet } from "../src/nn/unet.ts";
import { PRESET_NAMES, presetConfig } from "../src/presets.ts";
import { ArgumentError } from "../src/validate.ts";

const shipped = unpackCheckpoint(readFileSync(new URL("../models/mnist.safetensors", import.meta.url))).meta as { config: unknown; precond: unknown };

function argumentError(f: () => unknown): ArgumentError {
  try {
    f();
  } catch (e) {
    if (e instanceof ArgumentError) return e;
    throw e;
  }
  throw new Error("expected an ArgumentError");
}

describe("presets", () => {
  it('"mnist" and MNIST_UNET are the shipped model\'s network, and "mnist" its preconditioning', () => {
    const p = presetConfig("mnist");
    expect(p.config).toEqual(shipped.config);
    expect(MNIST_UNET).toEqual(shipped.config);
    expect(p.precond).toEqual(shipped.precond);
    // the stored JSON is compared with toEqual; the key order is what a newly trained file writes
    expect(JSON.stringify(p.config)).toBe(JSON.stringify(shipped.config));
  });

  it("image presets take the data's channels, size and classes; every preset builds", () => {
    const tiny = presetConfig("mnist-tiny", 0, { channels: 3, size: 32 });
    expect(tiny.config).toMatchObject({ kind: "unet", inChannels: 3, size: 32, channels: [8, 16], attentionLevels: [1], numClasses: 0 });
    expect(presetConfig("toy", 3).config).toMatchObject({ kind: "mlp", numClasses: 3 });
    expect(presetConfig("toy").config).toMatchObject({ kind: "mlp", numClasses: 0 });
    for (const name of PRESET_NAMES) {
      const { config } = presetConfig(name);
      expect(buildNetwork(config).config).toEqual(config);
    }
    expect(buildNetwork(tiny.config)).toBeInstanceOf(UNet);
  });

  it("returns fresh objects: a caller's edit does not change the next preset", () => {
    const a = presetConfig("mnist");
    (a.config as { channels: number[] }).channels[0] = 64;
    (a.precond as { sigmaData: number }).sigmaData = 2;
    expect(presetConfig("mnist")).toEqual({ config: shipped.config, precond: shipped.precond });
    expect(MNIST_UNET.channels).toEqual([16, 32, 32]);
  });

  it("throws ArgumentError naming presetConfig's arguments", () => {
    expect(argumentError(() => presetConfig("large")).message).toMatch(/^preset: must be one of "mnist", "mnist-tiny", "toy", got "large"/);
    expect(argumentError(() => presetConfig("mnist", -1)).message).toMatch(/^numClasses: /);
    expect(argumentError(() => presetConfig("mnist", 1.5)).message).toMatch(/^numClasses: /);
    expect(argumentError(() => presetConfig("mnist", 10, { channels: 0, size: 28 })).message).toMatch(/^image\.channels: /);
    expect(argumentError(() => presetConfig("mnist", 10, { channels: 1, size: 30 })).message).toMatch(/^image\.size: must be divisible by 4 for preset mnist, got 30/);
    // two levels halve once: 30 fits mnist-tiny
    expect(presetConfig("mnist-tiny", 10, { channels: 1, size: 30 }).config).toMatchObject({ size: 30 });
  });
});
