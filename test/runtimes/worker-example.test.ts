// The example Worker (examples/worker) in real workerd, through miniflare, answering real HTTP on
// 127.0.0.1 with the shipped model: PNGs of digits (pixels checked), the same bytes as Node for the same
// request, resumable mode equal to one-shot, and a 400 naming the parameter for every bad input.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decode } from "fast-png";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SAMPLING_DEFAULTS } from "../../src/defaults.ts";
import { node, ROOT } from "./support.ts";
import { SHIPPED_MODEL, startModules, startWorker, testModel, type RunningWorker } from "./worker-harness.ts";

let w: RunningWorker;
const MODEL = testModel();

beforeAll(async () => {
  w = await startWorker(MODEL);
});
afterAll(async () => {
  await w?.close();
});

/** Node's hashes for a generate() request (test/runtimes/sample-model.mjs). */
const nodeHashes = (request: object) => node("test/runtimes/sample-model.mjs", MODEL, JSON.stringify(request)) as { tensor: string; png: string };

async function sha256(bytes: Uint8Array): Promise<string> {
  const { createHash } = await import("node:crypto");
  return createHash("sha256").update(bytes).digest("hex");
}

async function get(path: string, init?: RequestInit): Promise<{ status: number; type: string; bytes: Uint8Array; json: () => any }> {
  const res = await w.fetch(path, init);
  const bytes = new Uint8Array(await res.arrayBuffer());
  return { status: res.status, type: res.headers.get("content-type") ?? "", bytes, json: () => JSON.parse(new TextDecoder().decode(bytes)) };
}

/** Per digit cell of a generate() PNG grid (scale 2, gap 2): mean and std of brightness in [0, 1], and of its outer ring. */
function cells(png: Uint8Array, count: number, cols: number) {
  const img = decode(png);
  expect(img.channels).toBe(1);
  const out = [];
  for (let n = 0; n < count; n++) {
    const ox = 2 + (n % cols) * 58;
    const oy = 2 + Math.floor(n / cols) * 58;
    let s = 0, sq = 0, ring = 0, ringN = 0;
    for (let y = 0; y < 56; y++) {
      for (let x = 0; x < 56; x++) {
        const v = img.data[(oy + y) * img.width + ox + x] / 255;
        s += v;
        sq += v * v;
        if (x < 4 || y < 4 || x >= 52 || y >= 52) {
          ring += v;
          ringN++;
        }
      }
    }
    const mean = s / 3136;
    out.push({ mean, std: Math.sqrt(sq / 3136 - mean * mean), ring: ring / ringN });
  }
  return { width: img.width, height: img.height, cells: out };
}

