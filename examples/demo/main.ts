// The demo page: reads the controls, checks them, sends requests to two compute workers (one for the
// digits panel, one for the toy panel, so both can run at once) and draws what they send back. Every
// failure (a bad parameter, a model that does not load, a worker that crashes, an uncaught error) ends
// in the error box at the top of the page.
import { drawImages, drawLoss, drawScatter, gridLayout } from "./draw.ts";
import type { GenerateRequest, ModelInfo, Reply, Request, TrainRequest } from "./protocol.ts";

const $ = <T extends HTMLElement = HTMLElement>(id: string) => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no element #${id}`);
  return el as T;
};

/** What the page shows, readable by tests (test/runtimes/demo.test.ts). */
interface DemoHooks {
  /** The last generated samples [N, 1, 28, 28] in [-1, 1], to compare with Node's generate(). */
  samples: Float32Array | null;
  /** x0 previews drawn during the last generation. */
  previews: number;
  /** Every scatter drawn in the last training run: the step and the model's samples. */
  scatters: { step: number; points: Float32Array }[];
  /** Loss of every training step of the last run. */
  losses: number[];
  errors: string[];
}
const hooks: DemoHooks = { samples: null, previews: 0, scatters: [], losses: [], errors: [] };
(window as unknown as { __demo: DemoHooks }).__demo = hooks;

// ---- the error box -------------------------------------------------------------------------------

const errors = hooks.errors;
function showError(message: string): void {
  errors.push(message);
  console.error(message);
  $("error-text").textContent = errors.length > 1 ? `${message}  (${errors.length} errors so far)` : message;
  $("error").hidden = false;
}
function clearError(): void {
  $("error").hidden = true;
}
$("error-close").addEventListener("click", clearError);
window.addEventListener("error", (e) => showError(`Unexpected error in the page: ${e.message || e.error}`));
window.addEventListener("unhandledrejection", (e) => showError(`Unexpected error in the page: ${(e.reason as Error)?.message ?? e.reason}`));

/** A bad value in a control: the message names the control and the allowed range. */
class InputError extends Error {}

function readInt(id: string, label: string, lo: number, hi: number): number {
  const raw = $<HTMLInputElement>(id).value.trim();
  const v = Number(raw);
  if (raw === "" || !Number.isInteger(v) || v < lo || v > hi) {
    throw new InputError(`${label} must be a whole number from ${lo} to ${hi}; got ${raw === "" ? "nothing (empty or not a number)" : JSON.stringify(raw)}.`);
  }
  return v;
}

function readNumber(id: string, label: string, lo: number, hi: number, openLow = false): number {
  const raw = $<HTMLInputElement>(id).value.trim();
  const v = Number(raw);
  if (raw === "" || !Number.isFinite(v) || v < lo || v > hi || (openLow && v === lo)) {
    throw new InputError(`${label} must be a number ${openLow ? "above" : "from"} ${lo} ${openLow ? "and at most" : "to"} ${hi}; got ${raw === "" ? "nothing (empty or not a number)" : JSON.stringify(raw)}.`);
  }
  return v;
}

// ---- workers ------------------------------------------------------------------------------------

interface Panel {
  name: string;
  worker: Worker | null;
  onReply: (r: Reply) => void;
  onFailure: () => void;
}

function startWorker(p: Panel): Worker {
  const w = new Worker(new URL("./worker.js", import.meta.url), { type: "module", name: p.name });
  w.onmessage = (e: MessageEvent<Reply>) => p.onReply(e.data);
  w.onerror = (e) => {
    e.preventDefault();
    showError(`The ${p.name} worker failed: ${e.message || "it could not start (is worker.js served?)"}`);
    w.terminate();
    if (p.worker === w) p.worker = null;
    p.onFailure();
  };
  w.onmessageerror = () => showError(`The ${p.name} worker sent a message the page could not read.`);
  p.worker = w;
  send(p, { type: "init" });
  return w;
}

function send(p: Panel, req: Request, transfer: Transferable[] = []): void {
  (p.worker ?? startWorker(p)).postMessage(req, transfer);
}

