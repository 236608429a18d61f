// Issue 14's "careless user": every subcommand fed missing, unreadable, wrong-kind and wrong-size files,
// unwritable outputs, out-of-range and malformed numbers and unknown names. Each must answer with exactly
// one line on stderr, a non-zero exit and no stack trace, before any expensive work: no sampling header,
// no progress line, nothing written. Runs the built CLI (dist/cli.js), a few cases at a time.
import { chmodSync, existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { makeFixtures, pool, runCli, type Run } from "./fixtures.ts";

const F = makeFixtures();
const T = F.dir;
const isRoot = process.getuid?.() === 0;
// a read-only folder stops everyone but root; /sys refuses new files even to root
const ro = join(T, "read-only");
mkdirSync(ro);
chmodSync(ro, 0o555);
const unreadable = join(T, "unreadable.safetensors");
mkdirSync(join(T, "dir.png"));
const emptyFolder = join(T, "no-images");
mkdirSync(emptyFolder);

interface Case {
  name: string;
  args: string[];
  /** What the one line must say. */
  says: RegExp;
}

const m = ["--model", F.unet, "--steps", "2", "--count", "2"];
const out = (name: string) => ["--out", join(T, "written", name)];
const CASES: Case[] = [
  // sample: files
  { name: "missing model", args: ["sample", "--model", join(T, "nope.safetensors")], says: /--model: cannot read .*nope\.safetensors: no such file/ },
  // a folder is read as a diffusers pipeline folder (issue 12): one without its files says what it lacks
  { name: "a folder as model", args: ["sample", "--model", F.folder], says: /--model: .*a-folder holds no diffusers files \(config\.json, diffusion_pytorch_model\.safetensors\)/ },
  { name: "a text file as model", args: ["sample", "--model", F.text], says: /--model: .*text\.safetensors is not a model/ },
  { name: "an empty file as model", args: ["sample", "--model", F.empty], says: /--model: .*empty\.safetensors is not a model/ },
  { name: "a truncated model", args: ["sample", "--model", F.truncated], says: /--model: .*truncated\.safetensors is not a model/ },
  { name: "a PyTorch zip as model", args: ["sample", "--model", F.torchZip], says: /is not a model: this is a PyTorch file .*expected an edge-diffusion model/ },
  { name: "a PyTorch pickle as model", args: ["sample", "--model", F.torchPickle], says: /is not a model: this is a PyTorch pickle .*expected an edge-diffusion model/ },
  { name: "a diffusers UNet2DModel weights file without its folder as model", args: ["sample", "--model", F.diffusers], says: /--model: .*diffusion_pytorch_model\.safetensors: config\.json is missing: a diffusers model folder holds config\.json and diffusion_pytorch_model\.safetensors/ },
  { name: "a PNG as model", args: ["sample", "--model", F.png28], says: /is not a model: this is a PNG image/ },
  ...(isRoot ? [] : [{ name: "an unreadable model", args: ["sample", "--model", unreadable], says: /--model: cannot read .*permission denied/ }]),
  // sample: outputs
  { name: "--out under /proc", args: ["sample", ...m, "--out", "/proc/x.png"], says: /--out: cannot write \/proc\/x\.png: cannot create files in \/proc/ },
  { name: "--out on a read-only file system", args: ["sample", ...m, "--out", "/sys/x.png"], says: /--out: cannot write \/sys\/x\.png/ },
  { name: "--out under a file", args: ["sample", ...m, "--out", join(F.file, "x.png")], says: /--out: cannot write .*a part of the path is a file/ },
  { name: "--out is a folder", args: ["sample", ...m, "--out", join(T, "dir.png")], says: /--out: cannot write .*dir\.png: it is a folder/ },
  ...(isRoot ? [] : [{ name: "--out in a read-only folder", args: ["sample", ...m, "--out", join(ro, "x.png")], says: /--out: cannot write .*permission denied/ }]),
  { name: "--out-dir under a file", args: ["sample", ...m, "--out-dir", join(F.file, "d")], says: /--out-dir: cannot write/ },
  { name: "--out .jpg", args: ["sample", ...m, "--out", join(T, "x.jpg")], says: /--out: must end in \.png or \.safetensors/ },
  { name: "a PNG of a 2-D toy model", args: ["sample", "--model", F.toy, ...out("toy.png")], says: /--out: this model makes points of 2 values, not images: write \.safetensors/ },
  // sample: numbers
  { name: "--count 0", args: ["sample", ...m, "--count", "0"], says: /--count: must be an integer in \[1, 4096\], got 0/ },
  { name: "--count -1", args: ["sample", ...m, "--count", "-1"], says: /--count: must be an integer in \[1, 4096\], got -1/ },
  { name: "--count 5000", args: ["sample", ...m, "--count", "5000"], says: /--count: must be an integer in \[1, 4096\]/ },
  { name: "--count 1e3", args: ["sample", ...m, "--count", "1e3"], says: /--count: must be an integer/ },
  { name: "--count abc", args: ["sample", ...m, "--count", "abc"], says: /--count: must be an integer/ },
  { name: "--steps 1.5", args: ["sample", ...m, "--steps", "1.5"], says: /--steps: must be an integer in \[1, 1000\]/ },
  { name: "--steps 0", args: ["sample", ...m, "--steps", "0"], says: /--steps: must be an integer in \[1, 1000\]/ },
  { name: "--seed -3", args: ["sample", ...m, "--seed", "-3"], says: /--seed: must be an integer/ },
  { name: "--guidance abc", args: ["sample", ...m, "--guidance", "abc"], says: /--guidance: must be a number/ },
  { name: "--guidance 1e9", args: ["sample", ...m, "--guidance", "1e9"], says: /--guidance: must be in \[-100, 100\]/ },
  { name: "--threads 0", args: ["sample", ...m, "--threads", "0"], says: /--threads: must be an integer in \[1, 64\]/ },
  { name: "--cols 0", args: ["sample", ...m, "--cols", "0"], says: /--cols: must be an integer/ },
  { name: "--label seven", args: ["sample", ...m, "--label", "seven"], says: /--label: must be a class in \[0, 9\], "all" or "none", got "seven"/ },
  { name: "--label 12", args: ["sample", ...m, "--label", "12"], says: /--label: must be a class in \[0, 9\], "all" or "none", got "12"/ },
  { name: "--label -1", args: ["sample", ...m, "--label", "-1"], says: /--label: must be a class in \[0, 9\], "all" or "none", got "-1"/ },
  { name: "--label on an unconditional model", args: ["sample", "--model", F.uncond, "--label", "3"], says: /--label: this model is unconditional/ },
  { name: "--guidance on an unconditional model", args: ["sample", "--model", F.uncond, "--guidance", "3"], says: /--guidance: this model is unconditional/ },
  { name: "--guidance with --label none", args: ["sample", ...m, "--label", "none", "--guidance", "3"], says: /--guidance: guides towards a label/ },
  // sample: names
  { name: "unknown sampler", args: ["sample", ...m, "--sampler", "eulr"], says: /--sampler: unknown sampler "eulr": must be one of/ },
  { name: "unknown option", args: ["sample", "--cont", "3"], says: /Unknown option '--cont'/ },
  { name: "a stray word", args: ["sample", "seven"], says: /Unexpected argument 'seven'/ },
  { name: "--out and --out-dir", args: ["sample", "--out", "a.png", "--out-dir", "d"], says: /--out-dir: .*not both/ },
  // img2img
  { name: "img2img without --image", args: ["img2img"], says: /--image: is required for img2img/ },
  { name: "img2img, missing --image", args: ["img2img", ...m, "--image", join(T, "nope.png")], says: /--image: cannot read .*nope\.png: no such file/ },
  { name: "img2img, a folder as --image", args: ["img2img", ...m, "--image", F.folder], says: /--image: cannot read .*it is a folder/ },
  { name: "img2img, a model as --image", args: ["img2img", ...m, "--image", F.unet], says: /--image: .*not a PNG/ },
  { name: "img2img, an 8x8 --image", args: ["img2img", ...m, "--image", F.png8], says: /--image: .*d8\.png is 8x8; the model takes 28x28 \(--resize scales it\)/ },
  { name: "img2img on a 2-D toy model", args: ["img2img", "--model", F.toy, "--image", F.png28, ...out("t.safetensors")], says: /--image: needs an image model/ },
  { name: "img2img --strength 0", args: ["img2img", ...m, "--image", F.png28, "--strength", "0"], says: /--strength: must be in \(0, 1\]/ },
  { name: "img2img --strength 2", args: ["img2img", ...m, "--image", F.png28, "--strength", "2"], says: /--strength: must be in \(0, 1\]/ },
  { name: "img2img --strength x", args: ["img2img", ...m, "--image", F.png28, "--strength", "x"], says: /--strength: must be a number/ },
  { name: "img2img --out under /proc", args: ["img2img", ...m, "--image", F.png28, "--out", "/proc/i.png"], says: /--out: cannot write/ },
  // inpaint
  { name: "inpaint without --mask", args: ["inpaint", "--image", F.png28], says: /--mask: is required for inpaint/ },
  { name: "inpaint, missing --mask", args: ["inpaint", ...m, "--image", F.png28, "--mask", join(T, "nope.png")], says: /--mask: cannot read .*no such file/ },
  { name: "inpaint, an 8x8 --mask", args: ["inpaint", ...m, "--image", F.png28, "--mask", F.png8], says: /--mask: .*is 8x8; the model takes 28x28/ },
  { name: "inpaint, a text --mask", args: ["inpaint", ...m, "--image", F.png28, "--mask", F.text], says: /--mask: .*not a PNG/ },
  { name: "inpaint --resample 0", args: ["inpaint", ...m, "--image", F.png28, "--mask", F.png28, "--resample", "0"], says: /--resample: must be an integer in \[1, 20\]/ },
  { name: "inpaint --out under a file", args: ["inpaint", ...m, "--image", F.png28, "--mask", F.png28, "--out", join(F.file, "i.png")], says: /--out: cannot write/ },
  // forward
  { name: "forward --out under /proc", args: ["forward", "--out", "/proc/f.png"], says: /--out: cannot write \/proc\/f\.png/ },
  { name: "forward --out under a file", args: ["forward", "--out", join(F.file, "f.png")], says: /--out: cannot write/ },
  { name: "forward --out .safetensors", args: ["forward", "--out", "f.safetensors"], says: /--out: must end in \.png/ },
  { name: "forward --T 0", args: ["forward", "--T", "0"], says: /--T: must be an integer in \[1, 100000\], got 0/ },
  { name: "forward --T -5", args: ["forward", "--T", "-5"], says: /--T: must be an integer in \[1, 100000\], got -5/ },
  { name: "forward --columns 1", args: ["forward", "--columns", "1"], says: /--columns: must be an integer in \[2, 64\]/ },
  { name: "forward --size 1e2", args: ["forward", "--size", "1e2"], says: /--size: must be an integer/ },
  { name: "forward unknown schedule", args: ["forward", "--schedule", "cosin"], says: /--schedule: must be one of/ },
  // a missing folder under /proc: Node 20's recursive mkdirSync never returns there (makeFolders)
  { name: "--out in a missing folder under /proc", args: ["sample", ...m, "--out", "/proc/edge-diffusion/x.png"], says: /--out: cannot write .*cannot create its folder \/proc\/edge-diffusion: .*\(ENOENT\)/ },
  // train
  { name: "train --out under /proc", args: ["train", "--dataset", "moons", "--out", "/proc/m.safetensors"], says: /--out: cannot write \/proc\/m\.safetensors: cannot create files in \/proc/ },
  { name: "train --out under a file", args: ["train", "--dataset", "moons", "--out", join(F.png28, "m.safetensors")], says: /--out: cannot write .*(EEXIST|ENOTDIR)/ },
  { name: "train --checkpoint is a folder", args: ["train", "--dataset", "moons", "--checkpoint", `${T}/`, ...out("c.safetensors")], says: /--checkpoint: (must end in \.safetensors|cannot write)/ },
  { name: "train --size on a toy", args: ["train", "--dataset", "moons", "--size", "16", ...out("t.safetensors")], says: /--size/ },
  { name: "train --channels 2", args: ["train", "--dataset", "moons", "--channels", "2"], says: /--channels: must be one of/ },
  { name: "train unknown dataset", args: ["train", "--dataset", "mnits", ...out("m.safetensors")], says: /--dataset: must be "mnist", a 2-D toy/ },
  { name: "train missing idx file", args: ["train", "--dataset", `idx:${join(T, "nope.idx")}`, "--preset", "mnist-tiny", ...out("m.safetensors")], says: /nope\.idx: no such file/ },
  { name: "train a PNG as idx file", args: ["train", "--dataset", `idx:${F.png28}`, "--preset", "mnist-tiny", ...out("m.safetensors")], says: /d28\.png/ },
  { name: "train a folder without images", args: ["train", "--dataset", `folder:${emptyFolder}`, "--preset", "mnist-tiny", ...out("m.safetensors")], says: /no-images/ },
  { name: "train unknown preset", args: ["train", "--dataset", "moons", "--preset", "huge"], says: /--preset: must be one of/ },
  { name: "train --steps 0", args: ["train", "--dataset", "moons", "--steps", "0"], says: /--steps: must be an integer/ },
  { name: "train --batch -4", args: ["train", "--dataset", "moons", "--batch", "-4"], says: /--batch: must be an integer in \[1, 4096\], got -4/ },
  { name: "train --lr abc", args: ["train", "--dataset", "moons", "--lr", "abc"], says: /--lr: must be a number/ },
  { name: "train --out .png", args: ["train", "--dataset", "moons", "--out", "m.png"], says: /--out: must end in \.safetensors/ },
  { name: "train --resume from a text file", args: ["train", "--dataset", "moons", "--preset", "toy", "--checkpoint", F.text, "--resume", ...out("r.safetensors")], says: /text\.safetensors|not a|cannot read/ },
  // info and the command itself
  { name: "info on a missing file", args: ["info", join(T, "nope.safetensors")], says: /MODEL: cannot read .*no such file/ },
  { name: "info on a folder", args: ["info", F.folder], says: /MODEL: .*a-folder holds no diffusers files/ },
  { name: "info on a PyTorch file", args: ["info", F.torchZip], says: /MODEL: .*is not a model: this is a PyTorch file/ },
  { name: "info with two files", args: ["info", F.unet, F.toy], says: /MODEL: takes one model file, got 2/ },
  { name: "info unknown option", args: ["info", "--verbose"], says: /Unknown option '--verbose'/ },
  { name: "an unknown command", args: ["smaple"], says: /unknown command "smaple"; the commands are sample, img2img/ },
];

const results = new Map<string, Run>();

describe("a careless user gets one line, a non-zero exit and no stack trace, before any work", () => {
  beforeAll(async () => {
    if (!existsSync(unreadable)) {
      const { writeFileSync } = await import("node:fs");
      writeFileSync(unreadable, "x");
      chmodSync(unreadable, 0o000);
    }
    const runs = await pool(CASES, 4, (c) => runCli(c.args, { cwd: T }));
    CASES.forEach((c, i) => results.set(c.name, runs[i]));
  }, 120_000);

  it.each(CASES.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const r = results.get(c.name)!;
    const lines = r.stderr.split("\n").filter((l) => l.trim() !== "");
    expect(lines, `stderr of ${c.args.join(" ")}`).toHaveLength(1);
    expect(lines[0]).toMatch(/^edge-diffusion( [a-z0-9]+)?: /);
    expect(lines[0]).toMatch(c.says);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.status).not.toBe(0);
    expect(r.status).not.toBeNull(); // not killed by the timeout
    // before any expensive work: no sampling header, no progress, nothing written
    expect(r.stdout).not.toMatch(/^sampling \d+ from|wrote /m);
    expect(r.stderr).not.toMatch(/(sampling|training) .*\d+%/);
  });

  it("wrote nothing anywhere", () => {
    const written = join(T, "written");
    expect(existsSync(written) ? readdirSync(written) : []).toEqual([]);
    expect(existsSync(join(T, "out")) ? readdirSync(join(T, "out")) : []).toEqual([]);
  });
});
