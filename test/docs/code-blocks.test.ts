// Every code block of README.md and docs/*.md runs as written (issue 14, #8: the README's library snippet
// used an undefined `bytes`, docs/samplers.md undefined `denoiser`, `x`, `sigmas`). The blocks run against
// the built package (`npm run build` first), imported by its name from a throwaway project whose
// node_modules/edge-diffusion links to this repository, as an installed user imports it:
//
// - ```ts / ```js blocks run in Node through tsx, or where the comment before the block says so
//   (`<!-- run: deno -->`, `bun`, `workerd`, `browser`) in that runtime: Deno with `npm:edge-diffusion`
//   mapped to the build, Bun, workerd (miniflare, the block as the Worker; GET / must answer a PNG) and
//   headless Chromium (the block bundled by esbuild; it must finish without an error).
//   `<!-- continues -->` before a block runs it after the block before it (none are needed today:
//   every block is self-contained).
// - ```sh blocks run command by command (`a && b` is two commands) in the repository root with bash,
//   npm offline, except the commands in SKIPPED_COMMANDS, each with its reason.
// - Blocks in other languages are not programs: plain ``` (diagrams, the layout), ```toml (wrangler.toml,
//   which worker-example.test.ts runs through `wrangler deploy --dry-run`).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encode } from "fast-png";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, withChromium } from "../runtimes/support.ts";
import { startModules } from "../runtimes/worker-harness.ts";

const BIN = join(ROOT, "node_modules/.bin");
const DOCS = ["README.md", ...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];
const RUNTIMES = ["node", "deno", "bun", "workerd", "browser"] as const;
type Runtime = (typeof RUNTIMES)[number];
/** Fence languages that are not programs (see the header). */
const NOT_PROGRAMS = new Set(["", "toml"]);

/**
 * Shell commands not run, each with its reason: [the command as written (after `#` comments are cut), why].
 * A command listed here that no longer appears in the docs fails the test, so the list stays true.
 */
const SKIPPED_COMMANDS: [string, string][] = [
  ["npm install", "installs the dependencies from the registry: the test runs in a checkout where they are installed"],
  ["npm test", "the whole suite, which contains this test"],
  ["npm run train:mnist", "45 minutes of training; `train` itself runs below on a toy (npx edge-diffusion train --dataset moons)"],
  ["apt-get install -y wamerican", "installs a Debian package (the word list of train:text); the tests use a generated word list"],
  ["npm run train:text", "up to 42 minutes of training; docs/text.md's second code block trains the same model, tiny, on a generated list"],
  ["npx edge-diffusion text --count 20", "needs models/text.safetensors, which npm run train:text makes; test/cli/text-cli.test.ts runs the command on a small model"],
  ["npx edge-diffusion text --prefix un --suffix able --count 10", "needs models/text.safetensors; test/cli/text-cli.test.ts runs --prefix and --suffix on a small model"],
  ["npm run bench:text", "a benchmark of minutes that needs the trained text model and the word list; its results are in bench/RESULTS.md"],
  ["npm run demo", "a server that runs until stopped; test/runtimes/demo.test.ts builds and serves the page and drives it in Chromium"],
  ["npx wrangler dev", "a local server that runs until stopped; test/runtimes/worker-example.test.ts serves the same Worker in workerd"],
  ["npx wrangler deploy --dry-run --outdir /tmp/out", "run by test/runtimes/worker-example.test.ts, which also serves its output in workerd"],
];

interface Block {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  code: string;
  runtime: Runtime;
  continues: boolean;
}

function blocksOf(file: string): Block[] {
  const lines = readFileSync(join(ROOT, file), "utf8").split("\n");
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
    // the directive, if any, is the last non-blank line before the fence
    let j = start - 1;
    while (j >= 0 && lines[j].trim() === "") j--;
    const directive = j >= 0 ? /^<!--\s*(run:\s*(\w+)|continues)\s*-->$/.exec(lines[j].trim()) : null;
    const runtime = (directive?.[2] ?? "node") as Runtime;
    if (!RUNTIMES.includes(runtime)) throw new Error(`${file}:${j + 1}: unknown runtime ${runtime} (one of ${RUNTIMES.join(", ")})`);
    out.push({ file, line: start + 1, lang: open[1], code: body.join("\n"), runtime, continues: directive?.[1] === "continues" });
  }
  return out;
}

const ALL = DOCS.flatMap(blocksOf);
const PROGRAMS = ALL.filter((b) => b.lang === "ts" || b.lang === "js");
const SHELL = ALL.filter((b) => b.lang === "sh");

/** A program's source: with `<!-- continues -->`, the block before it in the same file first. */
function source(b: Block): string {
  if (!b.continues) return b.code;
  const before = PROGRAMS.filter((p) => p.file === b.file && p.line < b.line).pop();
  if (!before) throw new Error(`${b.file}:${b.line}: <!-- continues --> but no program block before it`);
  return `${source(before)}\n${b.code}`;
}

