// The import graph of src/ reads one way (issue 11, "Done when"): from the kernels up to the CLI, no file
// importing a rank above its own, no import cycle, every file ranked. The ranks are in scripts/layers.mjs;
// the same check runs by hand with `node scripts/check-layers.mjs`.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkLayers, problems } from "../../scripts/check-layers.mjs";

const ROOT = resolve(import.meta.dirname, "../..");

/** A throw-away source tree: path under src/ -> file text. */
function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "ed-layers-"));
  for (const [path, text] of Object.entries(files)) {
    const p = join(dir, "src", path);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
  }
  return dir;
}
const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});
const check = (files: Record<string, string>) => {
  const dir = tree(files);
  made.push(dir);
  return problems(checkLayers(join(dir, "src")));
};

describe("the layering check", () => {
  // Downward and same-rank imports of every kind; specifiers in comments and strings; build output
  // outside src/; .js written for .ts; folders of the table that do not exist (denoiser/, node/).
  const clean: Record<string, string> = {
    "validate.ts": "export const v = 1;\n",
    "math/a.ts": 'import { v } from "../validate.ts";\nexport const a = v;\n',
    "rng.ts": '// import { c } from "./cli/c.ts";\nimport { a } from "./math/a.ts";\nexport const s = "import x from \'./index.ts\'" + a;\n',
    "process.ts": 'export type P = number;\n',
    "schedule/p.ts": 'import type { P } from "../process.js";\nexport * from "../rng.ts";\nexport type Q = P;\n',
    "samplers/s.ts": 'export const s = () => import("../schedule/p.ts");\n',
    "train/t.ts": 'import { s } from "../samplers/s.ts";\nexport const t = s;\n',
    "index.ts": 'export * from "./train/t.ts";\n',
    "entry/e.ts": 'import wasm from "../../build/kernels.wasm";\nexport * from "../index.ts";\nexport { wasm };\n',
    "cli/c.ts": 'import * as lib from "edge-diffusion";\nexport { lib };\n',
  };

  it("passes a tree whose imports all go down or sideways", () => {
    expect(check(clean)).toEqual([]);
  });

  it("names every upward import, cycle, same-rank folder circle, unranked file, missing import and forbidden import", () => {
    const found = check({
      ...clean,
      "kernels/k.ts": 'import { s } from "../samplers/s.ts";\nexport const k = s;\n', // rank 1 -> 5
      "io/y.ts": 'import type * as lib from "edge-diffusion";\nexport type L = typeof lib;\n', // rank 2 -> the package's index.ts, 8
      "autograd/a.ts": 'export type T = typeof import("../nn/n.ts");\n', // rank 3 -> 4, in a type
      "nn/n.ts": "export {};\n",
      "samplers/x.ts": 'import { y } from "./y.ts";\nexport const x = () => y;\n',
      "samplers/y.ts": 'import { x } from "./x.ts";\nexport const y = () => x;\n',
      "samplers/u.ts": 'export { t } from "../train/t.ts";\n', // train/t.ts imports samplers/s.ts: a circle of rank 5
      "newfolder/n.ts": 'import { v } from "../validate.ts";\nexport const n = v;\n',
      "image/z.ts": 'import "./missing.ts";\n',
    });
    expect(found).toEqual([
      "upward: src/autograd/a.ts (rank 3) -> src/nn/n.ts (rank 4)",
      "upward: src/io/y.ts (rank 2) -> src/index.ts (rank 8)",
      "upward: src/kernels/k.ts (rank 1) -> src/samplers/s.ts (rank 5)",
      "cycle: src/samplers/x.ts -> src/samplers/y.ts -> src/samplers/x.ts",
      "folder cycle: src/samplers/ -> src/train/ -> src/samplers/",
      "unranked: src/newfolder/n.ts (place it in scripts/layers.mjs)",
      'unresolved: src/image/z.ts -> "./missing.ts"',
      "forbidden: src/samplers/u.ts -> src/train/t.ts (the sampling path never imports training)",
    ]);
  });

  it("names a longer cycle by its files, with every file of the circle", () => {
    const found = check({
      "nn/a.ts": 'import "./b.ts";\n',
      "nn/b.ts": 'import "./c.ts";\nimport "./d.ts";\n',
      "nn/c.ts": 'import "./a.ts";\n',
      "nn/d.ts": 'import "./b.ts";\n',
      "nn/self.ts": 'export * from "./self.ts";\n',
    });
    expect(found).toEqual([
      "cycle: src/nn/a.ts -> src/nn/b.ts -> src/nn/c.ts -> src/nn/a.ts (in one circle with src/nn/d.ts)",
      "cycle: src/nn/self.ts -> src/nn/self.ts",
    ]);
  });

  it("refuses a table that ranks one path twice", () => {
    const dir = tree({ "a.ts": "" });
    made.push(dir);
    expect(() => checkLayers(join(dir, "src"), { layers: [[0, ["a.ts"]], [1, ["a.ts"]]] })).toThrow(/a\.ts is listed twice/);
  });
});

describe("src/", () => {
  it("imports run one way, from the kernels up to the CLI, with no cycle and every file ranked", () => {
    const found = problems(checkLayers(join(ROOT, "src")));
    expect(found).toEqual([]);
  });
});