describe("the example Worker in workerd", () => {
  it("listens on 127.0.0.1 and describes itself at /", async () => {
    expect(w.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const r = await get("/");
    expect(r.status).toBe(200);
    expect(r.json().parameters.seed).toMatch(/required/);
  });

  it("GET /sample returns a PNG of digits (white strokes on black), the same bytes as Node", async () => {
    const r = await get("/sample?seed=3&steps=8&count=4&label=all&sampler=heun");
    expect(r.status).toBe(200);
    expect(r.type).toBe("image/png");
    const g = cells(r.bytes, 4, 4); // "all" labels: a column per class, at most count (issue 14 #7)
    expect([g.width, g.height]).toEqual([4 * 56 + 5 * 2, 56 + 2 * 2]);
    for (const c of g.cells) {
      expect(c.mean).toBeGreaterThan(0.03); // something was drawn
      expect(c.mean).toBeLessThan(0.45); // on a dark background
      expect(c.std).toBeGreaterThan(0.15); // not a flat grey
      expect(c.ring).toBeLessThan(0.2); // MNIST digits are centred: the border is black
    }
    expect(await sha256(r.bytes)).toBe(nodeHashes({ count: 4, steps: 8, sampler: "heun", seed: 3, label: "all", guidance: 2 }).png);
  });

  it("a request that leaves out steps, sampler and guidance samples with the library's defaults (SAMPLING_DEFAULTS, the CLI's)", async () => {
    const r = await get("/sample?seed=3&count=2&format=safetensors");
    expect(r.status).toBe(200);
    // generate() with only count, seed and format: everything else from SAMPLING_DEFAULTS
    const ref = nodeHashes({ only: { count: 2, seed: 3 } });
    expect(await sha256(r.bytes)).toBe(ref.tensor);
    const usage = (await get("/")).json().parameters;
    expect(usage.guidance).toContain(`default ${SAMPLING_DEFAULTS.guidance};`);
    expect(usage.steps).toContain(`default ${SAMPLING_DEFAULTS.steps})`);
  });

  it("the same request gives byte-identical sample tensors in workerd and Node (safetensors)", async () => {
    const request = { count: 3, steps: 4, sampler: "dpmpp_2m_sde", seed: 11, label: "all", guidance: 2 };
    const r = await get("/sample?seed=11&steps=4&count=3&label=all&sampler=dpmpp_2m_sde&guidance=2&format=safetensors");
    expect(r.status).toBe(200);
    const ref = nodeHashes(request);
    expect(await sha256(r.bytes)).toBe(ref.tensor);
    // and the seed matters (so equal hashes mean something)
    const other = await get("/sample?seed=12&steps=4&count=3&label=all&sampler=dpmpp_2m_sde&guidance=2&format=safetensors");
    expect(await sha256(other.bytes)).not.toBe(ref.tensor);
  });

  /** Run a resumable generation to the end; returns the final body and the number of requests. */
  async function resumable(query: string, maxSteps: number) {
    let r = await get(`/sample?${query}&mode=resumable&maxSteps=${maxSteps}`);
    let requests = 1;
    const steps: number[] = [];
    while (r.type.startsWith("application/json")) {
      expect(r.status).toBe(200);
      const j = r.json();
      expect(j.done).toBe(false);
      steps.push(j.step);
      r = await get(`/sample?mode=resumable&maxSteps=${maxSteps}`, { method: "POST", body: j.token });
      requests++;
      expect(requests).toBeLessThan(30);
    }
    expect(r.status).toBe(200);
    return { bytes: r.bytes, requests, steps, type: r.type };
  }

  it("resumable mode: a few steps per request, the final PNG equals the one-shot PNG", async () => {
    // 5 digits: two chunks (4 + 1); dpmpp_2m carries its previous x0 estimate through the token
    const q = "seed=5&steps=7&count=5&label=all&sampler=dpmpp_2m";
    const once = await get(`/sample?${q}`);
    const parts = await resumable(q, 2);
    expect(parts.requests).toBe(4);
    expect(parts.steps).toEqual([2, 4, 6]);
    expect(parts.type).toBe("image/png");
    expect(Buffer.from(parts.bytes).equals(Buffer.from(once.bytes))).toBe(true);
  });

  it("resumable mode with noise, guidance and the tensor format equals one-shot", async () => {
    const q = "seed=9&steps=5&count=5&label=7&sampler=dpmpp_2m_sde&guidance=2.5&format=safetensors"; // 2 chunks: per-item noise
    const once = await get(`/sample?${q}`);
    const parts = await resumable(q, 2);
    expect(parts.requests).toBe(3);
    expect(await sha256(parts.bytes)).toBe(await sha256(once.bytes));
  });

  // [query, the parameter the 400 must name]
  const BAD: [string, string][] = [
    ["/sample", "seed"],
    ["/sample?steps=4", "seed"],
    ["/sample?seed=", "seed"],
    ["/sample?seed=abc", "seed"],
    ["/sample?seed=-1", "seed"],
    ["/sample?seed=1e3", "seed"],
    ["/sample?seed=01", "seed"],
    ["/sample?seed=1.5", "seed"],
    ["/sample?seed=%201", "seed"],
    ["/sample?seed=4294967296", "seed"],
    ["/sample?seed=99999999999999999999", "seed"],
    ["/sample?seed=1&seed=2", "seed"],
    ["/sample?seed=1&steps=0", "steps"],
    ["/sample?seed=1&steps=51", "steps"],
    ["/sample?seed=1&steps=0x10", "steps"],
    ["/sample?seed=1&steps=NaN", "steps"],
    ["/sample?seed=1&count=0", "count"],
    ["/sample?seed=1&count=17", "count"],
    ["/sample?seed=1&count=4096", "count"],
    ["/sample?seed=1&label=10", "label"],
    ["/sample?seed=1&label=-1", "label"],
    ["/sample?seed=1&label=seven", "label"],
    ["/sample?seed=1&sampler=rk45", "sampler"],
    ["/sample?seed=1&sampler=langevin", "sampler"],
    ["/sample?seed=1&sampler=__proto__", "sampler"],
    ["/sample?seed=1&guidance=abc", "guidance"],
    ["/sample?seed=1&guidance=1e1", "guidance"],
    ["/sample?seed=1&guidance=-1", "guidance"],
    ["/sample?seed=1&guidance=8.5", "guidance"],
    ["/sample?seed=1&guidance=Infinity", "guidance"],
    ["/sample?seed=1&format=jpeg", "format"],
    ["/sample?seed=1&mode=fast", "mode"],
    ["/sample?seed=1&maxSteps=2", "maxSteps"],
    ["/sample?seed=1&mode=resumable&maxSteps=0", "maxSteps"],
    ["/sample?seed=1&mode=resumable&count=16&maxSteps=5", "maxSteps"],
    ["/sample?seed=1&foo=2", "foo"],
    ["/sample?seed=1&token=abc", "token"],
    [`/sample?seed=1&label=${"7".repeat(40)}`, "label"],
    [`/sample?seed=1&${"x".repeat(600)}=1`, "query"],
    // total work: count × steps × NFE per step (× 2 with guidance) ≤ 256 in one request
    ["/sample?seed=1&count=16&steps=20", "steps"],
    ["/sample?seed=1&count=16&steps=5&sampler=heun&guidance=2", "steps"],
    ["/sample?seed=1&count=16&steps=50&mode=resumable&sampler=heun", "steps"],
  ];

  it.each(BAD)("GET %s is a 400 naming %s", async (path, parameter) => {
    const r = await get(path);
    expect(r.status).toBe(400);
    expect(r.type).toBe("application/json");
    const j = r.json();
    expect(j.parameter).toBe(parameter);
    expect(j.error).toContain(parameter);
    expect(j.allowed).toBeTruthy();
  });

  it("random values for any parameter give a 400 naming it, or a sample", async () => {
    const fc = await import("fast-check");
    const names = ["seed", "steps", "count", "label", "sampler", "guidance", "format", "mode", "maxSteps", "token", "Seed", ""];
    const value = fc.oneof(fc.string({ maxLength: 20 }), fc.stringMatching(/^[-+0-9.eExX%a-f ]{0,12}$/), fc.integer({ min: -5, max: 70 }).map(String));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...names), value, async (name, v) => {
        const q = new URLSearchParams({ seed: "1", steps: "2", count: "1", format: "safetensors" });
        q.set(name, v);
        const r = await get(`/sample?${q}`);
        if (r.status === 200) return;
        expect(r.status).toBe(400);
        const j = r.json();
        expect(typeof j.parameter).toBe("string");
        expect(j.allowed).toBeTruthy();
        if (name && !["token", "Seed"].includes(name)) expect([name, "maxSteps", "steps", "count", "query"]).toContain(j.parameter);
      }),
      { numRuns: 150, seed: 5 },
    );
  });

  it("wrong routes and methods are refused with JSON errors", async () => {
    expect((await get("/nope")).status).toBe(404);
    const put = await get("/sample?seed=1", { method: "PUT", body: "x" });
    expect(put.status).toBe(405);
    expect(put.json().parameter).toBe("method");
  });

  describe("continuation tokens are hostile input", () => {
    let token: string;
    beforeAll(async () => {
      const r = await get("/sample?seed=2&steps=6&count=2&label=all&sampler=dpmpp_2m&mode=resumable&maxSteps=2");
      token = r.json().token;
    });

    /** Rebuild a token with its header and floats edited (the layout of examples/worker/src/token.js). */
    function edit(t: string, header: (h: any) => void, floats?: (f: Float32Array) => void): string {
      const b = Buffer.from(t, "base64url");
      const H = b.readUInt32LE(4);
      const h = JSON.parse(b.subarray(8, 8 + H).toString());
      header(h);
      const f = new Float32Array(new Uint8Array(b.subarray((8 + H + 3) & ~3)).buffer);
      floats?.(f);
      const hb = Buffer.from(JSON.stringify(h));
      const start = (8 + hb.length + 3) & ~3;
      const out = Buffer.alloc(start + f.byteLength);
      out.write("EDT1", 0);
      out.writeUInt32LE(hb.length, 4);
      hb.copy(out, 8);
      Buffer.from(f.buffer).copy(out, start);
      return out.toString("base64url");
    }
    const post = (body: string, query = "mode=resumable") => get(`/sample?${query}`, { method: "POST", body });

    it("an unchanged token continues", async () => {
      const r = await post(token, "mode=resumable&maxSteps=2");
      expect(r.status).toBe(200);
      expect(r.json().step).toBe(4);
      const last = await post(token); // maxSteps defaults to what fits one request: here, the rest
      expect(last.type).toBe("image/png");
      expect(edit(token, () => {})).toBe(token); // the editor itself is faithful
    });

    const CASES: [string, () => string, string, string?][] = [
      ["an empty body", () => "", "token"],
      ["not base64url", () => "!!!!", "token"],
      ["a truncated token", () => token.slice(0, token.length - 40), "token"],
      ["bad magic", () => "A" + token.slice(1), "token"],
      ["an oversized body", () => "A".repeat(300_000), "token"],
      ["too many steps (work bound)", () => edit(token, (h) => ((h.s.steps = "50"), (h.s.count = "16"), (h.s.sampler = "heun"))), "token.steps"],
      ["steps out of range", () => edit(token, (h) => (h.s.steps = "5000")), "token.steps"],
      ["a label out of range", () => edit(token, (h) => (h.s.label = "11")), "token.label"],
      ["an unknown sampler", () => edit(token, (h) => (h.s.sampler = "langevin")), "token.sampler"],
      ["a missing seed", () => edit(token, (h) => delete h.s.seed), "token.seed"],
      ["step 0", () => edit(token, (h) => (h.step = 0)), "token.step"],
      ["step = steps", () => edit(token, (h) => (h.step = 6)), "token.step"],
      ["a fractional step", () => edit(token, (h) => (h.step = 2.5)), "token.step"],
      ["a count that does not match the data", () => edit(token, (h) => (h.s.count = "3")), "token"],
      ["a NaN in the batch", () => edit(token, () => {}, (f) => (f[5] = NaN)), "token"],
      ["an Infinity in the carry", () => edit(token, () => {}, (f) => (f[f.length - 1] = Infinity)), "token"],
      ["a huge value", () => edit(token, () => {}, (f) => (f[0] = 1e30)), "token"],
      ["a bad carry", () => edit(token, (h) => (h.carry[0].old = "y")), "token"],
      ["extra header fields", () => edit(token, (h) => (h.more = 1)), "token"],
      ["an unknown setting", () => edit(token, (h) => (h.s.mode = "oneshot")), "token"],
      ["settings in the query", () => token, "seed", "mode=resumable&seed=3"],
      ["no mode", () => token, "mode", "maxSteps=1"],
    ];
    it.each(CASES)("%s is a 400 naming the parameter", async (_what, make, parameter, query) => {
      const r = await post(make(), query);
      expect(r.status).toBe(400);
      const j = r.json();
      expect(j.parameter).toBe(parameter);
      expect(j.allowed).toBeTruthy();
    });

    it("random edits of a token give a 400 naming the token or a sample, never anything else", async () => {
      const fc = await import("fast-check");
      const raw = Buffer.from(token, "base64url");
      await fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(fc.nat(raw.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.boolean(), async (flips, cut) => {
          const b = Buffer.from(raw);
          for (const [i, v] of flips) b[i] = v;
          const t = (cut ? b.subarray(0, flips[0][0]) : b).toString("base64url");
          const r = await post(t, "mode=resumable&maxSteps=1");
          if (r.status === 200) {
            expect(r.type).toMatch(/^(application\/json|image\/png)/);
            return;
          }
          expect(r.status).toBe(400);
          expect(r.json().parameter).toMatch(/^token/);
        }),
        { numRuns: 120, seed: 6 },
      );
    });

    it("after all that the isolate still samples", async () => {
      const r = await get("/sample?seed=1&steps=2&count=1&label=4");
      expect(r.status).toBe(200);
      expect(r.type).toBe("image/png");
    });
  });

  it("`wrangler deploy --dry-run` bundles it, and that bundle serves the same bytes in workerd", async () => {
    expect(existsSync(SHIPPED_MODEL), "wrangler ships models/mnist.safetensors").toBe(true);
    const out = mkdtempSync(join(tmpdir(), "ed-wrangler-"));
    try {
      const r = spawnSync(join(ROOT, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--outdir", out], {
        cwd: join(ROOT, "examples/worker"),
        encoding: "utf8",
        // no network: no metrics, no update check
        env: { ...process.env, NO_COLOR: "1", CI: "true", WRANGLER_SEND_METRICS: "false", WRANGLER_LOG: "warn" },
        timeout: 120_000,
      });
      expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
      const files = readdirSync(out);
      const wasm = files.find((f) => f.endsWith("kernels.wasm"));
      const model = files.find((f) => f.endsWith("mnist.safetensors"));
      expect(wasm && model && files.includes("index.js"), files.join(", ")).toBeTruthy();
      // the upload as Cloudflare would receive it: the bundle and its two extra modules
      const deployed = await startModules([
        { type: "ESModule", path: "index.js", contents: readFileSync(join(out, "index.js"), "utf8") },
        { type: "CompiledWasm", path: wasm!, contents: readFileSync(join(out, wasm!)) },
        { type: "Data", path: model!, contents: readFileSync(join(out, model!)) },
      ]);
      try {
        const path = "/sample?seed=4&steps=3&count=2&label=5";
        const a = await deployed.fetch(path);
        expect(a.status).toBe(200);
        const b = await get(path);
        expect(Buffer.from(await a.arrayBuffer()).equals(Buffer.from(b.bytes))).toBe(true);
      } finally {
        await deployed.close();
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
