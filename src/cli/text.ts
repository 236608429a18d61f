// edge-diffusion text: print words from the text model (character-level masked diffusion), with
// --prefix/--suffix as infilling. Arguments are parsed here (pure, like args.ts) and run by runText.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { generateWords, loadTextModel, TEXT_SAMPLERS, type TextSampler } from "../discrete/text-model.ts";
import { checkLetters } from "../discrete/vocab.ts";
import { ensureKernels } from "../generate.ts";
import { ArgumentError, oneOf } from "../validate.ts";
import { intOpt, joinNegativeValues } from "./args.ts";
import { readInput } from "./files.ts";

export const TEXT_MODEL_FILE = "models/text.safetensors";

export const TEXT_HELP = `edge-diffusion text — words from the text model (masked diffusion over letters)

Options:
  --count N         words to print, 1..10000 (default 20)
  --prefix LETTERS  every word starts with these letters (a-z)
  --suffix LETTERS  every word ends with these letters (a-z); the length is drawn from the
                    training words' lengths. Prefix and suffix are filled in between (infilling)
  --steps N         network calls, 1..1000 (default: the model's length, 16)
  --sampler NAME    ${TEXT_SAMPLERS.join(" | ")}: unmask the most confident letters first
                    (MaskGIT / LLaDA), or MDLM's ancestral steps (default confidence)
  --seed N          integer >= 0 (default 0)
  --model FILE      a text model from 'npm run train:text' (default ${TEXT_MODEL_FILE})

Examples:
  edge-diffusion text --count 20
  edge-diffusion text --prefix un --suffix able --count 10`;

export interface TextArgs {
  help: boolean;
  count: number;
  prefix?: string;
  suffix?: string;
  steps?: number;
  sampler: TextSampler;
  seed: number;
  model?: string;
}

function lettersOpt(name: string, v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (v === "") throw new ArgumentError(`--${name}`, `must be one or more letters a-z, got ""`);
  try {
    return checkLetters(`--${name}`, v);
  } catch (e) {
    throw e instanceof ArgumentError ? new ArgumentError(`--${name}`, e.message.slice(e.arg.length + 2)) : e;
  }
}

export function parseTextArgs(argv: string[]): TextArgs {
  const { values: v } = parseArgs({
    args: joinNegativeValues(argv),
    options: {
      count: { type: "string" },
      prefix: { type: "string" },
      suffix: { type: "string" },
      steps: { type: "string" },
      sampler: { type: "string" },
      seed: { type: "string" },
      model: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  return {
    help: v.help ?? false,
    count: intOpt("count", v.count, 20, 1, 10000),
    prefix: lettersOpt("prefix", v.prefix),
    suffix: lettersOpt("suffix", v.suffix),
    steps: v.steps === undefined ? undefined : intOpt("steps", v.steps, 16, 1, 1000),
    sampler: oneOf("--sampler", v.sampler ?? "confidence", TEXT_SAMPLERS),
    seed: intOpt("seed", v.seed, 0, 0, Number.MAX_SAFE_INTEGER),
    model: v.model,
  };
}

/** The shipped text model, next to the package root (dist/cli.js or src/cli/*.ts). */
export function textModelPath(): string {
  for (const rel of [`../${TEXT_MODEL_FILE}`, `../../${TEXT_MODEL_FILE}`]) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  return fileURLToPath(new URL(`../${TEXT_MODEL_FILE}`, import.meta.url));
}

/** Generate and print the words; returns them. */
export async function runText(a: TextArgs, print: (line: string) => void): Promise<string[]> {
  const path = resolve(a.model ?? textModelPath());
  if (a.model === undefined && !existsSync(path)) {
    throw new ArgumentError("--model", `not given, and the shipped text model ${path} has not been trained yet: run 'npm run train:text' (about 45 minutes) to make it`);
  }
  const model = loadTextModel(readInput("--model", path));
  await ensureKernels();
  const words = generateWords(model, { count: a.count, steps: a.steps, seed: a.seed, prefix: a.prefix, suffix: a.suffix, sampler: a.sampler });
  for (const w of words) print(w);
  return words;
}
