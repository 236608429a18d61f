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

// ---------------------------------------------------------------------------------------------------
// Isolate memory through the Chrome DevTools Protocol (issue 7). workerd serves the V8 inspector when
// miniflare gets `inspectorPort` (0 = any free port); GET /json on that port lists one target per
// Worker, ours being "core:user:<name>". What was found about workerd (miniflare 4.20260426.0):
// - Runtime.getHeapUsage answers only while the isolate is idle: a message sent during a synchronous
//   request is answered after the request's JavaScript has finished (and so is Debugger.pause).
// - Breakpoints do pause the isolate mid-request, and while paused it answers Runtime.getHeapUsage: that
//   is how `during()` reads the heap inside a running request.
// - HeapProfiler.collectGarbage is answered only when the isolate is next entered (a GC task for the
//   next request), so `gc()` uses HeapProfiler.takeHeapSnapshot, which collects all garbage first and
//   answers at once.
// - backingStorageSize counts ArrayBuffer backing stores (typed arrays, the model's Data module) but
//   not WebAssembly memories: the wasm memory is read by a wrapper entry module (below) instead.

/** Runtime.getHeapUsage: JS heap (used, committed), cppgc heap, ArrayBuffer backing stores; bytes. */
export interface HeapUsage {
  usedSize: number;
  totalSize: number;
  embedderHeapUsedSize: number;
  backingStorageSize: number;
}

