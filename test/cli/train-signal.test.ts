// Ctrl-C stops `train` (issue 14, point 1): a real SIGINT to the built CLI in a child process, sent when
// the child's own progress line shows it training (never on a timer, so it means the same on a loaded
// machine). The child stops within a bounded number of steps, writes a checkpoint at or after the
// observed step, says on one line how to resume, exits 130; running that line finishes the run with
// the bytes of a run never interrupted. A second Ctrl-C while it stops waits for the checkpoint.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { unpackCheckpoint } from "../../src/io/checkpoint.ts";
import { readSafetensors } from "../../src/io/safetensors.ts";

const dir = mkdtempSync(join(tmpdir(), "ed-sigint-"));
// 1500 steps: the non-terminal progress prints every 10 %, i.e. every 150 steps
const STEPS = 1500;
const args = (name: string, every = 100) => ["dist/cli.js", "train", "--dataset", "moons", "--steps", String(STEPS), "--seed", "4", "--checkpoint-every", String(every), "--out", join(dir, `${name}.safetensors`)];

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  /** Highest step shown by a progress line before the first SIGINT was sent. */
  seen: number;
}

/** Run the CLI and send `sigints` SIGINTs back to back once a progress line shows a step >= `atStep`. */
function interrupt(argv: string[], atStep: number, sigints: number): Promise<Ended> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, argv, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    let seen = -1;
    let sent = false;
    p.stderr.setEncoding("utf8");
    p.stderr.on("data", (chunk: string) => {
      stderr += chunk;
      if (sent) return;
      for (const m of stderr.matchAll(/training (\d+)\/\d+/g)) seen = Math.max(seen, Number(m[1]));
      if (seen >= atStep) {
        sent = true;
        for (let i = 0; i < sigints; i++) p.kill("SIGINT");
      }
    });
    p.on("exit", (code, signal) => resolve({ code, signal, stderr, seen }));
  });
}

const tensors = (path: string) => readSafetensors(new Uint8Array(readFileSync(path))).tensors;

describe("Ctrl-C during train", () => {
  it("stops within a bounded number of steps, checkpoints, prints the resume command, exits 130; resuming gives the uninterrupted bytes", async () => {
    const straight = spawnSync(process.execPath, args("straight"), { encoding: "utf8" });
    expect(straight.stderr.slice(-300) + straight.status).toMatch(/0$/);

    const r = await interrupt(args("stopped"), 150, 1);
    expect(r.seen).toBeGreaterThanOrEqual(150);
    expect(r.signal).toBeNull();
    expect(r.code).toBe(130);
    const ck = unpackCheckpoint(new Uint8Array(readFileSync(join(dir, "stopped.ckpt.safetensors"))));
    const step = ck.meta.step as number;
    // it stopped at a step boundary at or after the progress it showed, long before the end: a
    // synchronous loop would only have heard the signal after step 1500 (and exited 0)
    expect(step).toBeGreaterThanOrEqual(r.seen);
    expect(step).toBeLessThan(r.seen + 600);
    expect(existsSync(join(dir, "stopped.safetensors"))).toBe(false); // no half-trained model file
    const lines = r.stderr.split("\n").filter((l) => l.includes("resume with: "));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`interrupted at step ${step} of ${STEPS}`);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace

    // the printed command, run as printed (with this node), finishes the run
    const cmd = lines[0].slice(lines[0].indexOf("resume with: ") + 13);
    expect(cmd).toMatch(/^node dist\/cli\.js train .*--resume$/);
    const fin = spawnSync("sh", ["-c", cmd.replace(/^node /, `'${process.execPath}' `)], { encoding: "utf8" });
    expect(fin.stderr.slice(-300) + fin.status).toMatch(/0$/);
    const a = tensors(join(dir, "straight.safetensors"));
    const b = tensors(join(dir, "stopped.safetensors"));
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
    for (const [k, t] of Object.entries(a)) expect(Buffer.from(b[k].data.buffer).equals(Buffer.from(t.data.buffer))).toBe(true);
    const ca = unpackCheckpoint(new Uint8Array(readFileSync(join(dir, "straight.ckpt.safetensors"))));
    const cb = unpackCheckpoint(new Uint8Array(readFileSync(join(dir, "stopped.ckpt.safetensors"))));
    for (const mv of ["m", "v"] as const) {
      for (const [k, t] of Object.entries(ca.adam![mv])) expect(Buffer.from(cb.adam![mv][k].data.buffer).equals(Buffer.from(t.data.buffer))).toBe(true);
    }
  });

  it("a second Ctrl-C while stopping waits for the checkpoint instead of losing the steps since the last one", async () => {
    // no periodic checkpoint before step 1000: a checkpoint at the stop proves the second signal waited
    const r = await interrupt(args("twice", 1000), 150, 2);
    expect(r.code).toBe(130);
    const ck = unpackCheckpoint(new Uint8Array(readFileSync(join(dir, "twice.ckpt.safetensors"))));
    const step = ck.meta.step as number;
    expect(step).toBeGreaterThanOrEqual(r.seen);
    expect(step).toBeLessThan(1000);
    expect(r.stderr).toContain(`interrupted at step ${step} of ${STEPS}`);
  });
});
