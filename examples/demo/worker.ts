// The demo's compute worker: loads the library's WASM SIMD kernels, then samples digits from the shipped
// model or trains a 2-D toy model, posting previews and progress so the page only draws. The page runs
// two instances (digits and toy), so both panels can work at once on two cores.
//
// Sampling mirrors the library's generate() (same noise streams, one chunk of <= 16 items), so the
// digits equal `edge-diffusion sample` for the same settings; the sampler is called directly to get
// its onStep x0 preview.
import {
  AdamW,
  DEFAULT_MLP,
  EMA,
  Rng,
  SAMPLER_NAMES,
  SAMPLING_DEFAULTS,
  ScoreMLP,
  TOY_NAMES,
  edmPreconditioner,
  getSampler,
  guidedDenoiser,
  initKernels,
  initialNoise,
  karrasSigmas,
  loadModel,
  networkDenoiser,
  parallelModelWith,
  sampleDpmpp2m,
  toyData,
  trainAsync,
  useKernels,
  type LoadedModel,
  type LossConfig,
  type ParallelModel,
  type WorkerHandle,
  type WorkerInit,
} from "edge-diffusion";
import type { GenerateRequest, Reply, Request, TrainRequest } from "./protocol.ts";

const scope = self as unknown as { postMessage(m: Reply, transfer?: Transferable[]): void; onmessage: ((e: MessageEvent<Request>) => void) | null };
const post = (m: Reply, transfer: Transferable[] = []) => scope.postMessage(m, transfer);

let model: ParallelModel | null = null;
let ready: Promise<void> | null = null;
let stopRequested = false;
/** Aborts the training run in progress: trainAsync yields after every step, so this is heard within one. */
let stopTraining = new AbortController();
/** Training runs started; a run stops when a newer one starts. */
let trainRuns = 0;

/** One line for the page: the error's name when it says something (ArgumentError, SafetensorsError...). */
function describe(err: unknown): string {
  if (err instanceof Error) return err.name && err.name !== "Error" ? `${err.name}: ${err.message}` : err.message;
  return String(err);
}

function init(): Promise<void> {
  ready ??= initKernels().then((k) => {
    useKernels(k);
    const { sampler, steps, guidance, seed } = SAMPLING_DEFAULTS;
    post({ type: "ready", backend: k.backend, samplers: [...SAMPLER_NAMES], toys: [...TOY_NAMES], defaults: { sampler, steps, guidance, seed } });
  });
  return ready;
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (err) {
    throw new Error(`could not fetch the model ${url}: ${describe(err)}`);
  }
  if (!res.ok) throw new Error(`could not fetch the model ${url}: HTTP ${res.status} ${res.statusText}`.trim());
  return new Uint8Array(await res.arrayBuffer());
}

/** A helper thread for the parallel denoiser (parallel-worker.ts), resolved once it is ready. */
function spawnHelper(init: WorkerInit): Promise<WorkerHandle> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL("./parallel-worker.js", import.meta.url), { type: "module", name: `digits-helper-${init.index}` });
    let exit!: () => void;
    const exited = new Promise<void>((r) => (exit = r));
    w.onmessage = (e: MessageEvent<{ ready?: boolean; error?: string; exited?: boolean }>) => {
      if (e.data.exited) return exit();
      if (e.data.ready) resolve({ terminate: () => (w.terminate(), exit()), exited });
      else reject(new Error(`helper thread ${init.index}: ${e.data.error}`));
    };
    w.onerror = (e) => {
      e.preventDefault();
      reject(new Error(`helper thread ${init.index} failed to start: ${e.message || "is parallel-worker.js served?"}`));
    };
    w.postMessage(init);
  });
}

/**
 * Threads for sampling: every core when the page is crossOriginIsolated (SharedArrayBuffer and
 * Atomics.wait in workers), else this worker alone. The toy panel's worker takes one core of its own
 * while it trains; the operating system shares them out.
 */
