// Same seed, same bytes, in every runtime the library promises. The fingerprint (probe.js) hashes
// noise, schedule values, sigma sequences, deterministic math, a forward-process batch and a PNG; each
// runtime computes it from the built bundle (dist/index.js) and every hash must equal Node's.
import { beforeAll, describe, expect, it } from "vitest";
import { bun, chromiumPageResult, deno, node, serveRoot, workerdFetch } from "./support.ts";

type Fingerprint = Record<string, string>;
let reference: Fingerprint;

beforeAll(() => {
  reference = node("test/runtimes/run.mjs") as Fingerprint;
});

describe("the same seed gives the same bytes in every runtime", () => {
  it("the fingerprint depends on the seed (so equal hashes below mean something)", () => {
    const other = node("test/runtimes/run.mjs", "8") as Fingerprint;
    for (const k of ["normals", "normals64", "uniforms", "forward", "png"]) expect(other[k]).not.toBe(reference[k]);
    expect(Object.keys(reference).length).toBe(10);
    expect(reference.backend).toBe("wasm");
    expect(other.unet).not.toBe(reference.unet);
  });

  it("Deno equals Node", () => {
    expect(deno("test/runtimes/run.mjs")).toEqual(reference);
  });

  it("Bun (JavaScriptCore) equals Node", () => {
    expect(bun("test/runtimes/run.mjs")).toEqual(reference);
  });

  it("Cloudflare workerd equals Node", async () => {
    const res = await workerdFetch("test/runtimes/worker.js");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(reference);
  });

  it("Chromium equals Node", async () => {
    const srv = await serveRoot();
    try {
      const got = await chromiumPageResult(`${srv.url}/test/runtimes/page.html`);
      expect(got).toEqual(reference);
    } finally {
      await srv.close();
    }
  });
});
