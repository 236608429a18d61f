// Builds the demo page into examples/demo/dist/: main.js (the page) and worker.js (the compute worker,
// with the library and its kernels' wasm inside), plus index.html and style.css. The library comes from
// the built bundle dist/index.js (`npm run build`), exactly what `import "edge-diffusion"` gives a user;
// the model is not bundled: the page fetches it at run time.
import { build } from "esbuild";
import { copyFileSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "../..");
const OUT = join(HERE, "dist");

export async function buildDemo({ quiet = false } = {}) {
  const lib = join(ROOT, "dist/index.js");
  if (!existsSync(lib)) throw new Error(`${lib} is missing: run \`npm run build\` first`);
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  await build({
    entryPoints: { main: join(HERE, "main.ts"), worker: join(HERE, "worker.ts"), "parallel-worker": join(HERE, "parallel-worker.ts") },
    outdir: OUT,
    bundle: true,
    format: "esm",
    platform: "browser",
    // always a target: esbuild's default may emit syntax newer than some browsers (design §4)
    target: "es2022",
    sourcemap: true,
    minify: true,
    alias: { "edge-diffusion": lib },
    logLevel: quiet ? "error" : "warning",
  });
  for (const f of ["index.html", "style.css"]) copyFileSync(join(HERE, f), join(OUT, f));
  return OUT;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = await buildDemo();
  console.log(`demo built in ${out}`);
}