function threadCount(): number {
  const iso = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true && typeof SharedArrayBuffer === "function";
  return iso ? Math.max(1, Math.min(8, navigator.hardwareConcurrency || 1)) : 1;
}

/** Loads started; only the newest may install its model (an older one that finishes late is closed). */
let loads = 0;

async function load(url: string, given?: ArrayBuffer): Promise<void> {
  const mine = ++loads;
  await init();
  const previous = model;
  model = null;
  await previous?.close();
  const bytes = given ? new Uint8Array(given) : await fetchBytes(url);
  let m: LoadedModel;
  try {
    m = loadModel(bytes);
  } catch (err) {
    throw new Error(`${url} (${bytes.length} bytes) is not a model file: ${describe(err)}`);
  }
  if (m.itemShape.length !== 3 || m.itemShape[0] !== 1) {
    throw new Error(`${url} is a model of [${m.itemShape.join(", ")}] items; this panel draws one-channel images (an MNIST model)`);
  }
  let threads = threadCount();
  let parallel: ParallelModel;
  try {
    parallel = await parallelModelWith(bytes, spawnHelper, { threads });
  } catch (err) {
    // no helper threads (a browser without nested workers, say): sample on this worker alone
    console.warn(`sampling on one thread: ${describe(err)}`);
    threads = 1;
    parallel = await parallelModelWith(bytes, spawnHelper, { threads: 1 });
  }
  if (mine !== loads) {
    // a newer load started while this one was starting threads: it wins
    await parallel.close();
    return;
  }
  model = parallel;
  let parameters = 0;
  for (const t of m.net.parameters().values()) parameters += t.size;
  const steps = m.info.steps;
  post({
    type: "model",
    info: {
      url,
      bytes: bytes.length,
      numClasses: m.numClasses,
      itemShape: m.itemShape,
      parameters,
      trainedSteps: typeof steps === "number" ? steps : null,
      sigmaMin: m.precond.sigmaMin,
      sigmaMax: m.precond.sigmaMax,
      threads,
    },
  });
}

async function generate(r: GenerateRequest): Promise<void> {
  await init();
  if (!model) throw new Error("no model is loaded: load one first (the default is models/mnist.safetensors)");
  const m = model;
  const t0 = performance.now();
  const N = r.count;
  const D = m.itemShape.reduce((a, b) => a * b, 1);
  const K = m.numClasses;
  let labels: Int32Array | undefined;
  if (K > 0) {
    if (r.digit !== "all" && !(Number.isInteger(r.digit) && r.digit >= 0 && r.digit < K)) throw new Error(`digit must be "all" or 0-${K - 1}, got ${r.digit}`);
    labels = Int32Array.from({ length: N }, (_, i) => (r.digit === "all" ? i % K : (r.digit as number)));
  }
  const sigmas = karrasSigmas(r.steps, m.precond.sigmaMin, m.precond.sigmaMax);
  const rng = new Rng(r.seed);
  const sampler = getSampler(r.sampler);
  const denoiser = labels && r.guidance !== 1 ? guidedDenoiser(m.denoiser(), labels, r.guidance) : m.denoiser(labels);
  const x0 = initialNoise(rng, N, D, sigmas[0], 0);
  const { x: y } = sampler(denoiser, x0, sigmas, {
    batch: N,
    firstItem: 0,
    rng: rng.stream("sampler"),
    onStep: (e) => {
      // copies: the sampler may reuse its buffers
      const x = e.x.slice();
      const denoised = e.denoised.slice();
      post({ type: "step", id: r.id, step: e.step, steps: e.steps, sigma: e.sigma, x, denoised }, [x.buffer, denoised.buffer]);
    },
  });
  const samples = Float32Array.from(y, (v) => Math.max(-1, Math.min(1, v)));
  post({ type: "done", id: r.id, samples, shape: [N, ...m.itemShape], labels: labels ? [...labels] : [], ms: performance.now() - t0 }, [samples.buffer]);
}

