// The example Worker (examples/worker) in real workerd through miniflare, listening on 127.0.0.1: the
// test and bench/workerd.mjs bundle it with esbuild the way wrangler does (exports conditions
// "workerd"/"worker"), keep the kernels' .wasm and the model as separate modules (CompiledWasm and Data,
// as wrangler.toml's rules make them), and send real HTTP to it.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./support.ts";

export const SHIPPED_MODEL = join(ROOT, "models/mnist.safetensors");

/** The Worker as one ES module, with its .wasm and model imports renamed to ./kernels.wasm and ./model.safetensors. */
export async function bundleWorker(): Promise<string> {
  const { build } = await import("esbuild");
  const out = await build({
    entryPoints: [join(ROOT, "examples/worker/src/index.js")],
    bundle: true,
    format: "esm",
    target: "es2022",
    platform: "neutral",
    conditions: ["workerd", "worker"],
    write: false,
    external: ["*.wasm", "*.safetensors"],
    logLevel: "error",
  });
  const code = out.outputFiles[0].text
    .replace(/from\s+"[^"]*kernels\.wasm"/g, 'from "./kernels.wasm"')
    .replace(/from\s+"[^"]*\.safetensors"/g, 'from "./model.safetensors"');
  if (!code.includes('"./kernels.wasm"') || !code.includes('"./model.safetensors"')) throw new Error("the Worker bundle lost its wasm or model import");
  return code;
}

export interface RunningWorker {
  url: string;
  /** The workerd process id (for memory readings). */
  pid: number | null;
  fetch: (path: string, init?: RequestInit) => Promise<Response>;
  close: () => Promise<void>;
}

/** Start the Worker with the model file `modelPath` in a fresh workerd, on 127.0.0.1 at a free port. */
export async function startWorker(modelPath: string, code?: string): Promise<RunningWorker> {
  if (!existsSync(modelPath)) throw new Error(`${modelPath} is missing`);
  return startModules([
    { type: "ESModule", path: "worker.js", contents: code ?? (await bundleWorker()) },
    { type: "CompiledWasm", path: "kernels.wasm", contents: readFileSync(join(ROOT, "dist/kernels.wasm")) },
    { type: "Data", path: "model.safetensors", contents: readFileSync(modelPath) },
  ]);
}

export type WorkerModule = { type: "ESModule" | "CompiledWasm" | "Data"; path: string; contents: string | Uint8Array };

/** Start a Worker from explicit modules (the first is the entry) in a fresh workerd on 127.0.0.1. */
export async function startModules(modules: WorkerModule[]): Promise<RunningWorker> {
  const { Miniflare } = await import("miniflare");
  const before = new Set(childPids());
  const mf = new Miniflare({
    modules,
    compatibilityDate: "2026-04-01",
    cf: false,
    host: "127.0.0.1",
    port: 0,
  });
  const url = (await mf.ready).toString().replace(/\/$/, "");
  const pid = childPids().find((p) => !before.has(p) && comm(p) === "workerd") ?? null;
  return {
    url,
    pid,
    fetch: (path, init) => httpFetch(`${url}${path}`, init),
    close: () => mf.dispose(),
  };
}

/**
 * fetch over a fresh TCP connection per request (node:http, no keep-alive agent): reusing a pooled
 * connection raced with workerd closing idle ones ("other side closed") under load.
 */
export async function httpFetch(url: string, init: RequestInit = {}): Promise<Response> {
  const { request } = await import("node:http");
  const body = init.body === undefined || init.body === null ? undefined : Buffer.from(init.body as string);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? "GET", agent: false, headers: body ? { "content-length": String(body.length) } : {} }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (c: Buffer) => parts.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === "string") headers.set(k, v);
        const status = res.statusCode ?? 0;
        resolve(new Response(status === 204 || status === 304 ? null : Buffer.concat(parts), { status, headers }));
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** Child process ids of this process (Linux /proc). */
function childPids(): number[] {
  try {
    const tasks = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, "utf8").trim();
    return tasks ? tasks.split(/\s+/).map(Number) : [];
  } catch {
    return [];
  }
}

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

/** Resident and peak resident memory of a process in bytes (Linux /proc), or null. */
export function memoryOf(pid: number | null): { rss: number; hwm: number } | null {
  if (!pid) return null;
  try {
    const s = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(s)?.[1] ?? NaN) * 1024;
    return { rss: kb("VmRSS"), hwm: kb("VmHWM") };
  } catch {
    return null;
  }
}

/** The model the runtime tests sample with: the shipped models/mnist.safetensors. */
export function testModel(): string {
  if (existsSync(SHIPPED_MODEL)) return SHIPPED_MODEL;
  throw new Error(`${SHIPPED_MODEL} is missing: the runtime tests sample with the shipped model (npm run train:mnist makes it)`);
}