/** The shell commands of a block: one per line and per `&&`, `#` comments cut. */
function commands(b: Block): string[] {
  return b.code
    .split("\n")
    .flatMap((l) => l.replace(/\s+#\s.*$/, "").split("&&"))
    .map((c) => c.trim())
    .filter((c) => c && !c.startsWith("#"));
}

let project: string;

beforeAll(() => {
  for (const f of ["dist/index.js", "dist/workerd.js", "dist/node.js", "dist/cli.js"]) {
    if (!existsSync(join(ROOT, f))) throw new Error(`${f} is missing: run \`npm run build\` first`);
  }
  // a user's project with the package installed: node_modules/edge-diffusion is this repository
  project = mkdtempSync(join(tmpdir(), "ed-docs-"));
  mkdirSync(join(project, "node_modules"));
  symlinkSync(ROOT, join(project, "node_modules/edge-diffusion"));
  symlinkSync(join(ROOT, "node_modules/tsx"), join(project, "node_modules/tsx"));
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "docs-user", private: true, type: "module" }));
  // Deno: the docs import npm:edge-diffusion@^0.1; here it is the build
  writeFileSync(join(project, "import-map.json"), JSON.stringify({ imports: { "npm:edge-diffusion@^0.1": join(ROOT, "dist/index.js") } }));
});
afterAll(() => rmSync(project, { recursive: true, force: true }));

function run(cmd: string, args: string[], cwd: string, timeout = 110_000) {
  const env = { ...process.env, NO_COLOR: "1", PATH: `${BIN}:${process.env.PATH}`, npm_config_offline: "true", npm_config_update_notifier: "false" };
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", env, timeout });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}${r.error ? `\n${r.error.message}` : ""}` };
}

/** Serve a few files on 127.0.0.1 (path -> [content type, bytes]). */
async function serve(files: Record<string, [string, Uint8Array | string]>) {
  const server = createServer((req, res) => {
    const f = files[new URL(req.url ?? "/", "http://x").pathname];
    if (!f) return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": f[0] }).end(f[1]);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address() as { port: number };
  return { url: `http://127.0.0.1:${addr.port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

async function bundle(entry: string, conditions: string[], platform: "neutral" | "browser"): Promise<string> {
  const { build } = await import("esbuild");
  const out = await build({ entryPoints: [entry], bundle: true, format: "esm", target: "es2022", platform, conditions, write: false, external: ["*.wasm", "*.safetensors"], logLevel: "error", absWorkingDir: project });
  return out.outputFiles[0].text;
}

const RUNNERS: Record<Runtime, (b: Block, file: string) => Promise<void>> = {
  async node(_b, file) {
    const r = run(process.execPath, ["--import", "tsx", file], project);
    expect(r.status, r.out).toBe(0);
  },
  async deno(_b, file) {
    const r = run(join(BIN, "deno"), ["run", "--no-check", "--no-lock", "--no-config", "--import-map", "import-map.json", "--allow-read", "--allow-write", file], project);
    expect(r.status, r.out).toBe(0);
  },
  async bun(_b, file) {
    const r = run(join(BIN, "bun"), [file], project);
    expect(r.status, r.out).toBe(0);
  },
  async workerd(_b, file) {
    // as wrangler.toml's rules make them: the kernels a CompiledWasm module, the model a Data module
    const code = (await bundle(file, ["workerd", "worker"], "neutral"))
      .replace(/from\s+"[^"]*kernels\.wasm"/g, 'from "./kernels.wasm"')
      .replace(/from\s+"[^"]*\.safetensors"/g, 'from "./model.safetensors"');
    const w = await startModules([
      { type: "ESModule", path: "worker.js", contents: code },
      { type: "CompiledWasm", path: "kernels.wasm", contents: readFileSync(join(ROOT, "dist/kernels.wasm")) },
      ...(code.includes('"./model.safetensors"') ? [{ type: "Data" as const, path: "model.safetensors", contents: readFileSync(join(ROOT, "models/mnist.safetensors")) }] : []),
    ]);
    try {
      const res = await w.fetch("/");
      const bytes = new Uint8Array(await res.arrayBuffer());
      expect(res.status, new TextDecoder().decode(bytes.subarray(0, 300))).toBe(200);
      expect(res.headers.get("content-type")).toBe("image/png");
      expect([...bytes.subarray(0, 4)]).toEqual([137, 80, 78, 71]);
    } finally {
      await w.close();
    }
  },
  async browser(_b, file) {
    const code = await bundle(file, [], "browser");
    const html = `<!doctype html><meta charset="utf-8"><body><script type="module">
      import("/block.js").then(() => { window.__done = true; }, (e) => { window.__error = String((e && e.stack) || e); });
    </script>`;
    const srv = await serve({
      "/": ["text/html", html],
      "/block.js": ["text/javascript", code],
      // where the block says the page serves the package's model
      "/mnist.safetensors": ["application/octet-stream", readFileSync(join(ROOT, "models/mnist.safetensors"))],
    });
    try {
      const got = await withChromium(async (page) => {
        await page.goto(srv.url);
        await page.waitForFunction(() => (window as any).__done || (window as any).__error, null, { timeout: 90_000 }); // eslint-disable-line @typescript-eslint/no-explicit-any
        return page.evaluate(() => ({ error: (window as any).__error as string | undefined, images: document.images.length })); // eslint-disable-line @typescript-eslint/no-explicit-any
      });
      expect(got.error).toBeUndefined();
    } finally {
      await srv.close();
    }
  },
};

describe("the docs' code blocks", () => {
  it("are found, and every fenced block is a program, a shell block or a known non-program", () => {
    expect(PROGRAMS.length).toBeGreaterThanOrEqual(8);
    expect(SHELL.length).toBeGreaterThanOrEqual(3);
    const unknown = ALL.filter((b) => !["ts", "js", "sh"].includes(b.lang) && !NOT_PROGRAMS.has(b.lang)).map((b) => `${b.file}:${b.line} \`\`\`${b.lang}`);
    expect(unknown).toEqual([]);
  });

  it("every skipped command still appears in the docs (the skip list stays true)", () => {
    const all = new Set(SHELL.flatMap(commands));
    expect(SKIPPED_COMMANDS.map(([c]) => c).filter((c) => !all.has(c))).toEqual([]);
  });

  it.each(PROGRAMS.map((b) => [`${b.file}:${b.line} (${b.runtime})`, b] as const))("%s runs as written", async (_name, b) => {
    const ext = b.lang === "ts" ? (b.runtime === "node" ? "mts" : "ts") : "mjs";
    const file = join(project, `block-${b.file.replace(/\W/g, "-")}-${b.line}.${ext}`);
    writeFileSync(file, source(b));
    await RUNNERS[b.runtime](b, file);
  });
});

