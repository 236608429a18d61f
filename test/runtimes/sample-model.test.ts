// Sampling with the shipped model in the real runtimes, through the built bundle: Deno's and Bun's own
// test runners (examples/deno/sample_test.ts, test/runtimes/sample-model.bun.js) and the Deno example
// script, and Chromium loading the model over HTTP, each compared with Node's bytes for the same request.
// (The Worker's side is in worker-example.test.ts.)
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decode } from "fast-png";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bun, deno, node, ROOT, serveRoot, chromiumPageResult } from "./support.ts";
import { testModel } from "./worker-harness.ts";

const BIN = join(ROOT, "node_modules/.bin");
const MODEL = testModel();
type Hashes = { backend: string; tensor: string; png: string; shape: number[]; mean: number };
let reference: Hashes;
let tmp: string;

function run(cmd: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: "utf8", env: { ...process.env, NO_COLOR: "1", ...env }, timeout: 120_000 });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}

beforeAll(() => {
  reference = node("test/runtimes/sample-model.mjs", MODEL) as Hashes;
  tmp = mkdtempSync(join(tmpdir(), "ed-runtimes-"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("sampling with the shipped model in Node, Deno and Bun", () => {
  it("Node: the reference request samples digits on the WASM kernels", () => {
    expect(reference.backend).toBe("wasm");
    expect(reference.shape).toEqual([3, 1, 28, 28]);
    // mostly black background: mean brightness (x + 1) / 2 well below one half
    expect((reference.mean + 1) / 2).toBeGreaterThan(0.03);
    expect((reference.mean + 1) / 2).toBeLessThan(0.45);
    const other = node("test/runtimes/sample-model.mjs", MODEL, JSON.stringify({ seed: 12 })) as Hashes;
    expect(other.tensor).not.toBe(reference.tensor);
  });

  it("Deno: `deno test` imports the bundle, samples, and gets Node's bytes", () => {
    const r = run(join(BIN, "deno"), ["test", "--no-check", "--allow-read", "--allow-env", "examples/deno/sample_test.ts"], {
      EDGE_DIFFUSION_MODEL: MODEL,
      EXPECT_TENSOR_SHA256: reference.tensor,
    });
    expect(r.out).toMatch(/ok \| 3 passed \| 0 failed/);
    expect(r.status).toBe(0);
  });

  it("Deno: the test fails on bytes other than Node's (so the check above means something)", () => {
    const r = run(join(BIN, "deno"), ["test", "--no-check", "--allow-read", "--allow-env", "examples/deno/sample_test.ts"], {
      EDGE_DIFFUSION_MODEL: MODEL,
      EXPECT_TENSOR_SHA256: "0".repeat(64),
    });
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/differs from Node's/);
  });

  it("Bun: `bun test` imports the bundle, samples, and gets Node's bytes", () => {
    const r = run(join(BIN, "bun"), ["test", "./test/runtimes/sample-model.bun.js"], { EDGE_DIFFUSION_MODEL: MODEL, EXPECT_TENSOR_SHA256: reference.tensor });
    expect(r.out).toMatch(/ 3 pass/);
    expect(r.out).toMatch(/ 0 fail/);
    expect(r.status).toBe(0);
  });

  it("the same request gives the same tensor and PNG bytes in Node, Deno and Bun", () => {
    expect(deno("test/runtimes/sample-model.mjs", MODEL)).toEqual(reference);
    expect(bun("test/runtimes/sample-model.mjs", MODEL)).toEqual(reference);
  });

  it("Chromium (no GPU) gets the same bytes, loading the model over HTTP", async () => {
    const srv = await serveRoot();
    try {
      const got = await chromiumPageResult(`${srv.url}/test/runtimes/sample-model.html`);
      expect(got).toEqual(reference);
    } finally {
      await srv.close();
    }
  });

  it("the Deno example script writes a PNG of digits (pixels checked): the shipped model found by loadShippedModel, Node's bytes with the library's defaults", () => {
    const out = join(tmp, "digits.png");
    // no --model: the script loads the package's shipped model itself
    const r = run(join(BIN, "deno"), ["run", "--no-check", "--allow-read", "--allow-write", "examples/deno/sample.ts", "--count", "3", "--steps", "6", "--label", "8", "--out", out]);
    expect(r.status, r.out).toBe(0);
    // what it left out (sampler, guidance, seed) is generate()'s SAMPLING_DEFAULTS, the CLI's
    const ref = node("test/runtimes/sample-model.mjs", MODEL, JSON.stringify({ only: { count: 3, steps: 6, label: 8 } })) as Hashes;
    expect(createHash("sha256").update(readFileSync(out)).digest("hex")).toBe(ref.png);
    const img = decode(readFileSync(out));
    // label 8 alone: a 2 x 2 grid (ceil(sqrt 3) columns) of 56-pixel cells with 2-pixel gaps
    expect([img.width, img.height]).toEqual([2 * 56 + 3 * 2, 2 * 56 + 3 * 2]);
    for (let n = 0; n < 3; n++) {
      const ox = 2 + (n % 2) * 58;
      const oy = 2 + Math.floor(n / 2) * 58;
      let s = 0, sq = 0;
      for (let y = 0; y < 56; y++) {
        for (let x = 0; x < 56; x++) {
          const v = img.data[(oy + y) * img.width + ox + x] / 255;
          s += v;
          sq += v * v;
        }
      }
      const mean = s / 3136;
      expect(mean).toBeGreaterThan(0.03);
      expect(mean).toBeLessThan(0.45);
      expect(Math.sqrt(sq / 3136 - mean * mean)).toBeGreaterThan(0.15);
    }
  });
});
