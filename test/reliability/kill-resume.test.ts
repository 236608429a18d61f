// Crash safety of training: SIGKILL the CLI at seeded points of its observed progress, including while it writes its
// checkpoint; after every kill the checkpoint on disk loads, and resuming until the end gives the same
// model, bit for bit, as a run that was never interrupted (weights, Adam moments, EMA, RNG position).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { unpackCheckpoint } from "../../src/io/checkpoint.ts";
import { Rng } from "../../src/rng.ts";

const dir = mkdtempSync(join(tmpdir(), "ed-kill-"));
const STEPS = 200;
const args = (name: string) => ["dist/cli.js", "train", "--dataset", "moons", "--steps", String(STEPS), "--batch", "64", "--checkpoint-every", "4", "--seed", "11", "--out", join(dir, `${name}.safetensors`), "--resume"];

/**
 * Run training and SIGKILL it once its progress lines ("training N/200 ...") show step >= `atStep`,
 * `delayMs` after that line: the kill is tied to observed progress, not to a clock started at spawn, so
 * it means the same on a busy machine (issue 14, point 17). Resolves with how the child ended.
 */
function runUntilKilled(name: string, atStep: number, delayMs: number): Promise<{ killed: boolean; seen: number }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, args(name), { stdio: ["ignore", "ignore", "pipe"] });
    let seen = -1;
    let buf = "";
    let armed = false;
    p.stderr.setEncoding("utf8");
    p.stderr.on("data", (chunk: string) => {
      buf += chunk;
      for (const m of buf.matchAll(/training (\d+)\/\d+/g)) seen = Math.max(seen, Number(m[1]));
      buf = buf.slice(buf.lastIndexOf("\n") + 1);
      if (seen >= atStep && !armed) {
        armed = true;
        setTimeout(() => p.kill("SIGKILL"), delayMs);
      }
    });
    p.on("exit", (_code, signal) => resolve({ killed: signal === "SIGKILL", seen }));
  });
}

describe("training survives SIGKILL", () => {
  it("after each of 8 kills the last checkpoint loads, and resuming reproduces the uninterrupted run bit for bit", async () => {
    const straight = spawnSync(process.execPath, args("straight"), { encoding: "utf8" });
    expect(straight.status).toBe(0);
    const u = new Rng(20261126).uniform(new Float64Array(16));
    let lastStep = -1;
    let kills = 0;
    for (let i = 0; i < 8; i++) {
      // seeded, rising targets between steps 20 and 160, and 0-10 ms after the line that shows them: at a few
      // hundred steps/s the kill lands anywhere in a step, checkpoint writes (every 4 steps) included, and
      // always well before the last step
      const target = 20 + i * 15 + Math.floor(u[i] * 15);
      const r = await runUntilKilled("killed", target, Math.floor(u[8 + i] * 10));
      expect(r.seen).toBeGreaterThanOrEqual(target);
      expect(r.killed).toBe(true);
      const ck = join(dir, "killed.ckpt.safetensors");
      expect(existsSync(ck)).toBe(true); // progress past step 20 means checkpoints were written
      kills++;
      const c = unpackCheckpoint(new Uint8Array(readFileSync(ck)));
      const step = c.meta.step as number;
      expect(step % 4 === 0 || step === STEPS).toBe(true);
      expect(step).toBeGreaterThanOrEqual(lastStep); // progress is never lost
      lastStep = step;
    }
    expect(kills).toBe(8);
    const fin = spawnSync(process.execPath, args("killed"), { encoding: "utf8" });
    expect(fin.stderr.slice(-300) + fin.status).toMatch(/0$/);
    const a = unpackCheckpoint(new Uint8Array(readFileSync(join(dir, "straight.ckpt.safetensors"))));
    const b = unpackCheckpoint(new Uint8Array(readFileSync(join(dir, "killed.ckpt.safetensors"))));
    expect(b.meta.step).toBe(STEPS);
    for (const part of ["params", "ema"] as const) {
      for (const [k, t] of Object.entries(a[part]!)) expect(Buffer.from(b[part]![k].data.buffer).equals(Buffer.from(t.data.buffer))).toBe(true);
    }
    for (const mv of ["m", "v"] as const) {
      for (const [k, t] of Object.entries(a.adam![mv])) expect(Buffer.from(b.adam![mv][k].data.buffer).equals(Buffer.from(t.data.buffer))).toBe(true);
    }
  });
});
