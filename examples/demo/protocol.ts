// Messages between the page (main.ts) and its compute workers (worker.ts). Typed arrays are transferred,
// not copied. Every request that can fail answers with an "error" message naming what failed.

export interface GenerateRequest {
  type: "generate";
  id: number;
  sampler: string;
  steps: number;
  seed: number;
  /** A class 0-9, or "all" (item i gets class i mod 10). */
  digit: number | "all";
  count: number;
  guidance: number;
}

export interface TrainRequest {
  type: "train";
  id: number;
  toy: string;
  steps: number;
  batch: number;
  lr: number;
  seed: number;
  /** Points drawn for the scatter plot. */
  points: number;
  /** Redraw the scatter every this many training steps. */
  plotEvery: number;
}

export type Request =
  | { type: "init" }
  /** Load a model from a URL (fetched by the worker) or from bytes (a local file; `url` names it). */
  | { type: "load"; url: string; bytes?: ArrayBuffer }
  | GenerateRequest
  | TrainRequest
  | { type: "stop" };

export interface ModelInfo {
  url: string;
  bytes: number;
  numClasses: number;
  itemShape: number[];
  parameters: number;
  /** Training steps recorded in the file, if any. */
  trainedSteps: number | null;
  sigmaMin: number;
  sigmaMax: number;
  /** Threads sampling runs on (helpers when the page is crossOriginIsolated). */
  threads: number;
}

/** The library's SAMPLING_DEFAULTS that the digits form starts from (the CLI's defaults too). */
export interface SamplingFormDefaults {
  sampler: string;
  steps: number;
  guidance: number;
  seed: number;
}

export type Reply =
  | { type: "ready"; backend: string; samplers: string[]; toys: string[]; defaults: SamplingFormDefaults }
  | { type: "model"; info: ModelInfo }
  | { type: "step"; id: number; step: number; steps: number; sigma: number; x: Float32Array; denoised: Float32Array }
  | { type: "done"; id: number; samples: Float32Array; shape: number[]; labels: number[]; ms: number }
  | { type: "data"; id: number; points: Float32Array }
  | { type: "progress"; id: number; step: number; steps: number; losses: Float64Array; itPerSec: number }
  | { type: "scatter"; id: number; step: number; points: Float32Array }
  | { type: "trained"; id: number; step: number; stopped: boolean; ms: number }
  | { type: "error"; id?: number; what: string; message: string };
