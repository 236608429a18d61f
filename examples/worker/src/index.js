// A Cloudflare Worker that draws MNIST digits with edge-diffusion.
//
//   GET  /sample?seed=7&steps=20&label=3&sampler=dpmpp_2m&guidance=2&count=4   -> image/png
//   GET  /sample?seed=7&...&format=safetensors                                  -> the tensor [N,1,28,28]
//   GET  /sample?seed=7&...&mode=resumable&maxSteps=4    -> JSON {done:false, token, ...} or the PNG
//   POST /sample?mode=resumable&maxSteps=4  (body: the token)  -> the next JSON, finally the PNG
//
// Resumable mode runs a few steps per request (a small per-request CPU budget) and hands the sampler
// state back as a token; the last request returns the same bytes as the one-shot request. Bad input of
// any kind gets a 400 with JSON {error, parameter, allowed}. Bounds: ./params.js.
//
// In workerd the package resolves to its Workers bundle (exports condition "workerd"), which imports the
// kernels as a compiled WebAssembly module: workerd refuses to compile wasm from bytes.
import { generate, generateSteps, initKernels, loadShippedModel, useKernels } from "edge-diffusion";
// The package's shipped model, bundled with the Worker as a "Data" module (an ArrayBuffer; wrangler.toml's
// rule): no network, no KV. workerd has no file system, so the model is handed to loadShippedModel.
import modelBytes from "edge-diffusion/models/mnist.safetensors";
import { BadRequest, BOUNDS, CHUNK, CONTINUATION_PARAMS, checkWork, DEFAULTS, PARAMS, parseMode, parseSettings, readQuery, SAMPLER_COST } from "./params.js";
import { decodeToken, encodeToken, maxTokenChars } from "./token.js";

let ready = null;
/** Kernels and model, once per isolate. */
function init() {
  ready ??= (async () => {
    useKernels(await initKernels());
    return loadShippedModel(modelBytes);
  })().catch((e) => {
    ready = null;
    throw e;
  });
  return ready;
}

const json = (status, body) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

function error(e) {
  if (e instanceof BadRequest) return json(400, { error: e.message, parameter: e.parameter, allowed: e.allowed });
  return json(500, { error: "internal error", detail: String(e?.message ?? e).slice(0, 200) });
}

export default {
  async fetch(request) {
    try {
      const url = new URL(request.url);
      if (url.pathname === "/") return json(200, usage());
      if (url.pathname !== "/sample") return json(404, { error: `no route ${url.pathname.slice(0, 64)}`, parameter: "path", allowed: ["/", "/sample"] });
      if (request.method === "GET") return await first(url);
      if (request.method === "POST") return await continuation(url, request);
      return json(405, { error: `method ${request.method} is not allowed`, parameter: "method", allowed: ["GET", "POST"] });
    } catch (e) {
      return error(e);
    }
  },
};

/** Settings and chunking for a model; prefix names token fields in errors. */
function settingsFor(model, q, prefix = "") {
  const p = parseSettings(q, model.numClasses, prefix);
  const chunkSizes = [];
  for (let s = 0; s < p.count; s += CHUNK) chunkSizes.push(Math.min(CHUNK, p.count - s));
  return { p, chunkSizes };
}

async function first(url) {
  const q = readQuery(url, PARAMS);
  const model = await init();
  const { p, chunkSizes } = settingsFor(model, q);
  const m = parseMode(q, p);
  checkWork(p, m.resumable);
  if (!m.resumable || m.maxSteps >= p.steps) {
    const r = generate(model, { count: p.count, steps: p.steps, sampler: p.sampler, seed: p.seed, label: p.label, guidance: p.guidance, format: p.format, chunk: CHUNK });
    return output(p, r.bytes);
  }
  return advance(model, p, chunkSizes, m.maxSteps, null);
}

