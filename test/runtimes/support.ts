// Launchers for the real runtimes the library promises: Deno and Bun (npm packages), Cloudflare workerd
// (through miniflare) and Chromium (Debian package, driven by playwright-core). Shared by the runtime tests.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize, resolve } from "node:path";
import { findChromium } from "../support/browser.ts";

export const ROOT = resolve(import.meta.dirname, "../..");
const BIN = join(ROOT, "node_modules/.bin");

/** Run a command and parse the last line of its stdout as JSON. */
export function runJson(cmd: string, args: string[]): unknown {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  const lines = r.stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

export const deno = (script: string, ...args: string[]) => runJson(join(BIN, "deno"), ["run", "--allow-read", script, ...args]);
export const bun = (script: string, ...args: string[]) => runJson(join(BIN, "bun"), [script, ...args]);
export const node = (script: string, ...args: string[]) => runJson(process.execPath, [script, ...args]);

/** Bundle `entry` for workerd and answer one GET through miniflare on 127.0.0.1. */
export async function workerdFetch(entry: string, path = "/"): Promise<Response> {
  const { build } = await import("esbuild");
  const { Miniflare } = await import("miniflare");
  // the workerd bundle imports kernels.wasm as a module: keep that import and hand miniflare the file
  const out = await build({ entryPoints: [entry], bundle: true, format: "esm", target: "es2022", platform: "neutral", write: false, external: ["*.wasm"] });
  const code = out.outputFiles[0].text.replace(/from\s+"[^"]*kernels\.wasm"/g, 'from "./kernels.wasm"');
  // Modules listed explicitly: miniflare then does not scan the bundle for dynamic imports (the kernels'
  // Node-only disk reader is one, never reached in workerd).
  const mf = new Miniflare({
    modules: [
      { type: "ESModule", path: "worker.js", contents: code },
      { type: "CompiledWasm", path: "kernels.wasm", contents: readFileSync(join(ROOT, "dist/kernels.wasm")) },
    ],
    compatibilityDate: "2026-04-01",
    cf: false,
  });
  try {
    const res = await mf.dispatchFetch(`http://127.0.0.1${path}`);
    const body = await res.arrayBuffer();
    return new Response(body, { status: res.status, headers: Object.fromEntries(res.headers as unknown as Iterable<[string, string]>) });
  } finally {
    await mf.dispose();
  }
}

const TYPES: Record<string, string> = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".map": "application/json",
  ".png": "image/png",
};

/** Serve the repository root read-only on 127.0.0.1 at an ephemeral port. */
export async function serveRoot(): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const p = normalize(join(ROOT, decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname)));
    if (!p.startsWith(ROOT) || !existsSync(p)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": TYPES[extname(p)] ?? "application/octet-stream" });
    res.end(readFileSync(p));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  if (!addr || typeof addr === "string") throw new Error("no address");
  return { url: `http://127.0.0.1:${addr.port}`, close: () => new Promise((r) => server.close(() => r())) };
}

/** Open `url` in headless Chromium and run `fn` with the page. */
export async function withChromium<T>(fn: (page: import("playwright-core").Page) => Promise<T>, executablePath?: string): Promise<T> {
  const exe = executablePath ?? (await findChromium());
  const { chromium } = await import("playwright-core");
  const dir = mkdtempSync(join(tmpdir(), "ed-chromium-"));
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: exe,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await ctx.newPage();
    return await fn(page);
  } finally {
    await ctx.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Load `path` from a server (serveRoot) in Chromium and return what the page sets as window.__result;
 * a page that sets window.__error fails with its message.
 */
export async function chromiumPageResult(url: string, executablePath?: string): Promise<unknown> {
  return withChromium(async (page) => {
    await page.goto(url);
    await page.waitForFunction(() => (window as any).__result || (window as any).__error, null, { timeout: 60_000 }); // eslint-disable-line @typescript-eslint/no-explicit-any
    const err = await page.evaluate(() => (window as any).__error); // eslint-disable-line @typescript-eslint/no-explicit-any
    if (err) throw new Error(err);
    return page.evaluate(() => (window as any).__result); // eslint-disable-line @typescript-eslint/no-explicit-any
  }, executablePath);
}
