// `sample --resume`: a long sampling run keeps its state beside the output (OUT.state.json) after every
// step and continues from it when run again with the same command. The state is generateSteps' paused
// state (the items' current values and each chunk's sampler carry, JSON-safe), written atomically, and
// tagged with a hash of everything that determines the run (the model file, the request, the images),
// so a state is never continued with other settings: it is refused by name instead.
import { createHash } from "node:crypto";
import { existsSync, unlinkSync } from "node:fs";
import type { GenerateOptions, GenerationState } from "../generate.ts";
import { ArgumentError } from "../validate.ts";
import { readInput, writeOutput } from "./files.ts";

const FORMAT = "edge-diffusion.sample-state";
const VERSION = 1;

interface StateFile {
  format: typeof FORMAT;
  version: typeof VERSION;
  /** Hash of the model and request this state belongs to. */
  run: string;
  /** Steps of the whole run, and the next one to run. */
  steps: number;
  step: number;
  /** Items' current values: Float32Array bytes (little-endian), base64. */
  x: string;
  carries: GenerationState["carries"];
}

/** Where the state of a run writing `out` lives. */
export function statePath(out: string): string {
  return `${out}.state.json`;
}

/** A hash of everything that decides a run's bytes: the model file and the request (images included). */
export function runKey(modelBytes: Uint8Array, req: Omit<GenerateOptions, "onStep">): string {
  const h = createHash("sha256").update(modelBytes);
  const arr = (a: Float32Array | undefined) => (a ? createHash("sha256").update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest("hex") : null);
  const { count, steps, sampler, seed, label, guidance, chunk, init, inpaint } = req;
  h.update(
    JSON.stringify({
      count,
      steps,
      sampler: inpaint ? null : sampler,
      seed,
      label,
      guidance,
      chunk: chunk ?? null,
      init: init ? { image: arr(init.image), strength: init.strength } : null,
      inpaint: inpaint ? { image: arr(inpaint.image), mask: arr(inpaint.mask), resample: inpaint.resample ?? 1 } : null,
    }),
  );
  return h.digest("hex");
}

/** The saved state of this run, or null when there is none; a state of another run is an error. */
export function loadState(path: string, run: string): { state: GenerationState; steps: number } | null {
  if (!existsSync(path)) return null;
  let s: StateFile;
  try {
    s = JSON.parse(new TextDecoder().decode(readInput("--resume", path))) as StateFile;
  } catch (e) {
    if (e instanceof ArgumentError) throw e;
    throw new ArgumentError("--resume", `${path} is not a sampling state (${(e as Error).message}); delete it to start over`);
  }
  if (s?.format !== FORMAT || s.version !== VERSION || typeof s.x !== "string" || !Array.isArray(s.carries)) {
    throw new ArgumentError("--resume", `${path} is not a sampling state of this version; delete it to start over`);
  }
  if (s.run !== run) {
    throw new ArgumentError("--resume", `${path} belongs to another run (a different model, image or option such as --count, --steps, --seed, --label); use that run's options, or delete it to start over`);
  }
  const bytes = Buffer.from(s.x, "base64");
  const x = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength - (bytes.byteLength % 4)));
  return { state: { step: s.step, x, carries: s.carries }, steps: s.steps };
}

/** Write the state atomically (a kill mid-write leaves the previous state). */
export function saveState(path: string, run: string, state: GenerationState, steps: number): void {
  const x = Buffer.from(state.x.buffer, state.x.byteOffset, state.x.byteLength).toString("base64");
  const file: StateFile = { format: FORMAT, version: VERSION, run, steps, step: state.step, x, carries: state.carries };
  writeOutput(path, new TextEncoder().encode(JSON.stringify(file)));
}

export function removeState(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* already gone */
  }
}
