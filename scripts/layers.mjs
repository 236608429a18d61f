// The layering of src/, low to high (issue 11, "Done when"): a file may import only files of its own rank
// or lower, and no file may take part in an import cycle. This table is the one place the ranks are
// written; scripts/check-layers.mjs and test/architecture/layers.test.ts read it.
//
// Entries are paths relative to src/: a name ending in "/" is a folder (every file below it), any other
// name is one file. Every source file must fall under an entry, so a new folder or top-level file has to
// be placed here before the check passes. Entries may name folders that do not exist yet.

/** @type {ReadonlyArray<readonly [rank: number, paths: readonly string[]]>} */
export const LAYERS = [
  [0, ["validate.ts", "math/"]],
  [1, ["rng.ts", "kernels/"]],
  // discrete/: the math of discrete diffusion (process, schedules, ELBO, the toy's exact denoiser, the
  // tokenizer and the n-gram baseline) sits with schedule/; its samplers and training loop with
  // samplers/ and train/; the text model (network + tokenizer + file) with model.ts.
  [2, ["schedule/", "process.ts", "io/", "image/", "data/", "discrete/"]],
  [3, ["autograd/"]],
  [4, ["nn/", "denoiser/"]],
  [5, ["samplers/", "train/", "testbed/", "inverse/", "discrete/samplers.ts", "discrete/train.ts"]],
  [6, ["diffusers/", "model.ts", "presets.ts", "shipped-model.ts", "discrete/text-model.ts", "discrete/index.ts"]],
  [7, ["generate.ts", "defaults.ts", "parallel/", "train-parallel/"]],
  [8, ["index.ts"]],
  // node.ts is the `edge-diffusion/node` entry point.
  [9, ["entry/", "node/", "node.ts"]],
  [10, ["cli/"]],
];

/**
 * Bare specifiers that name this package itself: importing them from src/ is importing these files
 * (package.json "exports"), so they are ranked like the relative imports they stand for.
 * @type {Readonly<Record<string, string>>}
 */
export const SELF_IMPORTS = {
  "edge-diffusion": "index.ts",
  "edge-diffusion/node": "node.ts",
};

/**
 * Imports the ranks allow but the design forbids: [from entries, to entries, why]. Entries are written
 * as in LAYERS. The sampling path (loading a model and sampling from it) never imports training, so a
 * bundle that only samples carries no optimizer or loss (issue 11).
 * @type {ReadonlyArray<readonly [from: readonly string[], to: readonly string[], why: string]>}
 */
export const FORBIDDEN = [
  [["denoiser/", "samplers/", "testbed/", "inverse/", "discrete/samplers.ts", "discrete/text-model.ts", "diffusers/", "model.ts", "shipped-model.ts", "generate.ts", "defaults.ts", "parallel/"], ["train/"], "the sampling path never imports training"],
];
