// `sample --resume` (issue 14 #14): Ctrl-C saves the run's state after the step in progress and exits
// 130; the same command continues and writes the bytes of an uninterrupted run; a state of another run
// is refused in one line. The signal is sent on observed progress (the first progress line), not on a
// timer, so the test means the same on a loaded machine.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI, ROOT, runCli, type Run } from "./fixtures.ts";

const dir = mkdtempSync(join(tmpdir(), "ed-cli-resume-"));
const job = ["sample", "--count", "32", "--steps", "4", "--threads", "1", "--seed", "5"];

/** Run the CLI and send SIGINT when its first progress line appears. */
function interrupted(args: string[]): Promise<Run> {
  return new Promise((done) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT });
    let stdout = "";
    let stderr = "";
    let sent = false;
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => {
      stderr += d;
      if (!sent && /^sampling \(/m.test(stderr)) {
        sent = true;
        child.kill("SIGINT");
      }
    });
    child.on("close", (status) => done({ status, stdout, stderr, ms: performance.now() - t0 }));
  });
}

describe("sample --resume", () => {
  it("Ctrl-C keeps the state; the same command continues to the bytes of an uninterrupted run", async () => {
    const plain = join(dir, "plain.png");
    const out = join(dir, "resumed.png");
    const state = `${out}.state.json`;
    const p = await runCli([...job, "--out", plain]);
    expect(p.status, p.stderr).toBe(0);

    const stopped = await interrupted([...job, "--out", out, "--resume"]);
    expect(stopped.status, stopped.stderr).toBe(130);
    expect(stopped.stderr).toMatch(/stopped after step [123] of 4; the state is in .*resumed\.png\.state\.json/);
    expect(stopped.stderr).not.toMatch(/^\s+at /m);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(state)).toBe(true);

    const other = await runCli([...job, "--seed", "6", "--out", out, "--resume"]);
    expect(other.status).toBe(2);
    expect(other.stderr.trim().split("\n")).toHaveLength(1);
    expect(other.stderr).toMatch(/--resume: .*state\.json belongs to another run/);
    expect(existsSync(state)).toBe(true);

    const resumed = await runCli([...job, "--out", out, "--resume"]);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/resuming at step [123] of 4/);
    expect(Buffer.from(readFileSync(out)).equals(readFileSync(plain))).toBe(true);
    expect(existsSync(state)).toBe(false);
  });
});