describe("the docs' shell commands", () => {
  const made: string[] = [];
  beforeAll(() => {
    // the user's own 28x28 digit and mask that the img2img and inpaint examples name: a ring, and its lower half
    const size = 28;
    const digit = new Uint8Array(size * size);
    const mask = new Uint8Array(size * size);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const r = Math.hypot(x - 13.5, y - 13.5);
        digit[y * size + x] = r > 6 && r < 9 ? 255 : 0;
        mask[y * size + x] = y >= 14 ? 255 : 0;
      }
    }
    // and the 7x7 image superres takes: the ring's 4x4 block means
    const small = new Uint8Array(49);
    for (let i = 0; i < 49; i++) {
      let s = 0;
      for (let a = 0; a < 4; a++) for (let b = 0; b < 4; b++) s += digit[(4 * Math.floor(i / 7) + a) * size + 4 * (i % 7) + b];
      small[i] = Math.round(s / 16);
    }
    for (const [name, data, side] of [["digit.png", digit, size], ["mask.png", mask, size], ["small.png", small, 7]] as const) {
      const p = join(ROOT, name);
      if (existsSync(p)) throw new Error(`${p} exists: the test will not overwrite it`);
      writeFileSync(p, encode({ width: side, height: side, data, channels: 1, depth: 8 }));
      made.push(p);
    }
  });
  afterAll(() => {
    for (const p of made) rmSync(p, { force: true });
  });

  const skipped = new Set(SKIPPED_COMMANDS.map(([c]) => c));
  it.each(SHELL.map((b) => [`${b.file}:${b.line}`, b] as const))("%s: every command not skipped runs and exits 0", (_name, b) => {
    const cmds = commands(b).filter((c) => !skipped.has(c));
    // a block's commands share a shell, so `cd` carries over as it does for the reader
    const script = ["set -e", ...cmds.map((c) => `echo "+ ${c.replace(/"/g, '\\"')}" >&2; ${c}`)].join("\n");
    const r = run("bash", ["-c", script], ROOT, 290_000);
    expect(r.status, r.out).toBe(0);
    // files the commands wrote into the repository outside the ignored out/: removed again
    for (const c of cmds) {
      const o = /--out\s+(\S+)/.exec(c)?.[1];
      const cd = b.code.match(/^cd\s+(\S+)/m)?.[1];
      if (o && !o.startsWith("out/") && !o.startsWith("/")) rmSync(join(ROOT, cd ?? "", o), { force: true });
    }
  }, 300_000); // README's command list samples, trains and inpaints: about a minute on two busy cores
});
