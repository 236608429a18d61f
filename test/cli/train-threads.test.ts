// `train --threads` (issue 15, item 2): the CLI trains an image model on worker threads with the same
// bytes as on one thread; the shard count is recorded, so a resume with other shards is refused.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readSafetensors } from "../../src/io/safetensors.ts";

/** The weights of a model file (its metadata holds the command line and the time taken, which differ). */
const weights = (name: string) => {
  const f = readSafetensors(new Uint8Array(readFileSync(join(dir, `${name}.safetensors`))));
  return Buffer.concat(Object.keys(f.tensors).sort().map((k) => {
    const d = f.tensors[k].data;
    return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  }));
};

const dir = mkdtempSync(join(tmpdir(), "ed-train-threads-"));
const train = (name: string, ...extra: string[]) =>
  spawnSync(
    process.execPath,
    ["dist/cli.js", "train", "--dataset", "mnist", "--preset", "mnist-tiny", "--steps", "3", "--batch", "8", "--warmup", "0", "--seed", "2", "--out", join(dir, `${name}.safetensors`), ...extra],
    { encoding: "utf8" },
  );

describe("train --threads", () => {
  it("one thread and two threads write byte-identical models (8 gradient shards by default for images)", () => {
    const one = train("one", "--threads", "1");
    expect(one.status, one.stderr).toBe(0);
    const two = train("two", "--threads", "2");
    expect(two.status, two.stderr).toBe(0);
    expect(weights("two").equals(weights("one"))).toBe(true);
    // other shards, other bytes: the comparison above could fail
    const four = train("four", "--threads", "2", "--shards", "4");
    expect(four.status, four.stderr).toBe(0);
    expect(weights("four").equals(weights("one"))).toBe(false);
  }, 300_000);

  it("resuming with another --shards than the checkpoint's is one line naming the flag", () => {
    const first = train("resume-me", "--threads", "1", "--steps", "2");
    expect(first.status, first.stderr).toBe(0);
    const r = train("resume-me", "--threads", "1", "--shards", "2", "--steps", "4", "--resume");
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(/^edge-diffusion train: --shards: is 2 but the checkpoint .* was trained with 8; resume with the same settings \(see 'edge-diffusion train --help'\)$/);
  }, 120_000);
});
