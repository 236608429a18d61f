// Every file the CLI writes (PNG grids, raw safetensors samples, models, training checkpoints) goes
// through one function: the parent folder is created on demand (`--out out/x.png` works in a fresh
// checkout) and the bytes land through the library's atomic writer, so an interrupted command never
// leaves a half-written file behind.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { writeFileAtomic } from "../node/files.ts";

/** Write `bytes` to `path` atomically, creating its folder first. */
export function writeOutput(path: string, bytes: Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, bytes);
}
