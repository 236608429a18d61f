// A tiny static server for the demo on 127.0.0.1: the built page (examples/demo/dist) at /, the
// repository's models/ at /models/. It sends COOP/COEP so the page is cross-origin isolated
// (SharedArrayBuffer, threads), and nothing is cached, so a rebuild shows at once.
//
//   node examples/demo/serve.mjs [--port 8080]     (PORT works too; --port 0 picks a free port)
import { createReadStream, statSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "../..");

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".png": "image/png",
  ".safetensors": "application/octet-stream",
};

const ISOLATION = {
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp",
  "cross-origin-resource-policy": "same-origin",
};

/** The file under `base` that `rel` names, or null if it escapes `base` or is not a file. */
function within(base, rel) {
  const p = resolve(base, "." + sep + rel);
  if (p !== base && !p.startsWith(base + sep)) return null;
  try {
    return statSync(p).isFile() ? p : null;
  } catch {
    return null;
  }
}

/** Serve the demo. `site` is the built page, `models` the folder served at /models/. */
export async function serveDemo({ port = 0, host = "127.0.0.1", site = join(HERE, "dist"), models = join(ROOT, "models") } = {}) {
  const server = createServer((req, res) => {
    let path;
    try {
      path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    } catch {
      res.writeHead(400, ISOLATION).end("bad URL");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { ...ISOLATION, allow: "GET, HEAD" }).end();
      return;
    }
    if (path.endsWith("/")) path += "index.html";
    const file = path.startsWith("/models/") ? within(models, path.slice("/models/".length)) : within(site, path.slice(1));
    if (!file) {
      res.writeHead(404, { ...ISOLATION, "content-type": "text/plain" }).end(`not found: ${path}`);
      return;
    }
    const size = statSync(file).size;
    res.writeHead(200, { ...ISOLATION, "content-type": TYPES[extname(file)] ?? "application/octet-stream", "content-length": size, "cache-control": "no-store" });
    if (req.method === "HEAD") res.end();
    else createReadStream(file).pipe(res);
  });
  await new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(port, host, () => ok());
  });
  const addr = server.address();
  return {
    url: `http://${host}:${addr.port}/`,
    close: () => new Promise((r) => {
      server.closeAllConnections?.();
      server.close(() => r());
    }),
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf("--port");
  const port = Number(i > 0 ? process.argv[i + 1] : (process.env.PORT ?? 8080));
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port must be a port number (0-65535), got ${i > 0 ? process.argv[i + 1] : process.env.PORT}`);
    process.exit(2);
  }
  let srv;
  try {
    srv = await serveDemo({ port });
  } catch (err) {
    if (err.code !== "EADDRINUSE") throw err;
    console.error(`port ${port} is in use; using a free port instead`);
    srv = await serveDemo({ port: 0 });
  }
  console.log(`edge-diffusion demo: ${srv.url}   (Ctrl-C to stop)`);
}
