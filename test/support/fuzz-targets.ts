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
import { parseUNet2DConfig, parseUNet2DConfigText, unet2dConfigSize } from "../../src/diffusers/unet-config.ts";
import { createUNet2DModel, loadUNet2DModel, UNET_WEIGHTS_FILE } from "../../src/diffusers/unet-model.ts";
import { UNet2DWeightsError } from "../../src/diffusers/unet-weights.ts";
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
  "--checkpoint", "--resume", "--fp16", "--image", "--mask", "--strength", "--resample", "--schedule", "--T", "--columns", "--chain", "--size", "--scale", "--threads", "--bogus", "-x", "--",
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

// The example Worker's request parsing (examples/worker/src: plain JS modules, loaded by path so the
// type checker leaves them alone). Its contract: a BadRequest naming a parameter, or acceptance.
type WorkerModules = { params: any; token: any }; // eslint-disable-line @typescript-eslint/no-explicit-any
const workerDir = new URL("../../examples/worker/src/", import.meta.url).href;
const W: WorkerModules = { params: await import(`${workerDir}params.js`), token: await import(`${workerDir}token.js`) };

function badRequest(f: () => unknown): Outcome {
  try {
    f();
    return "accepted";
  } catch (e) {
    if (!(e instanceof W.params.BadRequest)) throw e;
    const b = e as Error & { parameter: unknown; allowed: unknown };
    if (typeof b.parameter !== "string" || !b.parameter || !b.allowed) throw new Error(`BadRequest without a parameter or what is allowed: ${b.message}`);
    if (!b.message.startsWith(b.parameter)) throw new Error(`BadRequest message does not name its parameter: ${b.message}`);
    const known = /^(token\.)?(seed|steps|count|label|sampler|guidance|format|mode|maxSteps|query|token|method|path)$/.test(b.parameter);
    return `400 ${known ? b.parameter : "(unknown name)"}`;
  }
}

