// Fuzz targets shared by the quick pass in `npm test` and the long pass in `npm run soak`: each is a
// fast-check arbitrary of hostile inputs plus a check that the code under test either accepts the input
// or rejects it with its own typed error. Anything else (a TypeError from deep inside, a RangeError from
// an allocation, a hang) fails the property.
import fc from "fast-check";
import { parseForwardArgs, parseSampleArgs, parseTrainArgs } from "../../src/cli/args.ts";
import { DatasetError } from "../../src/data/dataset.ts";
import { readIdx } from "../../src/data/idx.ts";
import { decodePngImage } from "../../src/data/png-decode.ts";
import { CheckpointError, packCheckpoint, unpackCheckpoint } from "../../src/io/checkpoint.ts";
import { readSafetensors, SafetensorsError, writeSafetensors } from "../../src/io/safetensors.ts";
import { encodePng } from "../../src/image/png.ts";
import { ArgumentError } from "../../src/validate.ts";

export type Outcome = "accepted" | string;

export interface Target<T> {
  name: string;
  arb: fc.Arbitrary<T>;
  /** Returns "accepted" or the rejection's code/name; throws on anything unexpected. */
  run(input: T): Outcome;
}

const OPTION_NAMES = [
  "--model", "--count", "--steps", "--sampler", "--seed", "--label", "--guidance", "--out", "--help", "-h",
  "--dataset", "--preset", "--batch", "--lr", "--warmup", "--ema", "--label-dropout", "--checkpoint-every",
  "--checkpoint", "--resume", "--fp16", "--image", "--mask", "--strength", "--resample", "--schedule", "--T", "--columns", "--chain", "--size", "--scale", "--bogus", "-x", "--",
];
const VALUES = fc.oneof(
  fc.constantFrom("0", "1", "-1", "20", "4096", "4097", "1e3", "0x10", "1.5", "NaN", "Infinity", "-0", "", " ", "9".repeat(30), "all", "none", "heun", "euler", "x.png", "x.safetensors", "x.txt", "moons", "mnist", "toy", "cosine", "ve"),
  fc.string({ maxLength: 12 }),
  fc.integer().map(String),
  fc.double().map(String),
);
const ARGV = fc.array(fc.oneof(fc.constantFrom(...OPTION_NAMES), VALUES, fc.tuple(fc.constantFrom(...OPTION_NAMES), VALUES).map(([o, v]) => `${o}=${v}`)), { maxLength: 10 });

function cliOutcome(f: () => unknown): Outcome {
  try {
    f();
    return "accepted";
  } catch (e) {
    if (e instanceof ArgumentError) {
      if (!/^--[a-zA-Z-]+: /.test(e.message)) throw new Error(`ArgumentError without an option name: ${e.message}`);
      return "ArgumentError";
    }
    const code = (e as { code?: string }).code;
    if (e instanceof TypeError && code?.startsWith("ERR_PARSE_ARGS")) return code;
    throw e;
  }
}

export const cliArgs: Target<string[]> = {
  name: "CLI arguments (sample, img2img, inpaint, train, forward)",
  arb: ARGV,
  run(argv) {
    const outcomes = [
      cliOutcome(() => parseSampleArgs(argv)),
      cliOutcome(() => parseSampleArgs(argv, "img2img")),
      cliOutcome(() => parseSampleArgs(argv, "inpaint")),
      cliOutcome(() => parseTrainArgs(argv)),
      cliOutcome(() => parseForwardArgs(argv)),
    ];
    return outcomes.every((o) => o === "accepted") ? "accepted" : outcomes.find((o) => o !== "accepted")!;
  },
};

function typed(f: () => unknown, ...classes: (new (...a: never[]) => Error)[]): Outcome {
  try {
    f();
    return "accepted";
  } catch (e) {
    for (const C of classes) if (e instanceof C) return (e as { code?: string }).code ?? C.name;
    throw e;
  }
}

/** A small valid safetensors file to mutate. */
const VALID_ST = writeSafetensors(
  { a: { dtype: "F32", shape: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, 6) }, b: { dtype: "F16", shape: [4], data: Float32Array.of(0.5, -1, 2, 3) } },
  { note: "x" },
);

/** Random bytes, a plausible header length before random JSON-ish bytes, truncations and byte edits of a valid file. */
function mutations(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc.nat({ max: valid.length }).map((n) => valid.slice(0, n)),
    fc.array(fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }).map((edits) => {
      const b = valid.slice();
      for (const [i, v] of edits) b[i] = v;
      return b;
    }),
    fc.tuple(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.uint8Array({ maxLength: 64 })).map(([len, rest]) => {
      const b = new Uint8Array(8 + rest.length);
      new DataView(b.buffer).setBigUint64(0, len, true);
      b.set(rest, 8);
      return b;
    }),
  );
}

export const safetensors: Target<Uint8Array> = {
  name: "safetensors reader",
  arb: mutations(VALID_ST),
  run: (b) => typed(() => readSafetensors(b), SafetensorsError),
};

const VALID_CKPT = packCheckpoint({
  params: { "l.weight": { shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) } },
  ema: { "l.weight": { shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) } },
  adam: { m: { "l.weight": { shape: [2, 2], data: new Float32Array(4) } }, v: { "l.weight": { shape: [2, 2], data: new Float32Array(4) } } },
  meta: { step: 3, config: { kind: "mlp" } },
});

export const checkpoint: Target<Uint8Array> = {
  name: "checkpoint reader",
  arb: fc.oneof(mutations(VALID_CKPT), mutations(VALID_ST)),
  run: (b) => typed(() => unpackCheckpoint(b), SafetensorsError, CheckpointError),
};

const VALID_IDX = (() => {
  const b = new Uint8Array(4 + 12 + 2 * 3 * 3);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, 0x00000803);
  dv.setUint32(4, 2);
  dv.setUint32(8, 3);
  dv.setUint32(12, 3);
  return b;
})();

export const idx: Target<Uint8Array> = {
  name: "IDX reader",
  arb: mutations(VALID_IDX),
  run: (b) => typed(() => readIdx(b), DatasetError),
};

const VALID_PNG = encodePng({ width: 5, height: 4, channels: 1, data: new Uint8Array(20).map((_, i) => i * 12) });

export const png: Target<Uint8Array> = {
  name: "PNG decoder",
  arb: mutations(VALID_PNG),
  run: (b) => typed(() => decodePngImage(b, "fuzz.png"), DatasetError),
};

export const TARGETS = [cliArgs, safetensors, checkpoint, idx, png] as Target<unknown>[];
