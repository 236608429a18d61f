// Sample MNIST digits with edge-diffusion in Deno and write them as a PNG grid.
//
//   deno run --allow-read --allow-write examples/deno/sample.ts --label 7 --count 8 --out sevens.png
//
// Options: --model FILE (default: the package's shipped model), --count N, --steps N, --sampler NAME,
// --seed N, --label 0..9|all|none, --guidance W, --out FILE (default digits.png). Options left out take
// the library's SAMPLING_DEFAULTS, the same as `edge-diffusion sample`.
import { generate, type GenerateOptions, initKernels, loadModel, loadShippedModel, SAMPLER_NAMES, SAMPLING_DEFAULTS, useKernels } from "edge-diffusion";

const OPTIONS = ["model", "count", "steps", "sampler", "seed", "label", "guidance", "out"] as const;
type Key = (typeof OPTIONS)[number];

function parseArgs(argv: string[]): Partial<Record<Key, string>> {
  const o: Partial<Record<Key, string>> = {};
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, "") as Key;
    if (!OPTIONS.includes(key) || !argv[i].startsWith("--")) {
      const d = SAMPLING_DEFAULTS;
      throw new Error(`unknown option ${argv[i]} (options: ${OPTIONS.map((k) => `--${k}`).join(", ")}; defaults: ${d.count} digits, ${d.sampler}, ${d.steps} steps, guidance ${d.guidance}, seed ${d.seed})`);
    }
    if (argv[i + 1] === undefined) throw new Error(`${argv[i]} needs a value`);
    o[key] = argv[i + 1];
  }
  return o;
}

const a = parseArgs(Deno.args);
// The WASM SIMD kernels are embedded in the bundle: no file, no URL, no network.
useKernels(await initKernels());
const model = a.model ? loadModel(await Deno.readFile(a.model)) : await loadShippedModel();
// only what was given: generate() fills in the rest from SAMPLING_DEFAULTS
const options: GenerateOptions = {};
if (a.count) options.count = Number(a.count);
if (a.steps) options.steps = Number(a.steps);
if (a.sampler) options.sampler = a.sampler; // one of SAMPLER_NAMES
if (a.seed) options.seed = Number(a.seed);
if (a.label) options.label = a.label === "all" ? "all" : a.label === "none" ? null : Number(a.label);
if (a.guidance) options.guidance = Number(a.guidance);
const out = a.out ?? "digits.png";
const t0 = performance.now();
const { bytes, shape } = generate(model, options);
await Deno.writeFile(out, bytes);
console.log(`wrote ${out} (${shape.join("x")}) in ${((performance.now() - t0) / 1000).toFixed(1)} s; samplers: ${SAMPLER_NAMES.join(", ")}`);
