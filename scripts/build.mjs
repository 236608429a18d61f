// Bundles src/ with esbuild. Always an explicit target: esbuild's default emits Uint8Array.fromBase64,
// which Node 20 lacks (../shared/design.md §4).
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { chmodSync, rmSync } from "node:fs";
import { resolve as resolvePath } from "node:path";

const common = { bundle: true, format: "esm", target: "es2022", sourcemap: true, logLevel: "warning" };

rmSync("dist", { recursive: true, force: true });

// The library: platform-neutral, so it runs in Node, Deno, Bun, Workers and browsers. The default
// bundle embeds the kernels' wasm as bytes; the workerd bundle imports it as a module (workerd refuses
// to compile wasm from bytes), copied beside the bundle.
const lib = { ...common, outdir: "dist", platform: "neutral", mainFields: ["module", "main"] };
await build({ ...lib, entryPoints: { index: "src/entry/embedded.ts" }, loader: { ".wasm": "binary" } });
await build({ ...lib, entryPoints: { workerd: "src/entry/workerd.ts" }, loader: { ".wasm": "copy" }, assetNames: "[name]" });

// Node-only helpers (files, the mnist package, worker threads): "edge-diffusion/node". Imports of the
// library itself (src/index.ts) stay imports of ./index.js, so both entry points share one module
// state (the kernels chosen with useKernels) instead of each bundling a copy.
const libraryExternal = {
  name: "library-external",
  setup(b) {
    b.onResolve({ filter: /\/index\.ts$/ }, (args) => {
      const abs = resolvePath(args.resolveDir, args.path);
      return abs === resolvePath("src/index.ts") ? { path: "./index.js", external: true } : undefined;
    });
  },
};
await build({ ...common, entryPoints: { node: "src/node.ts" }, outdir: "dist", platform: "node", packages: "external", plugins: [libraryExternal] });

// The parallel denoiser's worker thread: self-contained (library and kernels embedded).
await build({ ...common, entryPoints: { "parallel-worker": "src/node/parallel-worker.ts", "train-worker": "src/node/train-worker.ts" }, outdir: "dist", platform: "node", packages: "external", loader: { ".wasm": "binary" } });

// The CLI: Node only.
await build({
  ...common,
  entryPoints: { cli: "src/cli/main.ts" },
  outdir: "dist",
  platform: "node",
  // dependencies stay imports (installed with the package); cli-progress is CommonJS and cannot be
  // inlined into an ES module
  packages: "external",
  banner: { js: "#!/usr/bin/env node" },
  loader: { ".wasm": "binary" },
});
chmodSync("dist/cli.js", 0o755);

// Type declarations for the library.
execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });

// The wasm backend's export types come from asc's generated bindings (build/kernels.d.ts); the emitted
// declarations import them as ../../../build/kernels.js from dist/types/kernels/wasm, i.e. dist/build.
import { copyFileSync, mkdirSync } from "node:fs";
mkdirSync("dist/build", { recursive: true });
copyFileSync("build/kernels.d.ts", "dist/build/kernels.d.ts");
