// Bundles src/ with esbuild. Always an explicit target: esbuild's default emits Uint8Array.fromBase64,
// which Node 20 lacks (../shared/design.md §4).
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { chmodSync, rmSync } from "node:fs";

const common = { bundle: true, format: "esm", target: "es2022", sourcemap: true, logLevel: "warning" };

rmSync("dist", { recursive: true, force: true });

// The library: platform-neutral, so it runs in Node, Deno, Bun, Workers and browsers. The default
// bundle embeds the kernels' wasm as bytes; the workerd bundle imports it as a module (workerd refuses
// to compile wasm from bytes), copied beside the bundle.
const lib = { ...common, outdir: "dist", platform: "neutral", mainFields: ["module", "main"] };
await build({ ...lib, entryPoints: { index: "src/entry/embedded.ts" }, loader: { ".wasm": "binary" } });
await build({ ...lib, entryPoints: { workerd: "src/entry/workerd.ts" }, loader: { ".wasm": "copy" }, assetNames: "[name]" });

// Node-only helpers (files, the mnist package): "edge-diffusion/node".
await build({ ...common, entryPoints: { node: "src/node.ts" }, outdir: "dist", platform: "node", packages: "external" });

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
