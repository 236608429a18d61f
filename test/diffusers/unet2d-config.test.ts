// config.json of a diffusers UNet2DModel: defaults, the parameter arithmetic, diffusers' own formatting
// on the way out, and an ArgumentError naming the key for everything it does not support.
import { describe, expect, it } from "vitest";
import {
  parseUNet2DConfig,
  parseUNet2DConfigText,
  pythonFloat,
  UNET2D_DEFAULTS,
  unet2dConfigSize,
  unet2dConfigToJson,
} from "../../src/diffusers/unet-config.ts";
import { createUNet2DModel } from "../../src/diffusers/unet-model.ts";
import { unet2dLayout, unet2dParameterShapes } from "../../src/nn/unet2d.ts";
import { expectArgumentError } from "../support/errors.ts";
import { fixtureText } from "./unet2d-fixtures.ts";

const A = () => JSON.parse(fixtureText("a-cifar-ddpm/config.json")) as Record<string, unknown>;

describe("parameter arithmetic (no allocation)", () => {
  it("google/ddpm-cifar10-32's full config has 35,746,307 parameters (the README's count)", () => {
    const c = parseUNet2DConfigText(fixtureText("ddpm-cifar10-32.onnx-graph/config.json"));
    expect(unet2dConfigSize(c).parameters).toBe(35_746_307);
  });

  it("the fixtures' configs give index.json's num_parameters", () => {
    const index = JSON.parse(fixtureText("index.json"));
    for (const name of ["a-cifar-ddpm", "b-butterflies", "c-class-cond-28", "d-cifar-ddpm-legacy-names"]) {
      const expected = index.cases[name].num_parameters ?? index.cases[index.cases[name].same_as].num_parameters;
      expect(unet2dConfigSize(parseUNet2DConfigText(fixtureText(`${name}/config.json`))).parameters, name).toBe(expected);
    }
  });

  it("the listed shapes are exactly the built module's parameters, for every block kind and option", () => {
    const variants: Record<string, unknown>[] = [
      {},
      { resnet_time_scale_shift: "scale_shift", num_class_embeds: 4, attention_head_dim: 4 },
      { downsample_type: "resnet", upsample_type: "resnet", mid_block_type: null, act_fn: "mish" },
      { class_embed_type: "timestep", time_embedding_type: "fourier", add_attention: false, attn_norm_num_groups: 4 },
      { time_embedding_type: "learned", num_train_timesteps: 10, class_embed_type: "identity", time_embedding_dim: 24 },
      {
        block_out_channels: [32, 64],
        down_block_types: ["SkipDownBlock2D", "AttnSkipDownBlock2D"],
        up_block_types: ["AttnSkipUpBlock2D", "SkipUpBlock2D"],
        norm_num_groups: null,
        layers_per_block: 1,
      },
    ];
    for (const v of variants) {
      const base = { ...A(), block_out_channels: [8, 16, 16], norm_num_groups: 4, ...v };
      const c = parseUNet2DConfig(base);
      const listed = unet2dParameterShapes(unet2dLayout(c));
      const built = createUNet2DModel(c).module.parameters();
      expect(listed.map(([n]) => n).sort(), JSON.stringify(v)).toEqual([...built.keys()].sort());
      for (const [n, s] of listed) expect(built.get(n)!.shape, n).toEqual(s);
    }
  });
});

describe("defaults and diffusers' formatting", () => {
  it("an early-diffusers config (fixture d, 11 keys missing) takes diffusers' defaults and equals case a's", () => {
    const d = parseUNet2DConfigText(fixtureText("d-cifar-ddpm-legacy-names/config.json"));
    expect(d).toEqual(parseUNet2DConfigText(fixtureText("a-cifar-ddpm/config.json")));
    expect(parseUNet2DConfig({})).toEqual(UNET2D_DEFAULTS);
  });

  it("writing a parsed config gives diffusers' config.json byte for byte (fixtures a, b, c; d written in full is a's)", () => {
    for (const name of ["a-cifar-ddpm", "b-butterflies", "c-class-cond-28"]) {
      const text = fixtureText(`${name}/config.json`);
      expect(unet2dConfigToJson(parseUNet2DConfigText(text))).toBe(text);
    }
    expect(unet2dConfigToJson(parseUNet2DConfigText(fixtureText("d-cifar-ddpm-legacy-names/config.json")))).toBe(fixtureText("a-cifar-ddpm/config.json"));
  });

  it("floats are written as Python's repr writes them", () => {
    expect([1e-6, 1e-5, 0.0001, 0, 1, 0.5, 1e16, 1.5e-7, 123456.75].map(pythonFloat)).toEqual(["1e-06", "1e-05", "0.0001", "0.0", "1.0", "0.5", "1e+16", "1.5e-07", "123456.75"]);
  });

  it("sample_size may be a pair, block names may carry diffusers' UNetRes prefix, metadata keys are ignored", () => {
    const c = parseUNet2DConfig({ ...A(), sample_size: [16, 24], down_block_types: ["UNetResDownBlock2D", "AttnDownBlock2D", "DownBlock2D"], _name_or_path: "x", _use_default_values: ["a"] });
    expect(c.sample_size).toEqual([16, 24]);
    expect(c.down_block_types[0]).toBe("DownBlock2D");
  });
});