let backend = "";
/** Threads the loaded model samples on (0: none loaded yet). */
let sampleThreads = 0;
const env = () => {
  const iso = globalThis.crossOriginIsolated === true;
  const sab = typeof SharedArrayBuffer === "function";
  const threads = iso
    ? `threads: digits sample on ${sampleThreads ? `${sampleThreads} thread${sampleThreads > 1 ? "s" : ""}` : "every core"} (same bytes as one)`
    : "no threads (not cross-origin isolated): each panel computes in one worker";
  $("env").textContent = `kernels: ${backend || "loading…"} · crossOriginIsolated: ${iso} · SharedArrayBuffer: ${sab ? "available" : "unavailable"} · ${navigator.hardwareConcurrency ?? "?"} logical cores · ${threads}`;
  document.body.dataset.isolated = String(iso);
  if (backend) document.body.dataset.backend = backend;
};
env();

function onReady(r: Reply): boolean {
  if (r.type !== "ready") return false;
  backend = r.backend;
  env();
  // the digits form starts from the library's SAMPLING_DEFAULTS (the page itself does not bundle the
  // library, so the worker sends them)
  fillSelect("sampler", r.samplers, r.defaults.sampler);
  fillInput("steps", r.defaults.steps);
  fillInput("guidance", r.defaults.guidance);
  fillInput("seed", r.defaults.seed);
  fillSelect("toy", r.toys, "moons");
  return true;
}

/** Set an input's starting value, unless the user typed one already. */
function fillInput(id: string, value: number): void {
  const input = $<HTMLInputElement>(id);
  if (input.value === "") input.value = String(value);
}

function fillSelect(id: string, names: string[], preferred: string): void {
  const sel = $<HTMLSelectElement>(id);
  if (sel.options.length) return;
  for (const n of names) sel.add(new Option(n, n));
  sel.value = names.includes(preferred) ? preferred : names[0];
}

// ---- digits panel -------------------------------------------------------------------------------

const digitsPanel = $("digits-panel");
let modelSource: { url: string; bytes?: ArrayBuffer } | null = null;
let model: ModelInfo | null = null;
let genId = 0;
let genStart = 0;
let lastGen: GenerateRequest | null = null;

const digits: Panel = {
  name: "digits",
  worker: null,
  onReply: (r) => {
    if (onReady(r)) return;
    switch (r.type) {
      case "model": {
        model = r.info;
        const trained = r.info.trainedSteps !== null ? `, trained ${r.info.trainedSteps} steps` : "";
        $("model-status").textContent = `model: ${r.info.url} · ${(r.info.bytes / 1024 / 1024).toFixed(2)} MB · ${(r.info.parameters / 1e6).toFixed(2)} M parameters · [${r.info.itemShape.join("×")}] · ${r.info.numClasses || "no"} classes${trained} \u00B7 ${r.info.threads} thread${r.info.threads > 1 ? "s" : ""}`;
        digitsPanel.dataset.model = "ready";
        digitsPanel.dataset.threads = String(r.info.threads);
        sampleThreads = r.info.threads;
        env();
        return;
      }
      case "step": {
        if (r.id !== genId || !lastGen || !model) return;
        const [, h, w] = model.itemShape;
        drawImages($<HTMLCanvasElement>("digits"), r.denoised, lastGen.count, h, w, gridLayout(lastGen.count, 4));
        drawImages($<HTMLCanvasElement>("noisy"), r.x, lastGen.count, h, w, gridLayout(lastGen.count, 2), Math.sqrt(1 + r.sigma * r.sigma));
        const p = $<HTMLProgressElement>("gen-progress");
        p.max = r.steps;
        p.value = r.step + 1;
        hooks.previews++;
        $("gen-status").textContent = `step ${r.step + 1} of ${r.steps} · σ = ${r.sigma.toPrecision(3)}`;
        return;
      }
      case "done": {
        if (r.id !== genId || !lastGen) return;
        const [n, , h, w] = r.shape;
        drawImages($<HTMLCanvasElement>("digits"), r.samples, n, h, w, gridLayout(n, 4));
        const g = lastGen;
        const what = r.labels.length === 0 ? `${n} samples (unconditional model: digit and guidance unused)` : g.digit === "all" ? `digits ${r.labels.join(" ")}` : `${n} × digit ${g.digit}`;
        $("gen-status").textContent = `${what} · ${g.sampler}, ${g.steps} steps, guidance ${g.guidance}, seed ${g.seed} · ${(r.ms / 1000).toFixed(2)} s`;
        hooks.samples = r.samples;
        genDone("done");
        return;
      }
      case "error": {
        if (r.what === "loading the model") {
          model = null;
          digitsPanel.dataset.model = "error";
          $("model-status").textContent = "no model loaded";
        }
        showError(`Error while ${r.what}: ${r.message}`);
        if (r.id === undefined || r.id === genId) genDone("error");
        return;
      }
    }
  },
  onFailure: () => {
    model = null;
    digitsPanel.dataset.model = "error";
    genDone("error");
  },
};

