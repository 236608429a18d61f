// Every file the CLI writes (PNG grids, raw safetensors samples, models, training checkpoints) goes
// through one function: the parent folder is created on demand (`--out out/x.png` works in a fresh
// checkout) and the bytes land through the library's atomic writer, so an interrupted command never
// leaves a half-written file behind. Destinations are checked before any work (checkWritable) and
// inputs are read with one-line errors (readInput), so a careless path costs the user no time and shows
// no stack trace.
import { closeSync, existsSync, mkdirSync, openSync, statSync, unlinkSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { readFileBytes, writeFileAtomic } from "../node/files.ts";
import { ArgumentError } from "../validate.ts";

/** Write `bytes` to `path` atomically, creating its folder first. */
export function writeOutput(path: string, bytes: Uint8Array): void {
  makeFolders(dirname(path));
  writeFileAtomic(path, bytes);
}

/**
 * mkdir -p, one level at a time from the nearest existing folder down. Node 20's
 * mkdirSync(dir, { recursive: true }) never returns for a missing folder under /proc (it retries its
 * ENOENT forever), so the recursive form cannot be trusted with a careless path.
 */
export function makeFolders(dir: string): void {
  const missing: string[] = [];
  for (let d = resolve(dir); ; d = dirname(d)) {
    if (existsSync(d)) break;
    missing.push(d);
    if (dirname(d) === d) break;
  }
  for (let i = missing.length - 1; i >= 0; i--) mkdirSync(missing[i]);
}

/** A node file-system error's code (ENOENT, EACCES, ...), or undefined for anything else. */
export function fsErrorCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^E[A-Z]+$/.test(code) ? code : undefined;
}

/** A node file-system error in words a user acts on, without the syscall noise. */
export function fsReason(e: unknown): string {
  switch (fsErrorCode(e)) {
    case "ENOENT":
      return "no such file or folder";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EROFS":
      return "the file system is read-only";
    case "EISDIR":
      return "it is a folder, not a file";
    case "ENOTDIR":
    case "EEXIST":
      return "a part of the path is a file, not a folder";
    case "ENOSPC":
      return "no space left on the device";
    case "ENAMETOOLONG":
      return "the name is too long";
    default:
      return (e as Error)?.message ?? String(e);
  }
}

/**
 * Check that `path` can be written, before any work is spent on its content: create its folder (as
 * writeOutput would) and create and remove a probe file beside it, which catches a missing or
 * read-only folder, a path under a file, a pseudo file system (/proc) and a full disk's ENOSPC on
 * create. Throws an ArgumentError naming `arg` (the flag, e.g. "--out"). Used by sample, img2img,
 * inpaint, forward and train (--out, --checkpoint).
 */
export function checkWritable(arg: string, path: string): void {
  const fail = (what: string, e: unknown): never => {
    throw new ArgumentError(arg, `cannot write ${path}: ${what}${fsErrorCode(e) ? ` (${fsErrorCode(e)})` : ""}`);
  };
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    /* absent: the usual case */
  }
  if (isDir) throw new ArgumentError(arg, `cannot write ${path}: it is a folder; give a file name`);
  const dir = dirname(path);
  try {
    makeFolders(dir);
  } catch (e) {
    fail(`cannot create its folder ${dir}: ${fsReason(e)}`, e);
  }
  const probe = join(dir, `.edge-diffusion-probe.${process.pid}.${Date.now().toString(36)}.tmp`);
  try {
    closeSync(openSync(probe, "wx", 0o644));
  } catch (e) {
    fail(`cannot create files in ${dir}: ${fsReason(e)}`, e);
  }
  try {
    unlinkSync(probe);
  } catch {
    /* removed by someone else: nothing left behind either way */
  }
}

/** Read an input file (a model, an image, a mask), with a one-line error naming `arg` when it cannot be read. */
export function readInput(arg: string, path: string): Uint8Array {
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch (e) {
    throw new ArgumentError(arg, `cannot read ${path}: ${fsReason(e)}`);
  }
  if (isDir) throw new ArgumentError(arg, `cannot read ${path}: it is a folder, not a file`);
  try {
    return readFileBytes(path);
  } catch (e) {
    if (e instanceof ArgumentError) throw new ArgumentError(arg, e.message.slice(e.arg.length + 2));
    throw new ArgumentError(arg, `cannot read ${path}: ${fsReason(e)}`);
  }
}
