// Finding the model in a diffusers folder, and refusing what we never read.
import { mkdtempSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { DiffusersFolderError, filesOf, locateDiffusers } from "../../src/diffusers/layout.ts";
import { readDiffusersFolder } from "../../src/node/diffusers-folder.ts";
import { expectArgumentError } from "../support/errors.ts";

const FIX = resolve(__dirname, "../../../shared/fixtures/diffusers");
const enc = (s: string) => new TextEncoder().encode(s);
const codeOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e instanceof DiffusersFolderError ? e.code : String(e);
  }
  return "ok";
};

describe("diffusers folder layout", () => {
  it("a model folder read from disk has its config and weights at the top", () => {
    const files = readDiffusersFolder(join(FIX, "a-cifar-ddpm"));
    const l = locateDiffusers(files);
    expect(l).toMatchObject({ kind: "model", unetDir: "", configName: "config.json", weightNames: ["diffusion_pytorch_model.safetensors"] });
  });

  it("a file inside a model folder stands for its folder", () => {
    const files = readDiffusersFolder(join(FIX, "a-cifar-ddpm", "config.json"));
    expect(files.has("diffusion_pytorch_model.safetensors")).toBe(true);
  });

  it("a pipeline map finds unet/ and the scheduler config", () => {
    const files = filesOf({
      "./model_index.json": enc(JSON.stringify({ _class_name: "DDPMPipeline", unet: ["diffusers", "UNet2DModel"], scheduler: ["diffusers", "DDPMScheduler"] })),
      "unet\\config.json": enc("{}"),
      "unet/diffusion_pytorch_model.safetensors": new Uint8Array(8),
      "scheduler/scheduler_config.json": enc("{}"),
    });
    expect(locateDiffusers(files)).toMatchObject({ kind: "pipeline", unetDir: "unet/", schedulerName: "scheduler/scheduler_config.json", pipelineClass: "DDPMPipeline" });
  });

  it("a pickle is refused with the conversion command, never read", () => {
    const files = filesOf({ "config.json": enc("{}"), "diffusion_pytorch_model.bin": new Uint8Array(0) });
    expect(codeOf(() => locateDiffusers(files))).toBe("pickle");
    expect(() => locateDiffusers(files)).toThrow(/safe_serialization=True/);
  });

  it("a folder on disk with only a pickle lists it without reading its bytes", () => {
    const dir = mkdtempSync(join(tmpdir(), "ed-pickle-"));
    writeFileSync(join(dir, "config.json"), "{}");
    writeFileSync(join(dir, "diffusion_pytorch_model.bin"), "PK\u0003\u0004 pretend pickle");
    const files = readDiffusersFolder(dir);
    expect(files.get("diffusion_pytorch_model.bin")?.length).toBe(0);
    expect(codeOf(() => locateDiffusers(files))).toBe("pickle");
  });

  it("missing config, missing weights, missing shards, a non-UNet pipeline and escaping names are refused by name", () => {
    expect(codeOf(() => locateDiffusers(filesOf({ "diffusion_pytorch_model.safetensors": new Uint8Array(8) })))).toBe("no_config");
    expect(codeOf(() => locateDiffusers(filesOf({ "config.json": enc("{}") })))).toBe("no_weights");
    expect(
      codeOf(() =>
        locateDiffusers(filesOf({ "config.json": enc("{}"), "diffusion_pytorch_model.safetensors.index.json": enc(JSON.stringify({ weight_map: { a: "shard-1.safetensors" } })) })),
      ),
    ).toBe("no_weights");
    expect(codeOf(() => locateDiffusers(filesOf({ "model_index.json": enc(JSON.stringify({ unet: ["diffusers", "UNet2DConditionModel"] })) })))).toBe("not_unet2d");
    expectArgumentError(() => filesOf({ "../etc/passwd": new Uint8Array(1) }), "source");
  });

  it("sharded weights are listed in order", () => {
    const dir = mkdtempSync(join(tmpdir(), "ed-shards-"));
    mkdirSync(join(dir, "unet"));
    const files = filesOf({
      "config.json": enc("{}"),
      "diffusion_pytorch_model.safetensors.index.json": enc(JSON.stringify({ weight_map: { a: "m-00002.safetensors", b: "m-00001.safetensors", c: "m-00002.safetensors" } })),
      "m-00001.safetensors": new Uint8Array(8),
      "m-00002.safetensors": new Uint8Array(8),
    });
    expect(locateDiffusers(files).weightNames).toEqual(["m-00001.safetensors", "m-00002.safetensors"]);
  });
});
