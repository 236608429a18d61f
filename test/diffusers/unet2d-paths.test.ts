// The UNet2DModel paths no diffusers fixture covers (score-SDE skip blocks with FIR resampling, fourier
// and learned time embeddings, resnet up/downsampling, gelu/mish/relu, "timestep" and "identity" class
// embeddings, scale_shift without a mid attention norm, centred input, asymmetric downsample padding),
// against the independent float64 forward of unet2d-reference.ts, with random weights (norms too).
// Parameter names and shapes of the skip path are checked against diffusers' source (unet_2d_blocks.py).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useKernels } from "../../src/autograd/backend.ts";
import { parseUNet2DConfig } from "../../src/diffusers/unet-config.ts";
import { createUNet2DModel } from "../../src/diffusers/unet-model.ts";
import { createTsKernels, initKernels } from "../../src/kernels/index.ts";
import { Rng } from "../../src/rng.ts";
import { referenceForward } from "./unet2d-reference.ts";

const base = {
  sample_size: 8,
  in_channels: 3,
  out_channels: 3,
  layers_per_block: 2,
  norm_eps: 1e-6,
};

const VARIANTS: { name: string; config: Record<string, unknown>; t: number[]; labels?: (E: number) => number[]; size?: number }[] = [
  {
    name: "score-SDE: Skip / AttnSkip down and up blocks, fourier time embedding, norm_num_groups null",
    config: {
      block_out_channels: [32, 32, 64],
      down_block_types: ["SkipDownBlock2D", "AttnSkipDownBlock2D", "SkipDownBlock2D"],
      up_block_types: ["AttnSkipUpBlock2D", "SkipUpBlock2D", "SkipUpBlock2D"],
      time_embedding_type: "fourier",
      norm_num_groups: null,
      attention_head_dim: 8,
    },
    t: [0.5, 7.25],
  },
  {
    name: "resnet down/upsampling, gelu, timestep class embedding, centred input, padding 0, mid scale 2, attn_norm_num_groups",
    config: {
      block_out_channels: [8, 16, 16],
      down_block_types: ["DownBlock2D", "AttnDownBlock2D", "DownBlock2D"],
      up_block_types: ["UpBlock2D", "AttnUpBlock2D", "UpBlock2D"],
      downsample_type: "resnet",
      upsample_type: "resnet",
      act_fn: "gelu",
      class_embed_type: "timestep",
      center_input_sample: true,
      downsample_padding: 0,
      mid_block_scale_factor: 2,
      attn_norm_num_groups: 2,
      norm_num_groups: 4,
      attention_head_dim: 4,
      time_embedding_dim: 24,
      flip_sin_to_cos: false,
      freq_shift: 1,
    },
    t: [3, 17],
    labels: () => [2, 5],
  },
  {
    name: "learned time embedding, identity class embedding, mish, scale_shift, no mid block, AttnUp last",
    config: {
      block_out_channels: [8, 16],
      down_block_types: ["AttnDownBlock2D", "DownBlock2D"],
      up_block_types: ["UpBlock2D", "AttnUpBlock2D"],
      time_embedding_type: "learned",
      num_train_timesteps: 20,
      class_embed_type: "identity",
      act_fn: "mish",
      resnet_time_scale_shift: "scale_shift",
      mid_block_type: null,
      norm_num_groups: 4,
      attention_head_dim: null,
      layers_per_block: 1,
    },
    t: [3, 19],
    labels: (E) => Array.from({ length: 2 * E }, (_, i) => Math.sin(i)),
  },
  {
    name: "relu, scale_shift mid block (attention without GroupNorm), several heads, odd time width, channels not a multiple of the head dim",
    config: {
      block_out_channels: [9, 18],
      down_block_types: ["DownBlock2D", "AttnDownBlock2D"],
      up_block_types: ["AttnUpBlock2D", "UpBlock2D"],
      act_fn: "relu",
      resnet_time_scale_shift: "scale_shift",
      norm_num_groups: 3,
      attention_head_dim: 4,
      num_class_embeds: 3,
    },
    t: [1, 4],
    labels: () => [0, 2],
  },
];

beforeAll(async () => useKernels(await initKernels({ backend: "wasm" })));
afterAll(() => useKernels(createTsKernels()));

