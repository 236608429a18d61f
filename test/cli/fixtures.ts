// Files the CLI tests feed the built CLI: tiny models of every kind (saved untrained: the tests check
// what the CLI does with them, not sample quality), images, and files of the wrong kind.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { encodePng } from "../../src/image/png.ts";
import { writeSafetensors } from "../../src/io/safetensors.ts";
import { saveModel } from "../../src/model.ts";
import { ScoreMLP } from "../../src/nn/mlp.ts";
import { MNIST_UNET, UNet } from "../../src/nn/unet.ts";

export const ROOT = resolve(import.meta.dirname, "../..");
export const CLI = join(ROOT, "dist/cli.js");
const EDM = { parameterization: "edm", sigmaData: 0.5, sigmaMin: 0.002, sigmaMax: 80 } as const;

export interface Fixtures {
  dir: string;
  /** Class-conditional (10 classes) 28x28 gray UNet, small. */
  unet: string;
  /** The same without classes. */
  uncond: string;
  /** A 2-D toy model (MLP on points). */
  toy: string;
  /** 28x28 gray PNG, 8x8 gray PNG, an RGB 28x28 PNG. */
  png28: string;
  png8: string;
  /** Files of the wrong kind. */
  text: string;
  empty: string;
  torchZip: string;
  torchPickle: string;
  diffusers: string;
  truncated: string;
  /** A plain file, to put paths under. */
  file: string;
  /** A folder. */
  folder: string;
}

function gray(size: number, f: (x: number, y: number) => number): Uint8Array {
  const data = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) data[y * size + x] = f(x, y);
  return encodePng({ width: size, height: size, channels: 1, data });
}

export function makeFixtures(): Fixtures {
  const dir = mkdtempSync(join(tmpdir(), "ed-cli-fx-"));
  const p = (name: string) => join(dir, name);
  const small = { ...MNIST_UNET, channels: [8, 16], attentionLevels: [1], groups: 4, embDim: 8 };
  writeFileSync(p("unet.safetensors"), saveModel(new UNet(small).initialize(1), EDM));
  writeFileSync(p("uncond.safetensors"), saveModel(new UNet({ ...small, numClasses: 0 }).initialize(2), EDM));
  writeFileSync(p("toy.safetensors"), saveModel(new ScoreMLP({ kind: "mlp", dim: 2, hidden: 16, blocks: 1, embDim: 8, numClasses: 0 }).initialize(3), EDM));
  writeFileSync(p("d28.png"), gray(28, (x, y) => ((x - 14) ** 2 + (y - 14) ** 2 < 64 ? 255 : 0)));
  writeFileSync(p("d8.png"), gray(8, (x) => x * 30));
  writeFileSync(p("text.safetensors"), "this is not a model\n");
  writeFileSync(p("empty.safetensors"), new Uint8Array(0));
  writeFileSync(p("model.pt"), Buffer.concat([Buffer.from("PK\x03\x04", "latin1"), Buffer.alloc(60)]));
  writeFileSync(p("pytorch_model.bin"), Buffer.from([0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e]));
  const f32 = (shape: number[]) => ({ dtype: "F32" as const, shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
  writeFileSync(
    p("diffusion_pytorch_model.safetensors"),
    writeSafetensors({ "conv_in.weight": f32([4, 1, 3, 3]), "down_blocks.0.resnets.0.conv1.weight": f32([4, 4, 3, 3]), "time_embedding.linear_1.weight": f32([16, 4]) }, { format: "pt" }),
  );
  const whole = saveModel(new UNet(small).initialize(1), EDM);
  writeFileSync(p("truncated.safetensors"), whole.subarray(0, whole.length >> 1));
  writeFileSync(p("a-file"), "x");
  mkdirSync(p("a-folder"));
  return {
    dir,
    unet: p("unet.safetensors"),
    uncond: p("uncond.safetensors"),
    toy: p("toy.safetensors"),
    png28: p("d28.png"),
    png8: p("d8.png"),
    text: p("text.safetensors"),
    empty: p("empty.safetensors"),
    torchZip: p("model.pt"),
    torchPickle: p("pytorch_model.bin"),
    diffusers: p("diffusion_pytorch_model.safetensors"),
    truncated: p("truncated.safetensors"),
    file: p("a-file"),
    folder: p("a-folder"),
  };
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Run the built CLI (asynchronously, so tests can run several at once). */
export function runCli(args: string[], opts: { cwd?: string; timeoutMs?: number; env?: Record<string, string> } = {}): Promise<Run> {
  return new Promise((done) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
    child.on("close", (status) => {
      clearTimeout(timer);
      done({ status, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

/** Map `items` through `f` with at most `width` running at once, keeping the order. */
export async function pool<T, R>(items: T[], width: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await f(items[i]);
      }
    }),
  );
  return out;
}
