// Sample MNIST digits with edge-diffusion in Deno and write them as a PNG grid.
//
//   deno run --allow-read --allow-write examples/deno/sample.ts --label 7 --count 8 --out sevens.png
//
// Options: --model FILE (default: the shipped models/mnist.safetensors), --count N, --steps N,
// --sampler NAME, --seed N, --label 0..9|all|none, --guidance W, --out FILE (default digits.png).
import { generate, initKernels, loadModel, SAMPLER_NAMES, useKernels } from "edge-diffusion";

const defaults = {
  model: new URL("../../models/mnist.safetensors", import.meta.url).pathname,
  count: "10",
  steps: "16",
  sampler: "dpmpp_2m",
  seed: "0",
  label: "all",
  guidance: "1",
  out: "digits.png",
};
type Key = keyof typeof defaults;

function parseArgs(argv: string[]): Record<Key, string> {
  const o = { ...defaults };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, "") as Key;
    if (!(key in o) || !argv[i].startsWith("--")) throw new Error(`unknown option ${argv[i]} (options: ${Object.keys(o).map((k) => `--${k}`).join(", ")})`);
    if (argv[i + 1] === undefined) throw new Error(`${argv[i]} needs a value`);
    o[key] = argv[i + 1];
  }
  return o;
}

const a = parseArgs(Deno.args);
// The WASM SIMD kernels are embedded in the bundle: no file, no URL, no network.
useKernels(await initKernels());
const model = loadModel(await Deno.readFile(a.model));
const label = a.label === "all" ? "all" : a.label === "none" ? null : Number(a.label);
const t0 = performance.now();
const { bytes, shape } = generate(model, {
  count: Number(a.count),
  steps: Number(a.steps),
  sampler: a.sampler, // one of SAMPLER_NAMES
  seed: Number(a.seed),
  label,
  guidance: Number(a.guidance),
  format: "png",
});
await Deno.writeFile(a.out, bytes);
console.log(`wrote ${a.out} (${shape.join("x")}) in ${((performance.now() - t0) / 1000).toFixed(1)} s; samplers: ${SAMPLER_NAMES.join(", ")}`);
