// What `npm pack` ships: the bundles, the kernels, the types and the shipped model a user needs, and
// nothing of the repository's tests, sources or benchmarks.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
    // every subpath export names a file the tarball carries (issue 14, #8: an installed user could not
    // reach the shipped model), the model among them
    const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { exports: Record<string, string | Record<string, string>> };
    expect(pkg.exports["./models/mnist.safetensors"]).toBe("./models/mnist.safetensors");
    const targets = Object.values(pkg.exports).flatMap((t) => (typeof t === "string" ? [t] : Object.values(t)));
    expect(targets.map((t) => t.replace(/^\.\//, "")).filter((t) => !paths.includes(t))).toEqual([]);
  });

  it("an installed user resolves edge-diffusion/models/mnist.safetensors to the shipped model", () => {
    const project = mkdtempSync(join(tmpdir(), "ed-pkg-"));
    try {
      mkdirSync(join(project, "node_modules"));
      symlinkSync(process.cwd(), join(project, "node_modules/edge-diffusion"));
      writeFileSync(join(project, "resolve.mjs"), 'console.log(import.meta.resolve("edge-diffusion/models/mnist.safetensors"));');
      const url = execFileSync(process.execPath, ["resolve.mjs"], { cwd: project, encoding: "utf8" }).trim();
      expect(readFileSync(new URL(url)).equals(readFileSync("models/mnist.safetensors"))).toBe(true);
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });
});