const nextTask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** Train a score MLP on a 2-D toy in chunks of steps (a plot after each); "stop" is heard within a step. */
async function trainToy(r: TrainRequest): Promise<void> {
  await init();
  stopRequested = false;
  stopTraining.abort(); // a new run ends the one before
  stopTraining = new AbortController();
  const signal = stopTraining.signal;
  const run = ++trainRuns;
  const t0 = performance.now();
  const N = 8192;
  const data = toyData(r.toy, N, new Rng(r.seed).stream("dataset"));
  const shown = data.slice(0, 2 * Math.min(N, r.points));
  post({ type: "data", id: r.id, points: shown }, [shown.buffer]);
  // the CLI's "toy" preset: EDM preconditioning for data of unit scale, lognormal noise levels
  const config = { ...DEFAULT_MLP };
  const precond = edmPreconditioner(1, 0.002, 40);
  const loss: LossConfig = { sigmas: { kind: "lognormal", pMean: -1.2, pStd: 1.2 }, weighting: { kind: "simple" }, labelDropout: 0 };
  const net = new ScoreMLP(config).initialize(r.seed);
  const adamOpts = { lr: r.lr, clip: 1, warmup: 20 };
  const adam = new AdamW(net.parameters(), adamOpts);
  const ema = new EMA(net.parameters(), 0.99);
  const evalNet = new ScoreMLP(config);
  const sigmas = karrasSigmas(16, precond.sigmaMin, precond.sigmaMax);
  const plot = (step: number) => {
    // the same starting noise every time, so the plot shows the model changing, not the noise
    evalNet.loadParameters(ema.shadow);
    const x = initialNoise(new Rng(r.seed).stream("plot"), r.points, 2, sigmas[0]);
    const points = sampleDpmpp2m(networkDenoiser(evalNet, precond, [2]), x, sigmas, { batch: r.points }).x;
    post({ type: "scatter", id: r.id, step, points }, [points.buffer]);
  };
  plot(0);
  await nextTask();
  const chunk = Math.max(1, Math.min(25, r.plotEvery));
  const stopped = () => stopRequested || run !== trainRuns;
  while (adam.step < r.steps && !stopped()) {
    const target = Math.min(r.steps, adam.step + chunk);
    const t = performance.now();
    const before = adam.step;
    const res = await trainAsync({ net, precond, loss, data: { images: data, shape: [N, 2] }, batchSize: r.batch, steps: target, seed: r.seed, adam: adamOpts, resume: { adam, ema }, reportEvery: 1 << 30, signal });
    const losses = Float64Array.from(res.losses);
    post({ type: "progress", id: r.id, step: adam.step, steps: r.steps, losses, itPerSec: ((adam.step - before) * 1000) / Math.max(1, performance.now() - t) }, [losses.buffer]);
    if (adam.step % r.plotEvery === 0 || adam.step === r.steps) plot(adam.step);
    await nextTask();
  }
  if (stopped() && adam.step % r.plotEvery !== 0) plot(adam.step);
  post({ type: "trained", id: r.id, step: adam.step, stopped: stopped(), ms: performance.now() - t0 });
}

async function handle(req: Request): Promise<void> {
  switch (req?.type) {
    case "init":
      return init();
    case "load":
      return load(req.url, req.bytes);
    case "generate":
      return generate(req);
    case "train":
      return trainToy(req);
    case "stop":
      stopRequested = true;
      stopTraining.abort();
      return;
    default:
      throw new Error(`unknown request ${JSON.stringify((req as { type?: unknown })?.type)}`);
  }
}

const WHAT: Record<string, string> = { init: "starting the WASM kernels", load: "loading the model", generate: "generating digits", train: "training the toy model" };

scope.onmessage = (e) => {
  const req = e.data;
  handle(req).catch((err) => {
    console.error(err);
    post({ type: "error", id: (req as { id?: number })?.id, what: WHAT[req?.type] ?? "the worker", message: describe(err) });
  });
};