const Q_NAMES = ["seed", "steps", "count", "label", "sampler", "guidance", "format", "mode", "maxSteps", "token", "Seed", "", "seed[]", "%73eed"];
const Q_VALUES = fc.oneof(
  fc.constantFrom("0", "1", "2", "3", "4", "8", "9", "16", "17", "50", "51", "-1", "1e2", "0x10", "1.5", "2.5", "8.00001", "NaN", "Infinity", "", " ", "%00", "%FF", "all", "none", "euler", "heun", "dpmpp_2m", "ddpm", "png", "safetensors", "resumable", "oneshot", "4294967296", "9".repeat(17)),
  fc.string({ maxLength: 20 }),
  fc.integer().map(String),
  fc.double().map(String),
);
const KNOWN = ["steps", "count", "label", "sampler", "guidance", "format", "mode", "maxSteps"];
const QUERY = fc.oneof(
  // mostly well-formed: a seed and a few known settings with plausible values
  fc.tuple(fc.nat({ max: 2 ** 32 }), fc.array(fc.tuple(fc.constantFrom(...KNOWN), Q_VALUES), { maxLength: 4 })).map(([seed, kv]) =>
    [`seed=${seed}`, ...kv.map(([k, v]) => `${k}=${encodeURIComponent(v)}`)].join("&"),
  ),
  fc.array(fc.tuple(fc.constantFrom(...Q_NAMES), Q_VALUES), { maxLength: 10 }).map((kv) => kv.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&")),
  fc.string({ maxLength: 600 }),
  fc.array(fc.tuple(fc.constantFrom(...Q_NAMES), Q_VALUES), { maxLength: 10 }).map((kv) => kv.map(([k, v]) => `${k}=${v}`).join("&")),
);

export const workerQuery: Target<string> = {
  name: "Worker query parameters (GET /sample and POST continuations)",
  arb: QUERY,
  run(query) {
    const P = W.params;
    const url = new URL(`http://worker.test/sample?${query}`);
    const get = badRequest(() => {
      const q = P.readQuery(url, P.PARAMS);
      const p = P.parseSettings(q, 10);
      const m = P.parseMode(q, p);
      P.checkWork(p, m.resumable);
      // what the handler may then run: bounded by construction
      if (p.steps > P.BOUNDS.stepsMax || p.count > P.BOUNDS.countMax) throw new Error(`accepted out-of-bounds work ${query}`);
    });
    badRequest(() => P.readQuery(url, P.CONTINUATION_PARAMS)); // a POST's query: checked for crashes only
    return get;
  },
};

// A valid token for a 2-digit, 4-step generation of 16-value items, and the Worker's token parser.
const TOKEN_D = 16;
const VALID_TOKEN_BYTES = new Uint8Array(
  Buffer.from(
    W.token.encodeToken(
      { seed: "3", steps: "4", count: "5", label: "all", sampler: "dpmpp_2m", guidance: "1", format: "png" },
      2,
      Float32Array.from({ length: 5 * TOKEN_D }, (_, i) => Math.sin(i)),
      [{ old: Array.from({ length: 4 * TOKEN_D }, (_, i) => Math.fround(Math.cos(i))), h: 0.25 }, { old: null, h: 0.25 }],
      [4, 1],
      TOKEN_D,
    ),
    "base64url",
  ),
);
const parseTokenSettings = (tq: Map<string, string>) => {
  const P = W.params;
  const p = P.parseSettings(tq, 10, "token.");
  P.checkWork(p, true, "token.");
  const chunkSizes: number[] = [];
  for (let s = 0; s < p.count; s += P.CHUNK) chunkSizes.push(Math.min(P.CHUNK, p.count - s));
  return { p, chunkSizes };
};

export const workerToken: Target<string> = {
  name: "Worker continuation tokens",
  arb: fc.oneof(
    mutations(VALID_TOKEN_BYTES).map((b) => Buffer.from(b).toString("base64url")),
    fc.string({ maxLength: 300 }),
    fc.tuple(fc.nat({ max: 400 }), fc.string({ maxLength: 4 })).map(([i, t]) => {
      const v = Buffer.from(VALID_TOKEN_BYTES).toString("base64url");
      return v.slice(0, i) + t + v.slice(i + t.length);
    }),
  ),
  run(token) {
    return badRequest(() => {
      const t = W.token.decodeToken(token, TOKEN_D, parseTokenSettings);
      if (t.x.length !== t.p.count * TOKEN_D || t.carries.length !== t.chunkSizes.length) throw new Error("accepted a token whose arrays do not fit its settings");
      for (const v of t.x) if (!(Math.abs(v) <= W.token.VALUE_MAX)) throw new Error(`accepted a token value ${v}`);
    });
  },
};

// diffusers UNet2DModel config.json and weights (src/diffusers/unet-*.ts). A tiny valid model, its config
// mutated key by key with hostile values (huge and negative sizes, 10^9 layers, NaN, wrong types, deep
// nesting, unknown keys), as objects and as text; and its safetensors file mutated byte by byte.
const UNET_CONFIG: Record<string, unknown> = {
  _class_name: "UNet2DModel",
  in_channels: 3,
  out_channels: 3,
  block_out_channels: [4, 8],
  down_block_types: ["DownBlock2D", "AttnDownBlock2D"],
  up_block_types: ["AttnUpBlock2D", "UpBlock2D"],
  layers_per_block: 1,
  norm_num_groups: 2,
  attention_head_dim: 4,
  num_class_embeds: 3,
};
const UNET_KEYS = [
  ...Object.keys(UNET_CONFIG), "sample_size", "center_input_sample", "time_embedding_type", "time_embedding_dim", "freq_shift", "flip_sin_to_cos",
  "mid_block_type", "mid_block_scale_factor", "downsample_padding", "downsample_type", "upsample_type", "dropout", "act_fn", "attn_norm_num_groups",
  "norm_eps", "resnet_time_scale_shift", "add_attention", "class_embed_type", "num_train_timesteps", "cross_attention_dim", "__proto__", "constructor", "_diffusers_version",
];
const deepArray = (n: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < n; i++) v = [v];
  return v;
};
const UNET_VALUES = fc.oneof(
  fc.constantFrom<unknown>(
    -1, 0, 1, 2, 3, 4, 8, 16, 64, 65536, 65537, 1e9, 2 ** 31, 2 ** 53, 0.5, 1e-6, 1e300, NaN, Infinity, -Infinity, "", null, true, false, [], {},
    "silu", "gelu", "mish", "tanh", "fourier", "learned", "positional", "scale_shift", "default", "resnet", "conv", "identity", "timestep", "UNetMidBlock2D",
    [4, 8], [8, 16], [4, 1e9], [-4, 8], [4, 8, 16], ["DownBlock2D", "DownBlock2D"], ["SkipDownBlock2D", "SkipDownBlock2D"], ["UpBlock2D", "CrossAttnUpBlock2D"],
    ["UNetResDownBlock2D", "AttnDownBlock2D"], new Array(100).fill(4),
  ),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 12 }),
  fc.array(fc.integer({ min: -4, max: 70000 }), { maxLength: 20 }),
  fc.nat({ max: 3000 }).map(deepArray),
);
const UNET_CONFIGS: fc.Arbitrary<Record<string, unknown>> = fc
  .array(fc.tuple(fc.constantFrom(...UNET_KEYS), fc.oneof(UNET_VALUES, fc.constant(undefined))), { maxLength: 4 })
  .map((edits) => {
    const c: Record<string, unknown> = { ...UNET_CONFIG };
    for (const [k, v] of edits) {
      if (v === undefined) delete c[k];
      else Object.defineProperty(c, k, { value: v, enumerable: true, writable: true, configurable: true });
    }
    return c;
  });

