// `edge-diffusion superres | deblur | colorize`: a linear inverse problem y = A x + noise with the model
// as the prior (src/inverse/). Everything the user gave is checked first (output path, model, image
// size against the operator, label), then the solver runs on this thread with a progress bar on stderr.
import { resolve } from "node:path";
import { decodePngImage } from "../data/png-decode.ts";
import { DatasetError } from "../data/dataset.ts";
import { toChannels } from "../data/image-ops.ts";
import { networkGradientDenoiser } from "../denoiser/input-gradient.ts";
import { ensureKernels } from "../generate.ts";
import { imageGrid } from "../image/grid.ts";
import { encodePng } from "../image/png.ts";
import { averagePool, colorToGray, ddrm, divisors, dps, gaussianBlur, ilvr, residualNorms, type LinearOperator } from "../inverse/index.ts";
import type { LoadedModel } from "../model.ts";
import { Rng } from "../rng.ts";
import { initialNoise } from "../samplers/index.ts";
import { karrasSigmas } from "../schedule/sigmas.ts";
import { ArgumentError } from "../validate.ts";
import type { RestoreArgs, RestoreMode } from "./args.ts";
import { checkWritable, readInput, writeOutput } from "./files.ts";
import { progress } from "./progress.ts";
import { loadModelFile, shippedModelPath } from "./sample.ts";

/** The operator of a command on a model, with the flags' own errors. */
export function restoreOperator(a: RestoreArgs, mode: RestoreMode, model: LoadedModel, modelName: string): LinearOperator {
  const shape = model.itemShape;
  if (shape.length !== 3) throw new ArgumentError("--model", `${modelName} makes points of ${shape[0]} values, not images`);
  const [C, H, W] = shape;
  if (mode === "superres") {
    if (H % a.scale !== 0 || W % a.scale !== 0 || a.scale > Math.min(H, W)) {
      throw new ArgumentError("--scale", `must divide the model's size ${W}x${H} (allowed: ${divisors(H, W).join(", ")}), got ${a.scale}`);
    }
    return averagePool(shape, a.scale);
  }
  if (mode === "deblur") return gaussianBlur(shape, a.sigma);
  if (C !== 3) {
    throw new ArgumentError(
      "--model",
      `colorize needs a colour (3-channel) model; ${modelName} is ${W}x${H} with ${C} channel${C === 1 ? " (grayscale)" : "s"}. Pass --model with an RGB model (e.g. one from 'edge-diffusion train --dataset folder:DIR --channels 3')`,
    );
  }
  return colorToGray(shape);
}

/** The measurement: the PNG, in the operator's output shape, values in [-1, 1]. */
export function readMeasurement(a: RestoreArgs, mode: RestoreMode, op: LinearOperator): Float32Array {
  const [c, h, w] = op.outShape;
  const path = a.image!;
  let img;
  try {
    img = toChannels(decodePngImage(readInput("--image", path), path), c as 1 | 3);
  } catch (e) {
    if (e instanceof DatasetError) throw new ArgumentError("--image", `${path}: ${e.message.replace(/^.*?: /, "")}`);
    throw e;
  }
  if (img.height !== h || img.width !== w) {
    const [, H, W] = op.inShape;
    const why = mode === "superres" ? `--scale ${a.scale} on this ${W}x${H} model takes a ${w}x${h} image` : `${mode} on this ${W}x${H} model takes a ${w}x${h} image`;
    throw new ArgumentError("--image", `${path} is ${img.width}x${img.height}; ${why}`);
  }
  return Float32Array.from(img.data, (v) => 2 * v - 1);
}

/** The labels of the run: --label none (default) is the unconditional model, else a class of the model. */
function restoreLabels(raw: string | undefined, K: number, count: number): Int32Array {
  if (raw === undefined || raw === "none") return new Int32Array(count).fill(-1);
  if (K === 0) throw new ArgumentError("--label", `this model is unconditional: leave --label out, got ${JSON.stringify(raw)}`);
  if (!/^\d{1,9}$/.test(raw) || Number(raw) >= K) throw new ArgumentError("--label", `must be a class 0..${K - 1} or none, got ${JSON.stringify(raw)}`);
  return new Int32Array(count).fill(Number(raw));
}

export interface RestoreResult {
  out: string;
  /** ||A x - y|| per result, in [-1, 1] units. */
  residuals: Float64Array;
  seconds: number;
}

export async function runRestore(a: RestoreArgs, mode: RestoreMode): Promise<RestoreResult> {
  const out = resolve(a.out);
  checkWritable("--out", out);
  const modelPath = resolve(a.model ?? shippedModelPath());
  const { model } = loadModelFile("--model", modelPath);
  const op = restoreOperator(a, mode, model, a.model === undefined ? "the shipped model" : modelPath);
  const y1 = readMeasurement(a, mode, op);
  const N = a.count;
  const labels = restoreLabels(a.label, model.numClasses, N);
  const y = new Float32Array(N * op.outSize);
  for (let b = 0; b < N; b++) y.set(y1, b * op.outSize);
  await ensureKernels();
  const t0 = performance.now();
  const sigmas = karrasSigmas(a.steps, model.precond.sigmaMin, model.precond.sigmaMax);
  const rng = new Rng(a.seed);
  const x = initialNoise(rng, N, op.inSize, sigmas[0]);
  const bar = progress(`${mode} (${a.method})`, a.steps);
  const common = { batch: N, rng, operator: op, y, sigmaY: a.sigmaY, onStep: (e: { step: number }) => bar.update(e.step + 1) };
  let r;
  try {
    if (a.method === "ddrm") r = ddrm(model.denoiser(labels), x, sigmas, { ...common, eta: a.eta, etaB: a.etaB });
    else if (a.method === "ilvr") r = ilvr(model.denoiser(labels), x, sigmas, { ...common, eta: a.eta });
    else r = dps(networkGradientDenoiser(model.net, model.precond, model.itemShape, labels), x, sigmas, { ...common, eta: a.eta, zeta: a.zeta });
  } finally {
    bar.stop();
  }
  const [C, H, W] = op.inShape;
  const clipped = Float32Array.from(r.x, (v) => Math.max(-1, Math.min(1, v)));
  writeOutput(out, encodePng(imageGrid(clipped, [N, C, H, W], { cols: N, gap: N > 1 ? 2 : 0, scale: 1 })));
  return { out, residuals: residualNorms(op, r.x, y, N), seconds: (performance.now() - t0) / 1000 };
}
