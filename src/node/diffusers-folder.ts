// Read a diffusers folder from disk into the file map src/diffusers/ works on. Only the files the loader
// uses are read (JSON configs and safetensors); a pickle is listed by name, never read, so the loader can
// refuse it with a message instead of us reading a gigabyte first.

import { readdirSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { wantedFile, type DiffusersFiles } from "../diffusers/layout.ts";
// the library through ../index.ts (kept external by the Node bundle): one copy of the kernels' state
import { loadDiffusers as loadDiffusersFiles, type DiffusersPipeline } from "../index.ts";
import { ArgumentError } from "../validate.ts";
import { readFileBytes } from "./files.ts";

/** The subfolders of a pipeline we look into (the rest of a pipeline is not ours to read). */
const SUBFOLDERS = ["", "unet/", "scheduler/"];

/**
 * The diffusers files under `path`: a pipeline folder, a model folder, or a file inside one (its
 * folder is used). Names are relative ("unet/config.json").
 */
export function readDiffusersFolder(path: string, maxFileBytes = 2 ** 31 - 1): Map<string, Uint8Array> {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new ArgumentError("model", `${path} does not exist`);
  }
  let root = path;
  if (st.isFile()) {
    root = dirname(path);
    // a file in unet/ of a pipeline: take the pipeline
    if (basename(root) === "unet" && safeIsFile(join(root, "..", "model_index.json"))) root = dirname(root);
  }
  const out = new Map<string, Uint8Array>();
  for (const sub of SUBFOLDERS) {
    let names: string[];
    try {
      names = readdirSync(join(root, sub));
    } catch {
      continue;
    }
    for (const n of names) {
      const rel = sub + n;
      if (!wantedFile(rel) || !safeIsFile(join(root, rel))) continue;
      out.set(rel, /\.(safetensors|json)$/.test(n) ? readFileBytes(join(root, rel), maxFileBytes) : new Uint8Array(0));
    }
  }
  if (out.size === 0) throw new ArgumentError("model", `${path} holds no diffusers files (config.json, diffusion_pytorch_model.safetensors)`);
  return out;
}

function safeIsFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * loadDiffusers for Node: `source` is a folder path (a pipeline or model folder, or a file inside one)
 * or, as in every runtime, a map from relative file names to bytes.
 */
export function loadDiffusers(source: string | DiffusersFiles): DiffusersPipeline {
  return loadDiffusersFiles(typeof source === "string" ? readDiffusersFolder(source) : source);
}
