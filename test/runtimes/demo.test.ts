// The browser demo (examples/demo) in headless Chromium, served the way `npm run demo` serves it: the
// page loads the shipped model by URL, generates digits in its Web Worker without a GPU and draws them
// (checked on a screenshot's pixels, and the samples equal Node's generate() bit for bit), trains a 2-D
// toy with a live scatter plot and loss curve, and shows every error in its error box.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decode } from "fast-png";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SAMPLING_DEFAULTS } from "../../src/defaults.ts";
import { ROOT, withChromium } from "./support.ts";

type Server = { url: string; close: () => Promise<void> };
type ServeDemo = (o?: { port?: number; site?: string; models?: string }) => Promise<Server>;

const MODELS = join(ROOT, "models");
const MODEL = join(MODELS, "mnist.safetensors");
/** Where the test leaves its screenshots for a person to look at (git-ignored). */
const OUT = join(ROOT, "out");
let serveDemo: ServeDemo;
let site: string;
let srv: Server;

beforeAll(async () => {
  // plain .mjs scripts (no types): imported by a computed specifier
  const build = "../../examples/demo/build.mjs";
  const serve = "../../examples/demo/serve.mjs";
  site = await ((await import(build)) as { buildDemo(o: { quiet: boolean }): Promise<string> }).buildDemo({ quiet: true });
  serveDemo = ((await import(serve)) as { serveDemo: ServeDemo }).serveDemo;
  srv = await serveDemo({ models: MODELS });
});
afterAll(async () => {
  await srv?.close();
});

/** Record uncaught page errors and any request that leaves the demo server. */
function watch(page: Page, base: string): { pageErrors: string[]; external: string[] } {
  const w = { pageErrors: [] as string[], external: [] as string[] };
  page.on("pageerror", (e) => w.pageErrors.push(e.message));
  page.on("request", (r) => {
    if (!r.url().startsWith(base) && !r.url().startsWith("data:") && !r.url().startsWith("blob:")) w.external.push(r.url());
  });
  return w;
}

/** An element's screenshot as grey levels (R channel) with its size. */
async function shot(page: Page, selector: string, save?: string): Promise<{ w: number; h: number; px: Uint8Array; rgb: (x: number, y: number) => [number, number, number] }> {
  const bytes = await page.locator(selector).screenshot();
  if (save) {
    mkdirSync(OUT, { recursive: true });
    writeFileSync(join(OUT, save), bytes);
  }
  const png = decode(bytes);
  const ch = png.channels;
  const d = png.data as Uint8Array;
  const px = new Uint8Array(png.width * png.height);
  for (let i = 0; i < px.length; i++) px[i] = d[i * ch];
  return { w: png.width, h: png.height, px, rgb: (x, y) => [d[(y * png.width + x) * ch], d[(y * png.width + x) * ch + 1], d[(y * png.width + x) * ch + 2]] };
}

const sha = (a: Float32Array) => createHash("sha256").update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest("hex");

/** Mean distance from each point to its nearest neighbour in `ref` (both [n, 2] flat). */
function meanNearest(points: ArrayLike<number>, ref: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < points.length; i += 2) {
    let best = Infinity;
    for (let j = 0; j < ref.length; j += 2) best = Math.min(best, (points[i] - ref[j]) ** 2 + (points[i + 1] - ref[j + 1]) ** 2);
    sum += Math.sqrt(best);
  }
  return sum / (points.length / 2);
}