async function continuation(url, request) {
  const q = readQuery(url, CONTINUATION_PARAMS);
  if (q.get("mode") !== "resumable") throw new BadRequest("mode", "a POST continues a resumable generation: add mode=resumable", ["resumable"]);
  const model = await init();
  const D = model.itemShape.reduce((a, b) => a * b, 1);
  const token = await readBody(request, maxTokenChars(D));
  const t = decodeToken(token, D, (tq) => {
    const s = settingsFor(model, tq, "token.");
    checkWork(s.p, true, "token.");
    return s;
  });
  const m = parseMode(q, t.p);
  return advance(model, t.p, t.chunkSizes, m.maxSteps, t);
}

/** The request body as text, refusing more than `max` characters without reading them all. */
async function readBody(request, max) {
  const declared = Number(request.headers.get("content-length") ?? 0);
  if (declared > max) throw new BadRequest("token", `body of ${declared} bytes`, `at most ${max} characters`);
  if (!request.body) return "";
  const reader = request.body.getReader();
  const parts = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.length;
    if (n > max) {
      await reader.cancel();
      throw new BadRequest("token", `body longer than ${max} bytes`, `at most ${max} characters`);
    }
    parts.push(value);
  }
  const all = new Uint8Array(n);
  let o = 0;
  for (const b of parts) {
    all.set(b, o);
    o += b.length;
  }
  return new TextDecoder().decode(all).trim();
}

/**
 * Run at most maxSteps steps of every chunk (from the token's state, or from fresh noise) with the
 * library's generateSteps, then return the next token, or the final image: the same bytes as the
 * one-shot request.
 */
function advance(model, p, chunkSizes, maxSteps, from) {
  const D = model.itemShape.reduce((a, b) => a * b, 1);
  const options = { count: p.count, steps: p.steps, sampler: p.sampler, seed: p.seed, label: p.label, guidance: p.guidance, format: p.format, chunk: CHUNK };
  let r;
  try {
    r = generateSteps(model, options, { maxSteps, from: from && { step: from.step, x: from.x, carries: from.carries } });
  } catch (e) {
    // a state edited into a diverging one: the sampler stops at the first non-finite value
    if (from && e?.name === "SamplingError") throw new BadRequest("token", `sampling from this state diverged (${e.message})`, "a token returned by this Worker, unchanged");
    throw e;
  }
  if (r.done) return output(p, r.result.bytes);
  const { step, x, carries } = r.state;
  return json(200, {
    done: false,
    step,
    steps: p.steps,
    token: encodeToken(p.raw, step, x, carries, chunkSizes, D),
    next: { method: "POST", path: "/sample?mode=resumable", body: "the token" },
  });
}

function output(p, bytes) {
  const type = p.format === "png" ? "image/png" : "application/octet-stream";
  // the same request always gives the same bytes: cacheable forever
  return new Response(bytes, { headers: { "content-type": type, "cache-control": "public, max-age=31536000, immutable" } });
}

function usage() {
  return {
    routes: {
      "GET /sample": "seed (required), steps, count, label, sampler, guidance, format, mode, maxSteps -> image/png (or safetensors)",
      "POST /sample?mode=resumable[&maxSteps=k]": "body: the token of the previous resumable response",
    },
    parameters: {
      seed: `integer 0..${BOUNDS.seedMax} (required)`,
      steps: `integer 1..${BOUNDS.stepsMax} (default ${DEFAULTS.steps})`,
      count: `integer 1..${BOUNDS.countMax} (default ${DEFAULTS.count})`,
      label: '0..9, "all" (digit i gets class i mod 10) or "none" (default "all")',
      sampler: `${Object.keys(SAMPLER_COST).join(" | ")} (default ${DEFAULTS.sampler})`,
      guidance: `0..${BOUNDS.guidanceMax}, classifier-free guidance scale (default ${DEFAULTS.guidance}; 1 = none)`,
      format: "png | safetensors (default png)",
      mode: "oneshot | resumable (default oneshot)",
      maxSteps: "resumable mode: steps in this request (default: as many as fit the per-request budget)",
    },
    work: {
      unit: "digit-NFE: one denoiser evaluation for one digit = count × steps × NFE per step (heun 2) × 2 with guidance",
      oneShot: BOUNDS.oneShotWork,
      resumableTotal: BOUNDS.resumableWork,
      perResumableRequest: BOUNDS.requestWork,
    },
  };
}
