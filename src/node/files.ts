// Node-only file helpers: an atomic write (a reader or a crash never sees a half-written file: the
// bytes go to a temporary file in the same directory, are fsynced, and the file is renamed over the
// target, then the directory is fsynced so the rename itself is durable), a bounded read, and
// checkpoint files built on the two. The CLI writes every file through writeFileAtomic.

import { closeSync, fsyncSync, openSync, readSync, renameSync, unlinkSync, writeSync, fstatSync } from "node:fs";
import { basename, dirname, join } from "node:path";
// The library through its index (kept external in dist/node.js): the errors thrown here are the
// classes users import from "edge-diffusion", so instanceof works across the two entry points.
import { ArgumentError, type Checkpoint, type PackOptions, packCheckpoint, type UnpackOptions, unpackCheckpoint } from "../index.ts";

let counter = 0;

/**
 * Write `bytes` to `path` atomically: afterwards `path` holds either its old content or all of `bytes`,
 * even if the process is killed or the machine loses power midway. Synchronous, so a caller cannot
 * interleave two writes to one path by accident.
 */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  if (typeof path !== "string" || path === "") throw new ArgumentError("path", "must be a non-empty string");
  if (!(bytes instanceof Uint8Array)) throw new ArgumentError("bytes", "must be a Uint8Array");
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now().toString(36)}.${(counter++).toString(36)}.tmp`);
  const fd = openSync(tmp, "wx", 0o644);
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw e;
  }
  // Make the rename durable. Not every platform can open or fsync a directory (Windows): best effort.
  try {
    const dfd = openSync(dir, "r");
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    /* directory fsync unsupported here */
  }
}

/** Default largest file readFileBytes accepts: 1 GiB. */
export const DEFAULT_MAX_FILE_BYTES = 2 ** 30;

/** Read a whole file, refusing (before allocating) files larger than `maxBytes`. */
export function readFileBytes(path: string, maxBytes = DEFAULT_MAX_FILE_BYTES): Uint8Array {
  if (typeof path !== "string" || path === "") throw new ArgumentError("path", "must be a non-empty string");
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    if (size > maxBytes) throw new ArgumentError("path", `${path} is ${size} bytes, above the limit of ${maxBytes}`);
    const out = new Uint8Array(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, out, off, size - off, off);
      if (n === 0) break; // file shrank while reading
      off += n;
    }
    return off === size ? out : out.subarray(0, off);
  } finally {
    closeSync(fd);
  }
}

/** Pack and write a checkpoint atomically. */
export function saveCheckpointFile(path: string, ckpt: Checkpoint, opts?: PackOptions): void {
  writeFileAtomic(path, packCheckpoint(ckpt, opts));
}

/** Read and validate a checkpoint file. */
export function loadCheckpointFile(path: string, opts?: UnpackOptions & { maxFileBytes?: number }): Checkpoint {
  return unpackCheckpoint(readFileBytes(path, opts?.maxFileBytes), opts);
}
