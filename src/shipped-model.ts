// The shipped model, found in every runtime: `models/mnist.safetensors` inside the package, exported as
// `edge-diffusion/models/mnist.safetensors`.
//
//   const model = await loadShippedModel();          // Node, Deno, Bun: read from disk next to the package
//   const model = await loadShippedModel();          // a browser loading dist/index.js as a module: fetched
//   const model = await loadShippedModel(bytes);     // Cloudflare Workers: a Data module's ArrayBuffer
//   const model = await loadShippedModel("/mnist.safetensors"); // a browser bundle: where you serve it
//
// Where the model comes from when no source is passed, as for the kernels' wasm (src/kernels/index.ts):
// the source registered with setShippedModelSource, else, in Node, Deno or Bun, the file read from disk
// next to this module (src/ and dist/ are both one level below the package root), else a fetch of the
// same URL (a browser serving the package's files). workerd has neither a disk nor a URL to fetch it
// from: a Worker imports the file as a Data module and passes it. No top-level Node-only import, so this
// bundles with esbuild `platform: "neutral"`.
import { loadModel, type LoadedModel } from "./model.ts";
import { ArgumentError } from "./validate.ts";

/** Where the model is: its bytes, or a URL (a string is resolved against the page's location). */
export type ModelSource = ArrayBuffer | ArrayBufferView | URL | string;
type SourceOrThunk = ModelSource | (() => ModelSource | Promise<ModelSource>);

/** The shipped model's path inside the package, and the subpath export that names it. */
export const SHIPPED_MODEL_FILE = "models/mnist.safetensors";
export const SHIPPED_MODEL_EXPORT = "edge-diffusion/models/mnist.safetensors";

let defaultSource: SourceOrThunk | undefined;

/**
 * Register where `shippedModelBytes()` / `loadShippedModel()` find the model when no source is passed
 * (a host that serves it elsewhere, a Worker that imported it once). A function is called lazily, at
 * the first load that needs it; `undefined` restores the built-in search.
 */
export function setShippedModelSource(source: SourceOrThunk | undefined): void {
  if (source !== undefined && typeof source !== "function" && !isSource(source)) {
    throw new ArgumentError("source", "must be bytes (ArrayBuffer or a typed array), a URL, a string URL, a function returning one, or undefined");
  }
  defaultSource = source;
}

function isSource(v: unknown): v is ModelSource {
  return v instanceof ArrayBuffer || ArrayBuffer.isView(v) || v instanceof URL || typeof v === "string";
}

/**
 * The package's copy of the model, as a URL next to this module (src/ or dist/ -> the package root);
 * null where the module has no URL to resolve against (workerd).
 */
function packagedUrl(): URL | null {
  try {
    return new URL(`../${SHIPPED_MODEL_FILE}`, import.meta.url);
  } catch {
    return null;
  }
}

/** In a runtime with node:fs (Node, Deno, Bun), read a file: URL; undefined elsewhere. */
async function readFileUrl(url: URL): Promise<Uint8Array | undefined> {
  const g = globalThis as { process?: { versions?: { node?: string } } };
  if (!g.process?.versions?.node) return undefined;
  const fsName = "node:fs/promises"; // not a literal: bundlers leave this import alone
  const fs = (await import(/* @vite-ignore */ fsName)) as { readFile(u: URL): Promise<Uint8Array> };
  return new Uint8Array(await fs.readFile(url));
}

async function fetchUrl(url: URL): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`the model at ${url.href}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** Bytes from one source: bytes as they are, a file: URL from disk, any other URL fetched. */
async function bytesFrom(source: ModelSource): Promise<Uint8Array> {
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  let url: URL;
  if (source instanceof URL) url = source;
  else if (typeof source === "string") {
    const base = (globalThis as { location?: { href?: string } }).location?.href;
    try {
      url = new URL(source, base);
    } catch {
      throw new ArgumentError("source", `must be an absolute URL here (no page location to resolve against), got ${JSON.stringify(source)}; pass the file's bytes instead`);
    }
  } else throw new ArgumentError("source", "must be bytes (ArrayBuffer or a typed array), a URL or a string URL");
  if (url.protocol === "file:") {
    const bytes = await readFileUrl(url);
    if (!bytes) throw new ArgumentError("source", `${url.href} is a file URL, and this runtime has no file system: pass the bytes`);
    return bytes;
  }
  return fetchUrl(url);
}

/**
 * The bytes of the shipped model (for `loadModel`, or `parallelModel` which takes bytes): from `source`
 * when given, else from the registered source, else from the package's own copy on disk (Node, Deno,
 * Bun) or by URL (browsers). In Cloudflare Workers import `edge-diffusion/models/mnist.safetensors` as a
 * Data module and pass it.
 */
export async function shippedModelBytes(source?: ModelSource): Promise<Uint8Array> {
  if (source !== undefined) return bytesFrom(source);
  const registered = typeof defaultSource === "function" ? await defaultSource() : defaultSource;
  if (registered !== undefined) return bytesFrom(registered);
  const url = packagedUrl();
  if (url?.protocol === "file:") {
    let bytes: Uint8Array | undefined;
    try {
      bytes = await readFileUrl(url);
    } catch (e) {
      throw new Error(`the shipped model is not at ${url.href} (${(e as Error).message}): pass its bytes or URL, or call setShippedModelSource`);
    }
    if (bytes) return bytes;
  }
  if (url?.protocol === "http:" || url?.protocol === "https:") return fetchUrl(url);
  throw new Error(
    `no file system and no URL to fetch the shipped model from in this runtime (module URL ${url?.href ?? String(import.meta.url)}): import ${SHIPPED_MODEL_EXPORT} (a Data module in Cloudflare Workers, an asset URL in a bundler) and pass it, or call setShippedModelSource`,
  );
}

/** The shipped class-conditional MNIST model, loaded: `shippedModelBytes(source)` then `loadModel`. */
export async function loadShippedModel(source?: ModelSource): Promise<LoadedModel> {
  return loadModel(await shippedModelBytes(source));
}