function genDone(state: "done" | "error" | "stopped"): void {
  digitsPanel.dataset.state = state;
  $<HTMLButtonElement>("generate").disabled = false;
  $<HTMLButtonElement>("gen-stop").disabled = true;
}

function loadModel(source: { url: string; bytes?: ArrayBuffer }): void {
  modelSource = source;
  model = null;
  digitsPanel.dataset.model = "loading";
  $("model-status").textContent = `loading ${source.url}…`;
  // bytes are copied, not transferred: they are kept to reload after a stop
  send(digits, { type: "load", url: source.url, bytes: source.bytes?.slice(0) });
}

$("model-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const raw = $<HTMLInputElement>("model-url").value.trim();
  if (!raw) return showError("Model URL is empty: give the URL of a .safetensors model (the default is models/mnist.safetensors).");
  loadModel({ url: new URL(raw, location.href).href });
});

$<HTMLInputElement>("model-file").addEventListener("change", async (e) => {
  const file = (e.target as HTMLInputElement).files?.[0];
  if (file) loadModel({ url: file.name, bytes: await file.arrayBuffer() });
});

$("gen-form").addEventListener("submit", (e) => {
  e.preventDefault();
  let req: GenerateRequest;
  try {
    const digit = $<HTMLSelectElement>("digit").value;
    req = {
      type: "generate",
      id: ++genId,
      sampler: $<HTMLSelectElement>("sampler").value,
      steps: readInt("steps", "Steps", 1, 200),
      seed: readInt("seed", "Seed", 0, Number.MAX_SAFE_INTEGER),
      guidance: readNumber("guidance", "Guidance", 0, 20),
      digit: digit === "all" ? "all" : Number(digit),
      count: readInt("count", "Count", 1, 16),
    };
    if (!modelSource) throw new InputError("No model is loaded: load one first (the default is models/mnist.safetensors).");
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    showError(err.message);
    digitsPanel.dataset.state = "error";
    return;
  }
  clearError();
  lastGen = req;
  hooks.samples = null;
  hooks.previews = 0;
  genStart = performance.now();
  digitsPanel.dataset.state = "busy";
  $<HTMLButtonElement>("generate").disabled = true;
  $<HTMLButtonElement>("gen-stop").disabled = false;
  $("gen-status").textContent = "starting…";
  send(digits, req);
});

$("gen-stop").addEventListener("click", () => {
  // A sampler runs to its end inside the worker: stopping it means ending the worker. A new one
  // starts and reloads the model.
  genId++;
  digits.worker?.terminate();
  digits.worker = null;
  $("gen-status").textContent = `stopped after ${((performance.now() - genStart) / 1000).toFixed(1)} s`;
  genDone("stopped");
  if (modelSource) loadModel(modelSource);
});

// ---- toy panel ----------------------------------------------------------------------------------

const toyPanel = $("toy-panel");
let trainId = 0;
let trainReq: TrainRequest | null = null;
let toyData: Float32Array | null = null;
let toySamples: Float32Array | null = null;
let losses: number[] = [];

