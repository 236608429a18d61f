// The CLI's pieces on their own: the output check, input reading, argument fixes and plain progress.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { joinNegativeValues, parseForwardArgs, parseSampleArgs, parseTrainArgs, resolveLabel } from "../../src/cli/args.ts";
import { checkWritable, readInput } from "../../src/cli/files.ts";
import { progress } from "../../src/cli/progress.ts";
import { ArgumentError } from "../../src/validate.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const dir = mkdtempSync(join(tmpdir(), "ed-cli-unit-"));

describe("checkWritable: the destination before the work", () => {
  it("accepts a new file in a new folder, creating the folder and leaving nothing else", () => {
    const out = join(dir, "new", "deeper", "x.png");
    checkWritable("--out", out);
    expect(readdirSync(join(dir, "new", "deeper"))).toEqual([]);
  });

  it("refuses /proc (ENOENT), a path under a file (EEXIST / ENOTDIR) and a folder, naming the flag", () => {
    writeFileSync(join(dir, "f"), "x");
    mkdirSync(join(dir, "d.png"), { recursive: true });
    expect(() => checkWritable("--out", "/proc/x.png")).toThrow(/^--out: cannot write \/proc\/x\.png: cannot create files in \/proc: no such file or folder \(ENOENT\)$/);
    expect(() => checkWritable("--out", join(dir, "f", "x.png"))).toThrow(/^--out: cannot write .*: cannot create (its folder|files in) .*a part of the path is a file, not a folder \((EEXIST|ENOTDIR)\)$/);
    expect(() => checkWritable("--out", join(dir, "f", "g", "x.png"))).toThrow(/\((EEXIST|ENOTDIR)\)$/);
    expect(() => checkWritable("--checkpoint", join(dir, "d.png"))).toThrow(/^--checkpoint: cannot write .*d\.png: it is a folder/);
    expect(() => checkWritable("--out", "/sys/x.png")).toThrow(ArgumentError);
  });

  it("refuses a read-only folder (EACCES)", () => {
    const ro = join(dir, "ro");
    mkdirSync(ro);
    chmodSync(ro, 0o555);
    const target = join(ro, "x.png");
    if (process.getuid?.() !== 0) {
      expect(() => checkWritable("--out", target)).toThrow(/permission denied \(EACCES\)$/);
      return;
    }
    // root writes anywhere, read-only or not: run the same check as an unprivileged user (nobody)
    chmodSync(dir, 0o755);
    const files = pathToFileURL(join(ROOT, "src/cli/files.ts")).href;
    const code = `import(${JSON.stringify(files)}).then((m) => { try { m.checkWritable("--out", ${JSON.stringify(target)}); console.log("accepted"); } catch (e) { console.log(e.message); } })`;
    const r = spawnSync(process.execPath, ["--import", "tsx", "-e", code], { cwd: ROOT, uid: 65534, gid: 65534, encoding: "utf8" });
    expect(r.stdout.trim(), r.stderr).toMatch(/^--out: cannot write .*x\.png: .*permission denied \(EACCES\)$/);
  });
});

describe("readInput", () => {
  it("names the flag for a missing file and a folder; reads a file", () => {
    expect(() => readInput("--image", join(dir, "nope.png"))).toThrow(/^--image: cannot read .*nope\.png: no such file or folder$/);
    expect(() => readInput("--model", dir)).toThrow(/^--model: cannot read .*: it is a folder, not a file$/);
    writeFileSync(join(dir, "three"), "abc");
    expect([...readInput("--mask", join(dir, "three"))]).toEqual([97, 98, 99]);
  });
});