describe("paths without a diffusers fixture match the float64 reference written from diffusers' code", () => {
  for (const v of VARIANTS) {
    it(v.name, () => {
      const config = parseUNet2DConfig({ ...base, ...v.config });
      const unet = createUNet2DModel(config, { seed: 3 });
      // random norms and biases too, so a mixed-up scale, shift or group shows
      const rng = new Rng(17);
      for (const [name, t] of unet.module.parameters()) {
        const u = new Float32Array(t.size);
        rng.stream(name).uniform(u);
        if (name === "time_proj.weight" && config.time_embedding_type === "fourier") for (let i = 0; i < t.size; i++) t.data[i] = 2 * u[i] - 1;
        else if (/norm[^.]*\.weight$/.test(name)) for (let i = 0; i < t.size; i++) t.data[i] = 1 + 0.6 * (u[i] - 0.5);
        else if (name.endsWith(".bias")) for (let i = 0; i < t.size; i++) t.data[i] = 0.6 * (u[i] - 0.5);
        else if (name === "class_embedding.weight" || name === "time_proj.weight") for (let i = 0; i < t.size; i++) t.data[i] = 2 * u[i] - 1;
      }
      const S = v.size ?? 8;
      const x = { data: new Float32Array(2 * 3 * S * S), shape: [2, 3, S, S] };
      new Rng(5).normal(x.data);
      const E = unet.module.layout.temb;
      const labels = v.labels?.(E);
      const y = unet.forward(x, v.t, labels);
      const ref = referenceForward(config, unet.module.parameters(), x, v.t, labels);
      expect(y.shape).toEqual([2, 3, S, S]);
      let maxRef = 0;
      let err = 0;
      for (let i = 0; i < ref.out.length; i++) {
        maxRef = Math.max(maxRef, Math.abs(ref.out[i]));
        err = Math.max(err, Math.abs(ref.out[i] - y.data[i]));
      }
      expect(maxRef).toBeGreaterThan(0.1); // the output is not trivially small
      expect(err).toBeLessThan(2e-5 * Math.max(1, maxRef));
      // the reference read every parameter the model has, under the names it looks up from diffusers' code
      expect([...unet.module.parameters().keys()].filter((n) => !ref.read.has(n))).toEqual([]);
    });
  }

  it("the skip path's parameters carry diffusers' names and shapes (unet_2d_blocks.py: skip_conv Conv2d(3, C, 1) down, Conv2d(C, 3, 3) and skip_norm up; resnet_down/resnet_up with a 1x1 shortcut)", () => {
    const p = createUNet2DModel(parseUNet2DConfig({ ...base, ...VARIANTS[0].config })).module.parameters();
    const shape = (n: string) => p.get(n)?.shape;
    expect(shape("time_proj.weight")).toEqual([32]);
    expect(shape("time_embedding.linear_1.weight")).toEqual([128, 64]); // GaussianFourierProjection: 2 x 32 features
    expect(shape("down_blocks.0.skip_conv.weight")).toEqual([32, 3, 1, 1]);
    expect(shape("down_blocks.0.resnet_down.conv_shortcut.weight")).toEqual([32, 32, 1, 1]);
    expect(shape("down_blocks.1.attentions.1.group_norm.weight")).toEqual([32]);
    expect(p.has("down_blocks.2.skip_conv.weight")).toBe(false); // the last block does not downsample
    expect(shape("up_blocks.0.attentions.0.to_q.weight")).toEqual([64, 64]); // AttnSkipUpBlock2D: one attention
    expect(p.has("up_blocks.0.attentions.1.to_q.weight")).toBe(false);
    expect(shape("up_blocks.0.skip_norm.weight")).toEqual([64]);
    expect(shape("up_blocks.0.skip_conv.weight")).toEqual([3, 64, 3, 3]);
    expect(shape("up_blocks.0.resnet_up.conv_shortcut.weight")).toEqual([64, 64, 1, 1]);
    expect(shape("up_blocks.1.resnets.2.norm1.weight")).toEqual([64]); // 32 + the 32-channel skip of conv_in... level
    expect(p.has("up_blocks.2.skip_conv.weight")).toBe(false);
  });
});