export const unetConfig: Target<{ obj: Record<string, unknown> } | { text: string }> = {
  name: "diffusers UNet2DModel config.json",
  arb: fc.oneof(
    UNET_CONFIGS.map((obj) => ({ obj })),
    UNET_CONFIGS.map((obj) => ({ text: JSON.stringify(obj) })),
    fc.tuple(UNET_CONFIGS, fc.nat(), fc.string({ maxLength: 3 })).map(([obj, i, t]) => {
      const v = JSON.stringify(obj);
      const at = i % (v.length + 1);
      return { text: v.slice(0, at) + t + v.slice(at + t.length) };
    }),
    fc.nat({ max: 100000 }).map((n) => ({ text: "[".repeat(n) })),
    fc.json().map((text) => ({ text })),
  ),
  run(input) {
    return typed(() => {
      const c = "obj" in input ? parseUNet2DConfig(input.obj) : parseUNet2DConfigText(input.text);
      // an accepted config is bounded: its parameter list is computed by arithmetic, in bounded time
      const { parameters } = unet2dConfigSize(c);
      if (!(parameters >= 1 && Number.isSafeInteger(parameters))) throw new Error(`accepted a config of ${parameters} parameters`);
    }, ArgumentError);
  },
};

const VALID_UNET_WEIGHTS = createUNet2DModel(UNET_CONFIG, { seed: 1 }).save()[UNET_WEIGHTS_FILE];

export const unetWeights: Target<{ config: Record<string, unknown>; bytes: Uint8Array; fileName?: string }> = {
  name: "diffusers UNet2DModel weights loader",
  arb: fc.record({
    config: fc.oneof({ weight: 2, arbitrary: fc.constant(UNET_CONFIG) }, { weight: 1, arbitrary: UNET_CONFIGS }),
    bytes: fc.oneof(
      { weight: 4, arbitrary: mutations(VALID_UNET_WEIGHTS) },
      { weight: 1, arbitrary: fc.constant(VALID_UNET_WEIGHTS) },
      { weight: 1, arbitrary: fc.tuple(fc.constantFrom([0x50, 0x4b, 0x03, 0x04], [0x80, 0x02], [0x80, 0x04, 0x95]), fc.uint8Array({ maxLength: 32 })).map(([h, t]) => Uint8Array.from([...h, ...t])) },
    ),
    fileName: fc.oneof(
      { weight: 6, arbitrary: fc.constant(undefined) },
      { weight: 2, arbitrary: fc.constant("diffusion_pytorch_model.safetensors") },
      { weight: 1, arbitrary: fc.constantFrom("diffusion_pytorch_model.bin", "model.ckpt") },
    ),
  }),
  run({ config, bytes, fileName }) {
    return typed(() => {
      const m = loadUNet2DModel(config, bytes, { fileName });
      // what was allocated is justified by the file: float32 parameters at most 2x an F16 file
      if (m.parameterCount() * 4 > 2 * bytes.length) throw new Error(`allocated ${m.parameterCount()} parameters for a ${bytes.length}-byte file`);
    }, ArgumentError, UNet2DWeightsError, SafetensorsError);
  },
};

export const TARGETS = [cliArgs, safetensors, checkpoint, idx, png, workerQuery, workerToken, unetConfig, unetWeights] as Target<unknown>[];
