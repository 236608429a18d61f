// What `npm pack` ships: the bundles, the kernels, the types and the shipped model a user needs, and
// nothing of the repository's tests, sources or benchmarks.
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";

describe("npm pack", () => {
  it("ships dist (bundles, wasm, types), the shipped model and README, and no tests, sources or benches", () => {
    // --ignore-scripts: pack must not run `prepare` (a rebuild) while other test files use dist/
    const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { encoding: "utf8" });
    const info = JSON.parse(out)[0] as { files: { path: string }[]; size: number };
    const paths = info.files.map((f) => f.path);
    for (const need of ["dist/index.js", "dist/workerd.js", "dist/kernels.wasm", "dist/node.js", "dist/cli.js", "dist/types/index.d.ts", "dist/build/kernels.d.ts", "models/mnist.safetensors", "README.md", "package.json"]) {
      expect(paths).toContain(need);
    }
    const stray = paths.filter((p) => /^(test|src|assembly|bench|examples|scripts|\.ci|docs)\//.test(p) || p.endsWith(".ckpt.safetensors"));
    expect(stray).toEqual([]);
    expect(info.size).toBeLessThan(3 * 2 ** 20); // packed tarball
  });
});
