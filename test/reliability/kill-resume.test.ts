// Crash safety of training: SIGKILL the CLI at seeded random moments, including while it writes its
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
const STEPS = 120;
const args = (name: string) => ["dist/cli.js", "train", "--dataset", "moons", "--steps", String(STEPS), "--batch", "64", "--checkpoint-every", "4", "--seed", "11", "--out", join(dir, `${name}.safetensors`), "--resume"];

function runUntilKilled(name: string, delayMs: number): Promise<void> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, args(name), { stdio: "ignore" });
    const t = setTimeout(() => p.kill("SIGKILL"), delayMs);
    p.on("exit", () => {
      clearTimeout(t);
      resolve();
    });
  });
}

describe("training survives SIGKILL", () => {
  it("after each of 8 kills the last checkpoint loads, and resuming reproduces the uninterrupted run bit for bit", async () => {
    const straight = spawnSync(process.execPath, args("straight"), { encoding: "utf8" });
    expect(straight.status).toBe(0);
    const u = new Rng(20261126).uniform(new Float64Array(8));
    let lastStep = -1;
    let kills = 0;
    for (let i = 0; i < 8; i++) {
      // node starts in ~100 ms and the toy trains ~200 steps/s: delays 150..900 ms land before, during
      // and after checkpoint writes
      await runUntilKilled("killed", 150 + Math.floor(u[i] * 750));
      const ck = join(dir, "killed.ckpt.safetensors");
      if (!existsSync(ck)) continue; // killed before the first checkpoint
      kills++;
      const c = unpackCheckpoint(new Uint8Array(readFileSync(ck)));
      const step = c.meta.step as number;
      expect(step % 4 === 0 || step === STEPS).toBe(true);
      expect(step).toBeGreaterThanOrEqual(lastStep); // progress is never lost
      lastStep = step;
    }
    expect(kills).toBeGreaterThan(3);
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
