// A diffusers pipeline as the model generate() and the CLI sample from: the item shape from the UNet's
// config, the sigma range of the scheduler's training table (VE sigmas of t = 0 and t = T - 1), and the
// pipeline's Denoiser. Class-conditional UNet2DModels take labels 0..num_class_embeds-1; they have no
// "no label" class, so classifier-free guidance is refused for them.

import type { LabelledDenoiser } from "../denoiser/contract.ts";
import { ArgumentError } from "../validate.ts";
import { trainingAlphasCumprod, trainingSigmas } from "./denoiser.ts";
import type { DiffusersPipeline } from "./pipeline.ts";

export interface DiffusersSamplingModel {
  itemShape: number[];
  numClasses: number;
  precond: { sigmaMin: number; sigmaMax: number };
  denoiser(labels?: Int32Array): LabelledDenoiser;
  net: { parameterCount(): number };
  pipeline: DiffusersPipeline;
}

export function diffusersSamplingModel(p: DiffusersPipeline): DiffusersSamplingModel {
  if (!p.scheduler) throw new ArgumentError("model", "is a bare UNet2DModel folder: sampling needs a pipeline folder (model_index.json, unet/, scheduler/) for its noise schedule");
  const c = p.config;
  const size = c.sample_size;
  if (size === null) throw new ArgumentError("sample_size", "is null in the UNet's config: the image size is unknown");
  const [H, W] = typeof size === "number" ? [size, size] : size;
  if (H !== W) throw new ArgumentError("sample_size", `is ${H}x${W}: sampling here takes square images`);
  const table = trainingSigmas(trainingAlphasCumprod(p.scheduler));
  const classes = c.class_embed_type === null && c.num_class_embeds !== null ? c.num_class_embeds : 0;
  return {
    itemShape: [c.in_channels, H, W],
    numClasses: classes,
    precond: { sigmaMin: table[0], sigmaMax: table[table.length - 1] },
    denoiser(labels?: Int32Array): LabelledDenoiser {
      const fixed = p.denoiser(labels);
      return (x, sigma, batch, callLabels) => {
        if (callLabels === undefined) return fixed(x, sigma, batch);
        if (callLabels.some((l) => l < 0 || l >= classes)) {
          throw new ArgumentError("guidance", "needs a model trained with a null class; a diffusers UNet2DModel has none: use guidance 1");
        }
        return p.denoiser(callLabels)(x, sigma, batch);
      };
    },
    net: { parameterCount: () => p.unet.parameterCount() },
    pipeline: p,
  };
}