describe("arguments", () => {
  it("a negative number after an option is its value, so the range check answers", () => {
    expect(joinNegativeValues(["--count", "-1", "--seed", "3", "--guidance", "-.5", "--x", "-y"])).toEqual(["--count=-1", "--seed", "3", "--guidance=-.5", "--x", "-y"]);
    expect(() => parseSampleArgs(["--count", "-1"])).toThrow(/^--count: must be an integer in \[1, 4096\], got -1$/);
    expect(parseSampleArgs(["--guidance", "-2"]).guidance).toBe(-2);
    expect(() => parseTrainArgs(["--batch", "-4"])).toThrow(/^--batch: must be an integer in \[1, 4096\], got -4$/);
    expect(() => parseForwardArgs(["--T", "-5"])).toThrow(/^--T: must be an integer in \[1, 100000\], got -5$/);
  });

  it("--label: one message for every wrong value, with the model's range", () => {
    const msg = (v: string) => {
      try {
        resolveLabel(v, 10, "sample");
      } catch (e) {
        return (e as Error).message.replace(JSON.stringify(v), "V");
      }
      return "accepted";
    };
    const wrong = ["seven", "12", "10", "-1", "1.5", "", " ", "0x3", "1e1"].map(msg);
    expect(new Set(wrong)).toEqual(new Set(['--label: must be a class in [0, 9], "all" or "none", got V']));
    expect(resolveLabel("9", 10, "sample")).toBe(9);
    expect(resolveLabel("all", 10, "img2img")).toBe("all");
    expect(resolveLabel("none", 10, "sample")).toBeNull();
    expect(() => resolveLabel("3", 0, "sample")).toThrow(/^--label: this model is unconditional/);
  });

  it("no --label: all classes for sample, none for img2img and inpaint, none for an unconditional model", () => {
    expect(resolveLabel(undefined, 10, "sample")).toBe("all");
    expect(resolveLabel(undefined, 10, "img2img")).toBeNull();
    expect(resolveLabel(undefined, 10, "inpaint")).toBeNull();
    expect(resolveLabel(undefined, 0, "sample")).toBeNull();
  });

  it("--guidance is undefined unless given (so an unconditional model can tell 'not asked' from 'asked')", () => {
    expect(parseSampleArgs([]).guidance).toBeUndefined();
    expect(parseSampleArgs(["--guidance", "1.5"]).guidance).toBe(1.5);
  });
});

describe("plain progress lines", () => {
  it("the first update prints at once with an ETA; then every 10%, and the last", () => {
    const lines: string[] = [];
    const bar = progress("sampling", 1000, "", { plain: true, percentOnly: true, write: (l) => lines.push(l), everyMs: 1e9 });
    for (let d = 1; d <= 1000; d++) bar.update(d);
    expect(lines[0]).toMatch(/^sampling \(0%\) [\d.]+ s, ETA \d+ s$/);
    expect(lines.map((l) => Number(/\((\d+)%\)/.exec(l)![1]))).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
  });

  it("a resumed job's ETA counts only the work done in this process (from)", async () => {
    const lines: string[] = [];
    const bar = progress("sampling", 1000, "", { plain: true, percentOnly: true, write: (l) => lines.push(l), from: 500 });
    bar.update(500); // nothing new yet
    await new Promise((r) => setTimeout(r, 2500));
    bar.update(750);
    expect(lines).toHaveLength(1);
    // a quarter done in el seconds here: a quarter left takes about el more (with done / el it would be el / 3)
    const [, el, eta] = /\(75%\) ([\d.]+) s, ETA (\d+) s/.exec(lines[0])!.map(Number);
    expect(Math.abs(eta - el)).toBeLessThanOrEqual(0.6);
  });

  it("a slow job prints at least every everyMs even between tenths", async () => {
    const lines: string[] = [];
    const bar = progress("training", 1000, "", { plain: true, write: (l) => lines.push(l), everyMs: 5 });
    bar.update(1);
    await new Promise((r) => setTimeout(r, 10));
    bar.update(2);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^training 2\/1000 \(0%\)/);
  });
});

it("the probe file of checkWritable is gone after a check", () => {
  checkWritable("--out", join(dir, "p", "x.png"));
  expect(existsSync(join(dir, "p"))).toBe(true);
  expect(readdirSync(join(dir, "p"))).toEqual([]);
});
