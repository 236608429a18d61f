// The UNet2DModel trains here: backward through the whole network equals finite differences (tiny
// configs, the probe of test/support/gradcheck.ts), and plain gradient steps lower a loss, reproducibly.
import { describe, expect, it } from "vitest";
import { mse } from "../../src/autograd/ops.ts";
import { Tensor } from "../../src/autograd/tensor.ts";
import { parseUNet2DConfig } from "../../src/diffusers/unet-config.ts";
import { createUNet2DModel } from "../../src/diffusers/unet-model.ts";
import { Rng } from "../../src/rng.ts";
import { gradcheck, randTensor } from "../support/gradcheck.ts";

const tiny = (patch: Record<string, unknown>) =>
  parseUNet2DConfig({
    in_channels: 3,
    out_channels: 3,
    block_out_channels: [4, 8],
    down_block_types: ["DownBlock2D", "AttnDownBlock2D"],
    up_block_types: ["AttnUpBlock2D", "UpBlock2D"],
    layers_per_block: 1,
    norm_num_groups: 2,
    attention_head_dim: 4,
    ...patch,
  });

describe("gradients through the whole UNet2DModel", () => {
  it.each([
    ["positional, default conditioning, class embedding, padding 0", { num_class_embeds: 3, downsample_padding: 0 }, [3, 11]],
    ["scale_shift, resnet resampling, gelu", { resnet_time_scale_shift: "scale_shift", downsample_type: "resnet", upsample_type: "resnet", act_fn: "gelu" }, [3, 11]],
    [
      "score-SDE skip blocks, fourier",
      { block_out_channels: [8, 8], down_block_types: ["SkipDownBlock2D", "SkipDownBlock2D"], up_block_types: ["SkipUpBlock2D", "SkipUpBlock2D"], time_embedding_type: "fourier", norm_num_groups: null },
      [0.5, 2],
    ],
  ] as const)("%s: d(sum r y)/d(input and parameters) = finite differences", (_, patch, t) => {
    const unet = createUNet2DModel(tiny(patch as Record<string, unknown>), { seed: 1 }).module;
    const rng = new Rng(2);
    const x = randTensor(rng.stream("x"), [2, 3, 4, 4]);
    const p = unet.parameters();
    const conditional = unet.config.num_class_embeds !== null;
    const probe = ["conv_in.weight", "down_blocks.0.resnets.0.time_emb_proj.weight", "mid_block.attentions.0.to_k.weight", "up_blocks.1.resnets.1.norm2.bias", "conv_out.weight"]
      .concat(conditional ? ["class_embedding.weight"] : [])
      .concat(unet.config.down_block_types[0] === "SkipDownBlock2D" ? ["down_blocks.0.skip_conv.weight", "up_blocks.0.skip_conv.weight", "down_blocks.0.resnet_down.conv_shortcut.weight"] : [])
      .map((n) => {
        const q = p.get(n);
        if (!q) throw new Error(`no ${n}`);
        return q;
      });
    gradcheck(rng, [x, ...probe], () => unet.forward(x, t, conditional ? [0, 2] : undefined), 24);
  });

  it("SGD steps lower an MSE loss, and the same seed gives the same bits", () => {
    const run = () => {
      const unet = createUNet2DModel(tiny({ num_class_embeds: 2 }), { seed: 4 }).module;
      const rng = new Rng(9);
      const x = new Float32Array(2 * 3 * 4 * 4);
      const target = new Float32Array(x.length);
      rng.stream("x").normal(x);
      rng.stream("y").normal(target);
      const losses: number[] = [];
      for (let step = 0; step < 6; step++) {
        for (const q of unet.parameters().values()) q.grad = null;
        const loss = mse(unet.forward(new Tensor(x, [2, 3, 4, 4]), [10, 500], [0, 1]), target);
        loss.backward();
        losses.push(loss.data[0]);
        for (const q of unet.parameters().values()) if (q.grad) for (let i = 0; i < q.size; i++) q.data[i] -= 0.05 * q.grad[i];
      }
      return losses;
    };
    const a = run();
    expect(a[5]).toBeLessThan(a[0] * 0.95);
    for (let i = 1; i < a.length; i++) expect(a[i]).toBeLessThan(a[i - 1]);
    expect(run()).toEqual(a);
  });
});