describe("what is not supported is an ArgumentError naming the key and listing what is", () => {
  const bad = (patch: Record<string, unknown>) => () => parseUNet2DConfig({ ...A(), ...patch });

  it("unknown keys, block types, values", () => {
    expectArgumentError(bad({ cross_attention_dim: 768 }), "cross_attention_dim", /not a UNet2DModel config key; the keys are sample_size, in_channels/);
    expectArgumentError(bad({ down_block_types: ["DownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"] }), "down_block_types[1]", /"DownBlock2D", "AttnDownBlock2D", "SkipDownBlock2D", "AttnSkipDownBlock2D"/);
    expectArgumentError(bad({ up_block_types: ["UpBlock2D", "KUpBlock2D", "UpBlock2D"] }), "up_block_types[1]", /AttnSkipUpBlock2D/);
    expectArgumentError(bad({ mid_block_type: "UNetMidBlock2DCrossAttn" }), "mid_block_type", /"UNetMidBlock2D", null/);
    expectArgumentError(bad({ act_fn: "tanh" }), "act_fn", /"silu", "swish", "mish", "gelu", "relu"/);
    expectArgumentError(bad({ time_embedding_type: "adm" }), "time_embedding_type", /"positional", "fourier"/);
    expectArgumentError(bad({ resnet_time_scale_shift: "spatial" }), "resnet_time_scale_shift", /"default", "scale_shift"/);
    expectArgumentError(bad({ class_embed_type: "projection" }), "class_embed_type", /null, "timestep", "identity"/);
    expectArgumentError(bad({ downsample_type: "fir" }), "downsample_type", /"conv", "resnet"/);
    expectArgumentError(bad({ _class_name: "UNet2DConditionModel" }), "_class_name", /UNet2DModel/);
  });

  it("hostile sizes and types are refused before anything is sized from them", () => {
    expectArgumentError(bad({ block_out_channels: [16, -32, 32] }), "block_out_channels[1]", /integer in \[1, 65536\]/);
    expectArgumentError(bad({ block_out_channels: [16, 1e12, 32] }), "block_out_channels[1]");
    expectArgumentError(bad({ layers_per_block: 1e9 }), "layers_per_block", /\[1, 64\]/);
    expectArgumentError(bad({ in_channels: NaN }), "in_channels");
    expectArgumentError(bad({ norm_eps: Number.NaN }), "norm_eps");
    expectArgumentError(bad({ dropout: "0.1" }), "dropout");
    expectArgumentError(bad({ in_channels: "3" }), "in_channels");
    expectArgumentError(bad({ block_out_channels: [[16], 32, 32] }), "block_out_channels[0]");
    expectArgumentError(bad({ down_block_types: new Array(1e6).fill("DownBlock2D") }), "down_block_types", /1 to 16 entries/);
    expectArgumentError(bad({ add_attention: 1 }), "add_attention");
    expectArgumentError(() => parseUNet2DConfig([1, 2]), "config");
    expectArgumentError(() => parseUNet2DConfigText("[".repeat(100000)), "config.json", /not valid JSON/);
    expectArgumentError(() => parseUNet2DConfigText('{"in_channels": 3, "in_channels": 4}'), "config.json", /duplicate/);
    expectArgumentError(() => parseUNet2DConfigText(" ".repeat((1 << 20) + 1)), "config.json", /characters/);
  });

  it("architectures diffusers could not build name the key", () => {
    expectArgumentError(bad({ block_out_channels: [16, 32] }), "down_block_types", /one entry per block_out_channels entry \(2\)/);
    expectArgumentError(bad({ norm_num_groups: 5 }), "norm_num_groups", /divides its 16 channels/);
    expectArgumentError(bad({ attention_head_dim: 64 }), "attention_head_dim", /exceeds the block's 32 channels/);
    expectArgumentError(bad({ freq_shift: 8 }), "freq_shift");
    expectArgumentError(bad({ time_embedding_type: "learned" }), "num_train_timesteps");
    const skip = { block_out_channels: [32, 64], down_block_types: ["SkipDownBlock2D", "SkipDownBlock2D"], up_block_types: ["SkipUpBlock2D", "SkipUpBlock2D"] };
    expectArgumentError(bad({ ...skip, in_channels: 1 }), "in_channels", /must be 3 with Skip down blocks/);
    expectArgumentError(bad({ ...skip, out_channels: 1 }), "out_channels", /must be 3 with Skip up blocks/);
    expectArgumentError(bad({ ...skip, down_block_types: ["DownBlock2D", "SkipDownBlock2D", "SkipDownBlock2D"], block_out_channels: [32, 64, 64], up_block_types: ["UpBlock2D", "UpBlock2D", "UpBlock2D"] }), "down_block_types", /must not follow/);
    expectArgumentError(bad({ ...skip, block_out_channels: [32, 48], down_block_types: ["DownBlock2D", "AttnSkipDownBlock2D"] }), "block_out_channels", /attention: GroupNorm needs a group count \(32\) >= 1 that divides its 48 channels/);
    expectArgumentError(bad({ ...skip, norm_num_groups: null, down_block_types: ["DownBlock2D", "SkipDownBlock2D"] }), "norm_num_groups", /null is only valid/);
  });

  it("a model from a config alone is capped (no weights file to justify its size)", () => {
    expectArgumentError(() => createUNet2DModel({ ...A(), block_out_channels: [4096, 4096, 4096], norm_num_groups: 32 }), "config", /above maxParameters/);
  });
});
