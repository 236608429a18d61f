// The edge-diffusion command line. Thin: parses arguments, calls the library, reports progress.
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ArgumentError } from "../validate.ts";
import { runForward, SCHEDULE_NAMES } from "./forward.ts";

const HELP = `edge-diffusion — diffusion models on any CPU

Usage: edge-diffusion <command> [options]

Commands:
  forward     noise the built-in shapes across t and write a PNG strip (the default)
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

function writeAtomic(path: string, bytes: Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}

function intOpt(name: string, v: string | undefined, def: number): number {
  if (v === undefined) return def;
  if (!/^-?\d+$/.test(v.trim())) throw new ArgumentError(`--${name}`, `must be an integer, got ${JSON.stringify(v)}`);
  return Number(v);
}

function forward(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    options: {
      schedule: { type: "string", default: "cosine" },
      T: { type: "string" },
      columns: { type: "string" },
      chain: { type: "boolean", default: false },
      seed: { type: "string" },
      size: { type: "string" },
      scale: { type: "string" },
      out: { type: "string", default: "out/forward.png" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(FORWARD_HELP);
    return;
  }
  const out = resolve(values.out!);
  const t0 = performance.now();
  const r = runForward(
    {
      schedule: values.schedule!,
      T: intOpt("T", values.T, 1000),
      columns: intOpt("columns", values.columns, 11),
      chain: values.chain!,
      seed: intOpt("seed", values.seed, 0),
      size: intOpt("size", values.size, 32),
      scale: intOpt("scale", values.scale, 2),
    },
    (line) => console.log(line),
  );
  writeAtomic(out, r.png);
  console.log(`wrote ${out} (${r.rows.length} columns, ${r.schedule.name}) in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
}

export function main(argv: string[]): number {
  const [cmd = "forward", ...rest] = argv;
  try {
    switch (cmd) {
      case "forward":
        forward(rest);
        return 0;
      case "help":
      case "--help":
      case "-h":
        console.log(rest[0] === "forward" ? FORWARD_HELP : HELP);
        return 0;
      default:
        if (cmd.startsWith("-")) {
          forward(argv);
          return 0;
        }
        console.error(`edge-diffusion: unknown command ${JSON.stringify(cmd)}\n\n${HELP}`);
        return 2;
    }
  } catch (e) {
    if (e instanceof ArgumentError || (e instanceof TypeError && (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS"))) {
      console.error(`edge-diffusion ${cmd}: ${(e as Error).message}\nRun 'edge-diffusion ${cmd} --help' for the options.`);
      return 2;
    }
    throw e;
  }
}

process.exitCode = main(process.argv.slice(2));