/** A CDP session over a WebSocket (the `ws` package that miniflare itself depends on). */
export class Cdp {
  private id = 0;
  private readonly pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void; method: string }>();
  private readonly listeners = new Map<string, Set<(params: any) => void>>();
  private constructor(private readonly ws: any) {
    ws.on("message", (data: unknown) => {
      const m = JSON.parse(String(data));
      const p = typeof m.id === "number" ? this.pending.get(m.id) : undefined;
      if (p) {
        this.pending.delete(m.id);
        if (m.error) p.reject(new Error(`${p.method}: ${m.error.message ?? JSON.stringify(m.error)}`));
        else p.resolve(m.result);
      } else if (m.method) for (const fn of this.listeners.get(m.method) ?? []) fn(m.params);
    });
    ws.on("close", () => {
      for (const p of this.pending.values()) p.reject(new Error(`${p.method}: inspector connection closed`));
      this.pending.clear();
    });
  }

  static async connect(url: string): Promise<Cdp> {
    const { createRequire } = await import("node:module");
    const WebSocket = createRequire(join(ROOT, "node_modules/miniflare/package.json"))("ws");
    const ws = new WebSocket(url, { perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    return new Cdp(ws);
  }

  send<T = any>(method: string, params: object = {}): Promise<T> {
    const id = ++this.id;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Call fn on every event `method`; returns the unsubscribe function. */
  on(method: string, fn: (params: any) => void): () => void {
    if (!this.listeners.has(method)) this.listeners.set(method, new Set());
    this.listeners.get(method)!.add(fn);
    return () => this.listeners.get(method)!.delete(fn);
  }

  close(): void {
    this.ws.close();
  }
}

/**
 * Bench/test-only entry module: the Worker unchanged, plus GET /__isolate, which answers JSON
 * {wasmMemory: bytes of the WebAssembly memories the Worker instantiated, requests: requests passed to
 * the Worker so far, settled: how many of those the Worker has answered (or failed)}.
 */
export const ISOLATE_WRAPPER = `import worker from "./worker.js";
const mems = [];
let requests = 0;
let settled = 0;
const instantiate = WebAssembly.instantiate;
WebAssembly.instantiate = async function (...args) {
  const r = await instantiate.apply(this, args);
  const inst = r.instance ?? r;
  if (inst.exports && inst.exports.memory) mems.push(inst.exports.memory);
  return r;
};
export default {
  async fetch(request, env, ctx) {
    if (new URL(request.url).pathname === "/__isolate") {
      return new Response(JSON.stringify({ wasmMemory: mems.reduce((a, m) => a + m.buffer.byteLength, 0), requests, settled }));
    }
    requests++;
    try {
      return await worker.fetch(request, env, ctx);
    } finally {
      settled++;
    }
  },
};`;

export interface WrapperStats {
  wasmMemory: number;
  requests: number;
  settled: number;
}

/** Isolate memory in bytes: the JS heap (committed and live), the cppgc heap, ArrayBuffer backing stores and wasm memory. */
export interface IsolateMemory extends HeapUsage {
  wasm: number;
  /** totalSize + embedderHeapUsedSize + backingStorageSize + wasm: what the isolate holds, committed JS heap included. */
  total: number;
  /** usedSize + embedderHeapUsedSize + backingStorageSize + wasm: the same with only the live part of the JS heap. */
  live: number;
}

export interface InspectedWorker extends RunningWorker {
  /** CDP session attached to the Worker's isolate. */
  cdp: Cdp;
  /** Runtime.getHeapUsage now (answered once the isolate is idle). */
  heap(): Promise<HeapUsage>;
  /** Bytes of the kernels' WebAssembly memory (it never shrinks, so this is also its peak so far). */
  wasmMemory(): Promise<number>;
  /** The wrapper's counters (ISOLATE_WRAPPER). */
  stats(): Promise<WrapperStats>;
  /** heap() and wasmMemory() together. */
  memory(): Promise<IsolateMemory>;
  /** A full garbage collection in the isolate (through HeapProfiler.takeHeapSnapshot, which collects first). */
  gc(): Promise<void>;
  /**
   * Run `fn` (which sends requests) while the isolate pauses at breakpoints in the Worker bundle, reading
   * Runtime.getHeapUsage at each pause. Breakpoints: every time the tensor allocator has been asked for
   * another `everyBytes` bytes (default 1 MiB; null: never), at the end of every pooled forward pass
   * (BufferPool exit: a micro-batch's activations are all live), and when a request's Response has been
   * built (in the wrapper). Returns fn's result, the readings and their maxima.
   */
  during<T>(fn: () => Promise<T>, opts?: { everyBytes?: number | null }): Promise<{ result: T; readings: HeapUsage[]; peak: HeapUsage & { sum: number } }>;
}

/** Add up an isolate reading. */
export function isolateMemory(h: HeapUsage, wasm: number): IsolateMemory {
  const other = (h.embedderHeapUsedSize ?? 0) + (h.backingStorageSize ?? 0) + wasm;
  return { ...h, wasm, total: h.totalSize + other, live: h.usedSize + other };
}

/**
 * The example Worker (as startWorker runs it, behind ISOLATE_WRAPPER) in a fresh workerd with the V8
 * inspector on, and a CDP session attached to its isolate.
 */
export async function startInspectedWorker(modelPath: string, code?: string): Promise<InspectedWorker> {
  if (!existsSync(modelPath)) throw new Error(`${modelPath} is missing`);
  const bundle = code ?? (await bundleWorker());
  const { Miniflare } = await import("miniflare");
  const mf = new Miniflare({
    modules: [
      { type: "ESModule", path: "wrapper.js", contents: ISOLATE_WRAPPER },
      { type: "ESModule", path: "worker.js", contents: bundle },
      { type: "CompiledWasm", path: "kernels.wasm", contents: readFileSync(join(ROOT, "dist/kernels.wasm")) },
      { type: "Data", path: "model.safetensors", contents: readFileSync(modelPath) },
    ],
    compatibilityDate: "2026-04-01",
    cf: false,
    host: "127.0.0.1",
    port: 0,
    inspectorPort: 0,
  });
  let cdp: Cdp | undefined;
  try {
    const url = (await mf.ready).toString().replace(/\/$/, "");
    const inspector = (await mf.getInspectorURL()).toString().replace(/\/$/, "");
    const targets = (await (await httpFetch(`${inspector.replace(/^ws:/, "http:")}/json`)).json()) as { id: string; webSocketDebuggerUrl: string }[];
    const target = targets.find((t) => t.id.startsWith("core:user:"));
    if (!target) throw new Error(`no Worker among the inspector's targets: ${targets.map((t) => t.id).join(", ")}`);
    cdp = await Cdp.connect(target.webSocketDebuggerUrl);
    const session = cdp;
    const fetch = (path: string, init?: RequestInit) => httpFetch(`${url}${path}`, init);
    const heap = () => session.send<HeapUsage>("Runtime.getHeapUsage");
    const stats = async () => (await (await fetch("/__isolate")).json()) as WrapperStats;
    const wasmMemory = async () => (await stats()).wasmMemory;
    const lines = bundle.split("\n");
    const lineOf = (re: RegExp, what: string) => {
      const i = lines.findIndex((l) => re.test(l));
      if (i < 0) throw new Error(`the Worker bundle has no ${what} to break at (${re})`);
      return i;
    };
    return {
      url,
      pid: null,
      fetch,
      cdp: session,
      heap,
      wasmMemory,
      stats,
      memory: async () => {
        const h = await heap();
        return isolateMemory(h, await wasmMemory());
      },
      gc: async () => {
        // the snapshot streams as events nobody needs; the reply comes after the collection and the stream
        await session.send("HeapProfiler.takeHeapSnapshot", { reportProgress: false, captureNumericValue: false });
      },
      during: async (fn, opts = {}) => {
        const every = opts.everyBytes === undefined ? 2 ** 20 : opts.everyBytes;
        // the allocator every tensor op takes its output from (src/autograd/pool.ts), and the pool's exit
        const allocLine = lineOf(/^function alloc\(n\)/, "alloc(n)") + 1;
        const exitLine = lineOf(/^\s+exit\(outer\) \{/, "BufferPool.exit") + 1;
        const readings: HeapUsage[] = [];
        const replies: Promise<void>[] = [];
        const off = session.on("Debugger.paused", () => {
          // both are handled in order while the isolate stays paused
          replies.push(heap().then((h) => void readings.push(h)));
          replies.push(session.send("Debugger.resume").then(() => {}));
        });
        await session.send("Debugger.enable");
        const ids: string[] = [];
        try {
          const bp = async (lineNumber: number, condition = "", file = "worker") => {
            const r = await session.send("Debugger.setBreakpointByUrl", { lineNumber, urlRegex: `(^|/)${file}\\.js$`, condition });
            ids.push(r.breakpointId);
            if (!r.locations?.length) throw new Error(`the breakpoint at line ${lineNumber + 1} of the Worker bundle did not resolve`);
          };
          if (every !== null) await bp(allocLine, `(globalThis.__edBytes = (globalThis.__edBytes || 0) + 4 * n) >= ${every} ? ((globalThis.__edBytes = 0), true) : false`);
          await bp(exitLine);
          // and once the Worker's Response is built (PNG or token encoded), before the isolate goes idle
          await bp(ISOLATE_WRAPPER.split("\n").findIndex((l) => l.includes("settled++")), "", "wrapper");
          const result = await fn();
          await Promise.all(replies);
          const max = (k: keyof HeapUsage) => Math.max(0, ...readings.map((r) => r[k] ?? 0));
          const sum = Math.max(0, ...readings.map((r) => r.totalSize + (r.embedderHeapUsedSize ?? 0) + (r.backingStorageSize ?? 0)));
          return { result, readings, peak: { usedSize: max("usedSize"), totalSize: max("totalSize"), embedderHeapUsedSize: max("embedderHeapUsedSize"), backingStorageSize: max("backingStorageSize"), sum } };
        } finally {
          for (const breakpointId of ids) await session.send("Debugger.removeBreakpoint", { breakpointId });
          await session.send("Debugger.disable");
          off();
        }
      },
      close: async () => {
        session.close();
        await mf.dispose();
      },
    };
  } catch (e) {
    cdp?.close();
    await mf.dispose();
    throw e;
  }
}

/**
 * Send a request and give up on it client-side: the socket is destroyed `afterMs` after the request
 * (headers and the first `sendBytes` of the body, default all of it) has been written, before any
 * response. Resolves when the socket is closed; `responded` says whether a response had started anyway.
 */
export async function abandonRequest(url: string, opts: { method?: string; body?: string; sendBytes?: number; afterMs?: number } = {}): Promise<{ responded: boolean }> {
  const { request } = await import("node:http");
  const body = opts.body === undefined ? undefined : Buffer.from(opts.body);
  return new Promise((resolve) => {
    let responded = false;
    const req = request(url, { method: opts.method ?? "GET", agent: false, headers: body ? { "content-length": String(body.length) } : {} }, (res) => {
      responded = true;
      res.resume();
    });
    req.on("error", () => {}); // the abort itself
    req.on("close", () => resolve({ responded }));
    if (body) req.write(body.subarray(0, opts.sendBytes ?? body.length));
    else req.flushHeaders();
    setTimeout(() => req.destroy(), opts.afterMs ?? 100);
  });
}

/**
 * A request whose body arrives in two parts `pauseMs` apart (the Worker awaits the rest meanwhile, so
 * other requests run in between); resolves to the status, content type and body bytes.
 */
export async function slowRequest(url: string, opts: { method?: string; body: string; pauseMs: number }): Promise<{ status: number; type: string; bytes: Uint8Array }> {
  const { request } = await import("node:http");
  const body = Buffer.from(opts.body);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? "POST", agent: false, headers: { "content-length": String(body.length) } }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (c: Buffer) => parts.push(c));
      res.on("error", reject);
      res.on("end", () => resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"] ?? ""), bytes: new Uint8Array(Buffer.concat(parts)) }));
    });
    req.on("error", reject);
    const half = body.length >> 1;
    req.write(body.subarray(0, half));
    setTimeout(() => req.end(body.subarray(half)), opts.pauseMs);
  });
}