describe("browser demo in Chromium", () => {
  it("generates digits without a GPU and trains a 2-D toy, with live previews", async () => {
    expect(existsSync(MODEL), `${MODEL} is missing: the demo loads the shipped model (npm run train:mnist)`).toBe(true);
    const settings = { steps: 8, seed: 3, guidance: 2, count: 10, sampler: "euler" };
    const got = await withChromium(async (page) => {
      const w = watch(page, srv.url);
      await page.setViewportSize({ width: 1320, height: 1000 });
      await page.goto(srv.url);
      await page.waitForSelector("#digits-panel[data-model=ready]", { timeout: 30_000 });
      // served with COOP/COEP; the kernels are WASM SIMD, not the TS fallback
      expect(await page.getAttribute("body", "data-isolated")).toBe("true");
      expect(await page.getAttribute("body", "data-backend")).toBe("wasm");
      expect(await page.textContent("#model-status")).toContain("10 classes");
      // isolated, so the digits worker samples with helper threads on every core (up to 8); the
      // samples below must still equal Node's one-thread bytes
      const cores = await page.evaluate(() => navigator.hardwareConcurrency);
      expect(Number(await page.getAttribute("#digits-panel", "data-threads"))).toBe(Math.max(1, Math.min(8, cores)));

      // ---- digits ----
      // the form starts from the library's SAMPLING_DEFAULTS (what generate() and the CLI use)
      const initial = { sampler: await page.inputValue("#sampler"), steps: await page.inputValue("#steps"), guidance: await page.inputValue("#guidance"), seed: await page.inputValue("#seed") };
      const blank = await shot(page, "#digits");
      await page.selectOption("#sampler", settings.sampler);
      await page.fill("#steps", String(settings.steps));
      await page.fill("#seed", String(settings.seed));
      await page.fill("#guidance", String(settings.guidance));
      await page.selectOption("#digit", "all");
      await page.fill("#count", String(settings.count));
      // the page stays responsive while the worker samples: the longest gap between 10 ms timer ticks
      await page.evaluate(() => {
        const g = window as any;
        g.__gap = 0;
        let last = performance.now();
        g.__tick = setInterval(() => {
          const now = performance.now();
          g.__gap = Math.max(g.__gap, now - last);
          last = now;
        }, 10);
      });
      await page.click("#generate");
      await page.waitForSelector("#digits-panel[data-state=done]", { timeout: 60_000 });
      const longestGap = await page.evaluate(() => {
        clearInterval((window as any).__tick);
        return (window as any).__gap as number;
      });
      const previews = await page.evaluate(() => (window as any).__demo.previews as number);
      const samples = new Float32Array(await page.evaluate(() => Array.from((window as any).__demo.samples as Float32Array)));
      const digits = await shot(page, "#digits", "demo-digits.png");

      // ---- toy ----
      const emptyLoss = await shot(page, "#loss");
      await page.selectOption("#toy", "moons");
      await page.fill("#train-steps", "300");
      await page.fill("#batch", "128");
      await page.click("#train");
      await page.waitForSelector("#toy-panel[data-state=done]", { timeout: 60_000 });
      const toy = await page.evaluate(() => {
        const d = (window as any).__demo;
        const scatters: { step: number; points: number[] }[] = d.scatters.map((s: { step: number; points: Float32Array }) => ({ step: s.step, points: Array.from(s.points) }));
        return { scatters, losses: d.losses as number[] };
      });
      const scatter = await shot(page, "#scatter");
      const loss = await shot(page, "#loss");
      const status = await page.textContent("#train-status");
      mkdirSync(OUT, { recursive: true });
      await page.screenshot({ path: join(OUT, "demo-page.png"), fullPage: true });
      expect(await page.isHidden("#error"), await page.textContent("#error-text") ?? "").toBe(true);
      return { w, longestGap, previews, samples, blank, digits, emptyLoss, toy, scatter, loss, status, initial };
    });
    expect(got.w.pageErrors).toEqual([]);
    expect(got.w.external).toEqual([]);
    const d0 = SAMPLING_DEFAULTS;
    expect(got.initial).toEqual({ sampler: d0.sampler, steps: String(d0.steps), guidance: String(d0.guidance), seed: String(d0.seed) });

    // The main thread kept running while the worker sampled (a blocked page would stall for seconds).
    expect(got.longestGap).toBeLessThan(500);

    // The x0 preview was drawn live: once per step.
    expect(got.previews).toBe(settings.steps);

    // The same digits as Node's generate() from the same file and settings, bit for bit.
    const bundle = "../../dist/index.js"; // the built bundle the page uses (no types beside it)
    const lib = (await import(bundle)) as typeof import("../../src/index.ts");
    lib.useKernels(await lib.initKernels());
    const model = lib.loadModel(new Uint8Array(readFileSync(MODEL)));
    const ref = lib.generate(model, { count: settings.count, steps: settings.steps, sampler: settings.sampler, seed: settings.seed, label: "all", guidance: settings.guidance, format: "safetensors" });
    expect(got.samples.length).toBe(settings.count * 28 * 28);
    expect(sha(got.samples)).toBe(sha(ref.samples));

    // The screenshot shows ten digits: 2 rows of 5 tiles of 28x28 at 4x with 4 px gaps (grey 40), in a
    // 1 px border (the element's sub-pixel position may add a row or column).
    const d = got.digits;
    expect(Math.abs(d.w - (5 * 112 + 6 * 4 + 2))).toBeLessThanOrEqual(1);
    expect(Math.abs(d.h - (2 * 112 + 3 * 4 + 2))).toBeLessThanOrEqual(1);
    const x0 = [...Array(4).keys()].find((c) => d.px[Math.floor(d.h / 2) * d.w + c] === 40)!;
    const y0 = [...Array(4).keys()].find((r) => d.px[r * d.w + x0 + 1] === 40)!;
    expect(x0, "the tile grid starts inside the border").toBeDefined();
    expect(y0, "the tile grid starts inside the border").toBeDefined();
    let differsFromBlank = 0;
    for (let i = 0; i < d.px.length; i++) if (Math.abs(d.px[i] - got.blank.px[i]) > 32) differsFromBlank++;
    expect(differsFromBlank / d.px.length).toBeGreaterThan(0.05);
    for (let k = 0; k < 10; k++) {
      const ox = x0 + 4 + (k % 5) * 116;
      const oy = y0 + 4 + Math.floor(k / 5) * 116;
      // one value per model pixel (the centre of its 4x4 block)
      const g = new Float64Array(28 * 28);
      for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) g[y * 28 + x] = d.px[(oy + y * 4 + 2) * d.w + ox + x * 4 + 2];
      const bright = g.filter((v) => v > 128).length / g.length;
      const dark = g.filter((v) => v < 64).length / g.length;
      // MNIST-like: mostly black background, some white strokes (noise would be half bright)
      expect(bright, `digit ${k}: fraction of bright pixels`).toBeGreaterThan(0.04);
      expect(bright, `digit ${k}: fraction of bright pixels`).toBeLessThan(0.4);
      expect(dark, `digit ${k}: fraction of dark pixels`).toBeGreaterThan(0.5);
      // strokes, not speckle: neighbouring pixels are strongly correlated (about 0 for noise)
      let sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0, n = 0;
      for (let y = 0; y < 28; y++) {
        for (let x = 0; x < 27; x++) {
          const a = g[y * 28 + x], b = g[y * 28 + x + 1];
          sx += a; sy += b; sxx += a * a; syy += b * b; sxy += a * b; n++;
        }
      }
      const corr = (sxy / n - (sx / n) * (sy / n)) / Math.sqrt((sxx / n - (sx / n) ** 2) * (syy / n - (sy / n) ** 2));
      expect(corr, `digit ${k}: neighbour correlation`).toBeGreaterThan(0.5);
    }
    // the samples themselves (not just the drawing): near -1 background, some strokes near +1
    const hi = got.samples.filter((v) => v > 0).length / got.samples.length;
    expect(hi).toBeGreaterThan(0.04);
    expect(hi).toBeLessThan(0.4);

    // Training: losses for every step, falling; scatters at 0, 100, 200, 300; the model's samples moved
    // from where the untrained model puts them onto the data.
    const { scatters, losses } = got.toy;
    expect(losses.length).toBe(300);
    expect(losses.every((v) => Number.isFinite(v) && v > 0)).toBe(true);
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    expect(mean(losses.slice(-50))).toBeLessThan(0.9 * mean(losses.slice(0, 50)));
    expect(scatters.map((s) => s.step)).toEqual([0, 100, 200, 300]);
    const data = lib.toyData("moons", 600, new lib.Rng(0).stream("dataset"));
    const before = meanNearest(scatters[0].points, data);
    const after = meanNearest(scatters[3].points, data);
    expect(after).toBeLessThan(0.5 * before);
    expect(got.status).toContain("step 300 of 300");

    // The scatter canvas shows orange samples and grey data points; the loss canvas shows a blue curve.
    const count = (s: typeof got.scatter, pred: (r: number, g: number, b: number) => boolean) => {
      let c = 0;
      for (let y = 0; y < s.h; y++) for (let x = 0; x < s.w; x++) if (pred(...s.rgb(x, y))) c++;
      return c;
    };
    const orange = (r: number, g: number, b: number) => r > 200 && g > 60 && g < 130 && b < 70;
    const grey = (r: number, g: number, b: number) => r < 225 && Math.abs(r - g) < 8 && Math.abs(g - b) < 8;
    const blue = (r: number, g: number, b: number) => b > 150 && r < 90 && g > 80 && g < 150;
    expect(count(got.scatter, orange)).toBeGreaterThan(1000);
    expect(count(got.scatter, grey)).toBeGreaterThan(200);
    expect(count(got.emptyLoss, blue)).toBe(0);
    expect(count(got.loss, blue)).toBeGreaterThan(300);
  });

  it("shows errors in the page (missing model, bad model file, no model, bad parameters) and recovers", async () => {
    const res = await withChromium(async (page) => {
      const w = watch(page, srv.url);
      const errorText = async (action: () => Promise<unknown>) => {
        await page.evaluate(() => {
          // (nothing to reset before the first page load)
          const box = document.getElementById("error");
          if (box) box.hidden = true;
        });
        await action();
        await page.waitForSelector("#error:not([hidden])", { timeout: 30_000 });
        return (await page.textContent("#error-text")) ?? "";
      };
      const out: Record<string, string> = {};
      out.missing = await errorText(() => page.goto(`${srv.url}?model=models/no-such-model.safetensors`));
      expect(await page.getAttribute("#digits-panel", "data-model")).toBe("error");
      out.notModel = await errorText(async () => {
        await page.fill("#model-url", "style.css");
        await page.click("#load");
      });
      out.noModel = await errorText(() => page.click("#generate"));
      out.steps = await errorText(async () => {
        await page.fill("#steps", "0");
        await page.click("#generate");
      });
      out.count = await errorText(async () => {
        await page.fill("#steps", "10");
        await page.fill("#count", "99");
        await page.click("#generate");
      });
      out.lr = await errorText(async () => {
        await page.fill("#lr", "0");
        await page.click("#train");
      });
      out.badFile = await errorText(() => page.setInputFiles("#model-file", join(ROOT, "package.json")));
      out.errors = String(await page.evaluate(() => (window as any).__demo.errors.length));
      // and the page recovers: a good local file loads and generates
      await page.setInputFiles("#model-file", MODEL);
      await page.waitForSelector("#digits-panel[data-model=ready]", { timeout: 30_000 });
      out.model = (await page.textContent("#model-status")) ?? "";
      await page.fill("#count", "2");
      await page.fill("#steps", "2");
      await page.fill("#lr", "0.002");
      await page.click("#generate");
      await page.waitForSelector("#digits-panel[data-state=done]", { timeout: 30_000 });
      return { w, out };
    });
    const { out } = res;
    expect(out.missing).toMatch(/loading the model.*no-such-model\.safetensors.*HTTP 404/);
    expect(out.notModel).toMatch(/style\.css \(\d+ bytes\) is not a model file/);
    expect(out.noModel).toMatch(/generating digits: no model is loaded/);
    expect(out.steps).toContain("Steps must be a whole number from 1 to 200");
    expect(out.count).toContain('Count must be a whole number from 1 to 16; got "99"');
    expect(out.lr).toContain("Learning rate must be a number above 0");
    expect(out.badFile).toMatch(/package\.json \(\d+ bytes\) is not a model file/);
    expect(Number(out.errors)).toBe(7);
    expect(out.model).toContain("model: mnist.safetensors");
    expect(res.w.pageErrors).toEqual([]);
    expect(res.w.external).toEqual([]);
  });

  it("shows a worker that fails to start in the page", async () => {
    // the same page with worker.js missing: the worker cannot load
    const broken = mkdtempSync(join(tmpdir(), "ed-demo-"));
    cpSync(site, broken, { recursive: true });
    rmSync(join(broken, "worker.js"));
    const s = await serveDemo({ site: broken });
    try {
      const { text, pageErrors } = await withChromium(async (page) => {
        const w = watch(page, s.url);
        await page.goto(s.url);
        await page.waitForSelector("#error:not([hidden])", { timeout: 30_000 });
        return { text: (await page.textContent("#error-text")) ?? "", pageErrors: w.pageErrors };
      });
      expect(text).toMatch(/The (digits|toy) worker failed/);
      expect(pageErrors).toEqual([]);
    } finally {
      await s.close();
      rmSync(broken, { recursive: true, force: true });
    }
  });

  it("the server sends COOP/COEP and serves nothing outside the page and models/", async () => {
    const get = (path: string) =>
      new Promise<{ status: number; headers: Record<string, unknown> }>((ok, fail) => {
        const u = new URL(srv.url);
        request({ host: u.hostname, port: u.port, path }, (r) => {
          r.resume();
          ok({ status: r.statusCode ?? 0, headers: r.headers });
        }).on("error", fail).end();
      });
    const index = await get("/");
    expect(index.status).toBe(200);
    expect(index.headers["cross-origin-opener-policy"]).toBe("same-origin");
    expect(index.headers["cross-origin-embedder-policy"]).toBe("require-corp");
    expect((await get("/models/mnist.safetensors")).status).toBe(200);
    for (const p of ["/../package.json", "/..%2f..%2fpackage.json", "/models/..%2fpackage.json", "/models/../../package.json"]) {
      expect((await get(p)).status, p).toBe(404);
    }
  });

  it("the demo's sources typecheck against the library's published types", () => {
    const r = spawnSync(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", join(ROOT, "examples/demo/tsconfig.json")], { encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
});