const toy: Panel = {
  name: "toy",
  worker: null,
  onReply: (r) => {
    if (onReady(r)) return;
    if ("id" in r && r.id !== undefined && r.id !== trainId) return;
    switch (r.type) {
      case "data":
        toyData = r.points;
        drawScatter($<HTMLCanvasElement>("scatter"), toyData, null);
        return;
      case "scatter":
        toySamples = r.points;
        drawScatter($<HTMLCanvasElement>("scatter"), toyData, toySamples);
        toyPanel.dataset.plotted = String(r.step);
        hooks.scatters.push({ step: r.step, points: r.points });
        return;
      case "progress": {
        for (const v of r.losses) losses.push(v);
        drawLoss($<HTMLCanvasElement>("loss"), losses, r.steps);
        const p = $<HTMLProgressElement>("train-progress");
        p.max = r.steps;
        p.value = r.step;
        const recent = losses.slice(-50);
        const mean = recent.reduce((a, b) => a + b, 0) / recent.length;
        $("train-status").textContent = `step ${r.step} of ${r.steps} · loss ${mean.toFixed(4)} (mean of the last ${recent.length}) · ${r.itPerSec.toFixed(0)} steps/s`;
        return;
      }
      case "trained":
        $("train-status").textContent += ` · ${r.stopped ? "stopped" : "done"} in ${(r.ms / 1000).toFixed(1)} s`;
        trainDone(r.stopped ? "stopped" : "done");
        return;
      case "error":
        showError(`Error while ${r.what}: ${r.message}`);
        trainDone("error");
        return;
    }
  },
  onFailure: () => trainDone("error"),
};

function trainDone(state: "done" | "error" | "stopped"): void {
  toyPanel.dataset.state = state;
  $<HTMLButtonElement>("train").disabled = false;
  $<HTMLButtonElement>("train-stop").disabled = true;
}

$("train-form").addEventListener("submit", (e) => {
  e.preventDefault();
  try {
    trainReq = {
      type: "train",
      id: ++trainId,
      toy: $<HTMLSelectElement>("toy").value,
      steps: readInt("train-steps", "Training steps", 1, 20000),
      batch: readInt("batch", "Batch", 1, 1024),
      lr: readNumber("lr", "Learning rate", 0, 0.1, true),
      seed: readInt("train-seed", "Training seed", 0, Number.MAX_SAFE_INTEGER),
      points: 600,
      plotEvery: 100,
    };
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    showError(err.message);
    toyPanel.dataset.state = "error";
    return;
  }
  clearError();
  losses = hooks.losses = [];
  hooks.scatters = [];
  toyData = toySamples = null;
  drawLoss($<HTMLCanvasElement>("loss"), losses, trainReq.steps);
  toyPanel.dataset.state = "busy";
  delete toyPanel.dataset.plotted;
  $<HTMLButtonElement>("train").disabled = true;
  $<HTMLButtonElement>("train-stop").disabled = false;
  $("train-status").textContent = "starting…";
  send(toy, trainReq);
});

$("train-stop").addEventListener("click", () => send(toy, { type: "stop" }));

// ---- start --------------------------------------------------------------------------------------


/** An empty image canvas: dark, with a hint where the digits will appear. */
function placeholder(id: string, text: string): void {
  const c = $<HTMLCanvasElement>(id);
  const ctx = c.getContext("2d")!;
  ctx.fillStyle = "#282828";
  ctx.fillRect(0, 0, c.width, c.height);
  ctx.fillStyle = "#adb5bd";
  ctx.font = "14px system-ui, sans-serif";
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.fillText(text, c.width / 2, c.height / 2);
}
placeholder("digits", "press Generate: the x₀ preview appears here step by step");
placeholder("noisy", "the noisy x");
drawScatter($<HTMLCanvasElement>("scatter"), null, null);
drawLoss($<HTMLCanvasElement>("loss"), [], 1);
const params = new URLSearchParams(location.search);
const initialModel = params.get("model");
if (initialModel) $<HTMLInputElement>("model-url").value = initialModel;
startWorker(toy);
loadModel({ url: new URL($<HTMLInputElement>("model-url").value.trim(), location.href).href });
