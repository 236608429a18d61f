// Checkpoints (src/io/checkpoint.ts, src/node/files.ts): round trips of params/EMA/Adam/meta, the
// validation on unpack, atomic writes, and a crash test: a child process writing checkpoints in a loop
// is SIGKILLed at random moments, and the file on disk must always load.

import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { type Checkpoint, CheckpointError, packCheckpoint, type ParamMap, unpackCheckpoint } from "../../src/io/checkpoint.ts";
import { loadCheckpointFile, readFileBytes, saveCheckpointFile, writeFileAtomic } from "../../src/node/files.ts";
import { SafetensorsError, writeSafetensors } from "../../src/io/safetensors.ts";
import { Rng } from "../../src/rng.ts";
import { ArgumentError } from "../../src/validate.ts";
import { errorCodeOf } from "../support/errors.ts";

const dir = mkdtempSync(join(tmpdir(), "edge-diffusion-ckpt-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function params(rng: Rng, shapes: Record<string, number[]>): ParamMap {
  const out: ParamMap = {};
  let item = 0;
  for (const [name, shape] of Object.entries(shapes)) {
    const n = shape.reduce((a, b) => a * b, 1);
    out[name] = { shape, data: n > 0 ? rng.randn(1, n, item++) : new Float32Array(0) };
  }
  return out;
}

function sample(seed = 1): Checkpoint {
  const rng = new Rng(seed);
  const shapes = { "down.0.conv.weight": [4, 1, 3, 3], "down.0.conv.bias": [4], "emb.freqs": [8] };
  return {
    params: params(rng.stream(1), shapes),
    ema: params(rng.stream(2), shapes),
    adam: { m: params(rng.stream(3), shapes), v: params(rng.stream(4), shapes) },
    meta: { config: { kind: "unet", channels: [4, 8] }, step: 1234, rng: new Rng(seed).state, lr: 2e-4, note: "ü" },
  };
}

const codeOf = (f: () => unknown): string => errorCodeOf<string>(f, CheckpointError, SafetensorsError);

describe("checkpoint pack/unpack", () => {
  it("round-trips params, EMA, Adam moments and meta exactly in F32", () => {
    const c = sample();
    expect(unpackCheckpoint(packCheckpoint(c))).toEqual(c);
    const bare = { params: c.params, meta: {} };
    expect(unpackCheckpoint(packCheckpoint(bare))).toEqual(bare);
  });

  it("round-trips any names, shapes and JSON meta (property)", () => {
    const nameArb = fc.string({ unit: "binary", maxLength: 10 }).filter((s) => !s.startsWith("ema.") && !s.startsWith("adam.") && s !== "__metadata__");
    fc.assert(
      fc.property(
        fc.dictionary(nameArb, fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }), { maxKeys: 5 }),
        fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 })),
        fc.boolean(),
        fc.nat(),
        (shapes, meta, withState, seed) => {
          const rng = new Rng(seed);
          const c: Checkpoint = { params: params(rng.stream(0), shapes), meta };
          if (withState) {
            c.ema = params(rng.stream(1), shapes);
            c.adam = { m: params(rng.stream(2), shapes), v: params(rng.stream(3), shapes) };
          }
          const back = unpackCheckpoint(packCheckpoint(c));
          expect(back).toEqual({ ...c, meta: JSON.parse(JSON.stringify(meta)) });
        },
      ),
      { seed: 5, numRuns: 150 },
    );
  });

  it("F16 storage halves params and EMA within half an fp16 ulp; Adam moments stay exact F32", () => {
    const c = sample(2);
    const f16 = packCheckpoint(c, { dtype: "F16" });
    const f32 = packCheckpoint(c);
    expect(f16.length).toBeLessThan(f32.length);
    const back = unpackCheckpoint(f16);
    expect(back.adam).toEqual(c.adam);
    for (const map of ["params", "ema"] as const) {
      for (const [name, t] of Object.entries(c[map]!)) {
        const got = back[map]![name].data;
        for (let i = 0; i < t.data.length; i++) {
          // |x| < 65504 and normal halves: relative error <= 2^-11; below 2^-14, absolute 2^-25
          expect(Math.abs(got[i] - t.data[i])).toBeLessThanOrEqual(Math.max(Math.abs(t.data[i]) * 2 ** -11, 2 ** -25));
        }
      }
    }
  });

  it("pack refuses meta that JSON would not keep, and reserved parameter names", () => {
    const c = sample();
    expect(() => packCheckpoint({ ...c, meta: { lr: NaN } })).toThrow(/meta\.lr.*finite/);
    expect(() => packCheckpoint({ ...c, meta: { x: { y: undefined } } })).toThrow(/meta\.x\.y/);
    expect(() => packCheckpoint({ ...c, meta: { d: new Date() } })).toThrow(/meta\.d.*plain object/);
    const cyc: Record<string, unknown> = {};
    cyc.self = cyc;
    expect(() => packCheckpoint({ ...c, meta: cyc as never })).toThrow(ArgumentError);
    expect(() => packCheckpoint({ params: { "ema.w": c.params["emb.freqs"] }, meta: {} })).toThrow(/reserved/);
    expect(() => packCheckpoint({ ...c, ema: { x: c.params["emb.freqs"] } })).toThrow(/ema/);
    expect(() => packCheckpoint({ ...c, adam: { m: c.adam!.m, v: {} } })).toThrow(/adam/);
    expect(() => packCheckpoint({ params: { w: { shape: [2], data: new Float64Array(2) as never } }, meta: {} })).toThrow(/params\["w"\]\.data/);
  });

  it("unpack validates: tag, meta JSON, dtypes, matching names and shapes, finite values", () => {
    const w = { dtype: "F32" as const, shape: [2], data: new Float32Array([1, 2]) };
    const tag = { format: "edge-diffusion.checkpoint", format_version: "1", meta: "{}", state: "ema,adam" };
    const cases: [Uint8Array, string][] = [
      [writeSafetensors({ w }), "not_checkpoint"],
      [writeSafetensors({ w }, { ...tag, format_version: "2" }), "not_checkpoint"],
      [writeSafetensors({ w }, { ...tag, meta: "{" }), "bad_meta"],
      [writeSafetensors({ w }, { ...tag, meta: '{"a":1,"a":2}' }), "bad_meta"],
      [writeSafetensors({ w }, { ...tag, meta: "[1]" }), "bad_meta"],
      [writeSafetensors({ w }, { ...tag, state: "adam,ema" }), "not_checkpoint"],
      [writeSafetensors({ w, "ema.w": w }, { ...tag, state: "adam" }), "unexpected_tensor"],
      [writeSafetensors({ w, "ema.w": w }, { ...tag, state: "ema" }), "ok"],
      [writeSafetensors({ w }, { ...tag, state: "ema" }), "missing_tensor"], // EMA stripped from the file
      [writeSafetensors({ w: { dtype: "I32", shape: [1], data: new Int32Array(1) } }, tag), "bad_dtype"],
      [writeSafetensors({ w, "ema.x": w }, tag), "unexpected_tensor"],
      [writeSafetensors({ w, "adam.z.w": w }, tag), "unexpected_tensor"],
      [writeSafetensors({ w, x: w, "ema.w": w }, tag), "missing_tensor"],
      [writeSafetensors({ w, "adam.m.w": w }, tag), "missing_tensor"],
      [writeSafetensors({ w, "ema.w": { ...w, shape: [1, 2] } }, tag), "shape_mismatch"],
      [writeSafetensors({ w: { ...w, data: new Float32Array([1, NaN]) } }, tag), "non_finite"],
      [writeSafetensors({ w, "adam.v.w": { ...w, data: new Float32Array([Infinity, 0]) }, "adam.m.w": w }, tag), "non_finite"],
      [writeSafetensors({ w, "ema.w": w, "adam.m.w": w, "adam.v.w": w }, tag), "ok"],
    ];
    for (const [bytes, code] of cases) expect(codeOf(() => unpackCheckpoint(bytes))).toBe(code);
    const nan = writeSafetensors({ w: { ...w, data: new Float32Array([1, NaN]) } }, { ...tag, state: "" });
    expect(unpackCheckpoint(nan, { allowNonFinite: true }).params.w.data[1]).toBeNaN();
    expect(() => unpackCheckpoint(writeSafetensors({ w, "ema.w": { ...w, shape: [1, 2] } }, tag))).toThrow(/"ema\.w" has shape \[1, 2\] but the parameter has \[2\]/);
  });

  it("a checkpoint cut at every offset is refused with a typed error", () => {
    const bytes = packCheckpoint({ params: { w: { shape: [3], data: new Float32Array([1, 2, 3]) } }, meta: { step: 1 } });
    for (let len = 0; len < bytes.length; len++) expect(codeOf(() => unpackCheckpoint(bytes.subarray(0, len)))).not.toBe("ok");
  });
});

