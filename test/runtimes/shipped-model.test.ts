// loadShippedModel / shippedModelBytes (issue 14, #8): the shipped model found without a path in Node
// (source tree and bundle), by URL in a browser loading dist/index.js as a module, from bytes, URLs or a
// registered source anywhere, and a one-line error naming the way out in workerd, which has neither a
// file system nor a URL to fetch from. Deno and Bun load it without a path in the docs' blocks
// (test/docs/code-blocks.test.ts) and the Deno example (sample-model.test.ts).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadShippedModel, setShippedModelSource, shippedModelBytes } from "../../src/shipped-model.ts";
import { expectArgumentError } from "../support/errors.ts";
import { ROOT, serveRoot, withChromium, workerdFetch } from "./support.ts";

const FILE = join(ROOT, "models/mnist.safetensors");
const BYTES = new Uint8Array(readFileSync(FILE));
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

describe("the shipped model in Node", () => {
  afterAll(() => setShippedModelSource(undefined));

  it("without a source: the package's models/mnist.safetensors, from the source tree", async () => {
    expect(same(await shippedModelBytes(), BYTES)).toBe(true);
    const m = await loadShippedModel();
    expect(m.numClasses).toBe(10);
    expect(m.itemShape).toEqual([1, 28, 28]);
  });

  it("without a source: from the built bundle too (dist/index.js is one level below the package root)", () => {
    const code = 'const lib = await import(process.argv[1]); const m = await lib.loadShippedModel(); console.log(JSON.stringify({ k: m.numClasses, shape: m.itemShape }));';
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", code, pathToFileURL(join(ROOT, "dist/index.js")).href], { cwd: tmpdir(), encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ k: 10, shape: [1, 28, 28] });
  });

  it("from bytes (a view with an offset, an ArrayBuffer), a file URL, and a fetched URL", async () => {
    const padded = new Uint8Array(BYTES.length + 3);
    padded.set(BYTES, 3);
    expect(same(await shippedModelBytes(padded.subarray(3)), BYTES)).toBe(true);
    expect(same(await shippedModelBytes(BYTES.slice().buffer), BYTES)).toBe(true);
    expect(same(await shippedModelBytes(pathToFileURL(FILE)), BYTES)).toBe(true);
    expect(same(await shippedModelBytes(pathToFileURL(FILE).href), BYTES)).toBe(true);
    const server = createServer((req, res) => (req.url === "/m.safetensors" ? res.end(BYTES) : res.writeHead(404).end()));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      expect(same(await shippedModelBytes(`${base}/m.safetensors`), BYTES)).toBe(true);
      await expect(shippedModelBytes(`${base}/missing`)).rejects.toThrow(/HTTP 404/);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it("a registered source is used, lazily, until it is unregistered", async () => {
    let calls = 0;
    const other = BYTES.slice(0, 100);
    setShippedModelSource(() => {
      calls++;
      return other;
    });
    expect(calls).toBe(0);
    expect(same(await shippedModelBytes(), other)).toBe(true);
    expect(calls).toBe(1);
    expect(same(await shippedModelBytes(BYTES), BYTES)).toBe(true); // an explicit source wins
    setShippedModelSource(undefined);
    expect(same(await shippedModelBytes(), BYTES)).toBe(true);
  });

  it("bad sources are ArgumentErrors naming `source`", async () => {
    expectArgumentError(() => setShippedModelSource(42 as never), "source");
    await expect(shippedModelBytes("models/mnist.safetensors")).rejects.toThrow(/source: must be an absolute URL here/);
    await expect(shippedModelBytes({} as never)).rejects.toThrow(/source: must be bytes/);
  });
});

describe("the shipped model in other runtimes", () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), "ed-shipped-"));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("Chromium: dist/index.js loaded as a module fetches ../models/mnist.safetensors by itself", async () => {
    const srv = await serveRoot();
    try {
      const got = await withChromium(async (page) => {
        await page.goto(`${srv.url}/package.json`); // any page of the server: the import below is what runs
        // a string, not a function: vitest would rewrite a function's import() for Node
        return page.evaluate(`(async () => {
          const lib = await import("/dist/index.js");
          const m = await lib.loadShippedModel();
          return { k: m.numClasses, shape: m.itemShape, n: (await lib.shippedModelBytes()).length };
        })()`);
      });
      expect(got).toEqual({ k: 10, shape: [1, 28, 28], n: BYTES.length });
    } finally {
      await srv.close();
    }
  });

  // (with the bytes it loads: the example Worker does so in worker-example.test.ts)
  it("workerd: without a source it says to import the model as a module and pass it", async () => {
    const entry = join(tmp, "worker.js");
    writeFileSync(
      entry,
      `import { loadShippedModel } from ${JSON.stringify(join(ROOT, "dist/workerd.js"))};
      export default {
        async fetch() {
          try { await loadShippedModel(); return new Response("loaded"); }
          catch (e) { return new Response(String(e.message), { status: 500 }); }
        },
      };`,
    );
    const res = await workerdFetch(entry);
    expect(res.status).toBe(500);
    expect(await res.text()).toMatch(/edge-diffusion\/models\/mnist\.safetensors.*pass it/);
  });
});