describe("checkpoint files (Node)", () => {
  it("writeFileAtomic writes and replaces, leaving no temporary files; readFileBytes reads it back and enforces a size cap", () => {
    const p = join(dir, "a.safetensors");
    writeFileAtomic(p, new Uint8Array([1, 2, 3]));
    writeFileAtomic(p, new Uint8Array([4, 5]));
    expect([...readFileBytes(p)]).toEqual([4, 5]);
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    expect(() => readFileBytes(p, 1)).toThrow(/2 bytes, above the limit of 1/);
    expect(() => writeFileAtomic(join(dir, "no-such-dir", "x"), new Uint8Array(1))).toThrow(/ENOENT/);
    const c = sample(3);
    saveCheckpointFile(join(dir, "c.safetensors"), c);
    expect(loadCheckpointFile(join(dir, "c.safetensors"))).toEqual(c);
    writeFileSync(join(dir, "bad.safetensors"), new Uint8Array(20).fill(0xff));
    expect(() => loadCheckpointFile(join(dir, "bad.safetensors"))).toThrow(SafetensorsError);
  });

  it("SIGKILL while writing in a loop never leaves a checkpoint that fails to load", async () => {
    const child = fileURLToPath(new URL("./support/atomic-writer.ts", import.meta.url));
    const p = join(dir, "crash.safetensors");
    const rng = new Rng(99).uniform(new Float64Array(6));
    const steps: number[] = [];
    for (const u of rng) {
      // stderr is kept (not inherited) so nothing reaches the test output unless the writer fails to start
      const proc = spawn(process.execPath, ["--import", "tsx", child, p], { stdio: ["ignore", "pipe", "pipe"] });
      let stderr = "";
      proc.stderr.on("data", (d) => (stderr += d));
      await new Promise<void>((resolve, reject) => {
        proc.once("error", reject);
        proc.once("close", (code) => reject(new Error(`the writer exited (${code}) before its first checkpoint: ${stderr}`)));
        proc.stdout.once("data", () => resolve());
      });
      await new Promise((r) => setTimeout(r, 5 + 60 * u)); // kill after 5-65 ms of writing
      const exited = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGKILL");
      await exited;
      const c = loadCheckpointFile(p);
      const step = c.meta.step as number;
      expect(c.params["net.w"].data.every((x) => x === step)).toBe(true);
      expect(c.adam!.v["net.w"].data.length).toBe(c.params["net.w"].data.length);
      steps.push(step);
    }
    expect(steps.some((s) => s > 0)).toBe(true); // the kills did land during the write loop
  }, 60_000);
});
