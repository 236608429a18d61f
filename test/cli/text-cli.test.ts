// edge-diffusion text through the built CLI (issue 16, item 7): words on stdout, the same for a seed,
// --prefix/--suffix kept, one-line errors for bad letters, an empty prefix, a model of the wrong kind, and
// the shipped text model when it is missing. The model is a tiny untrained one: the CLI's behaviour is
// tested here; what a trained model writes is tested in test/discrete/text-model.test.ts.
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { saveTextModel, wordTransformerConfig } from "../../src/discrete/text-model.ts";
import { Transformer } from "../../src/nn/transformer.ts";
import { makeFixtures, pool, ROOT, runCli } from "./fixtures.ts";

const F = makeFixtures();
const model = join(F.dir, "words.safetensors");
writeFileSync(model, saveTextModel({ net: new Transformer(wordTransformerConfig(12, 16, 2, 1)).initialize(1), L: 12, schedule: "linear", lengths: [0, 0, 0, 5, 9, 7, 3, 1, 0, 0, 0, 0], info: {} }));

const oneLineError = (r: { status: number | null; stderr: string }, re: RegExp) => {
  expect(r.status).toBe(2);
  expect(r.stderr.trim().split("\n"), r.stderr).toHaveLength(1);
  expect(r.stderr).toMatch(re);
};

describe("edge-diffusion text", () => {
  it("prints --count words, the same for the same seed; --prefix and --suffix are kept", async () => {
    const [a, b, c, fix] = await pool(
      [
        ["text", "--model", model, "--count", "7", "--seed", "3"],
        ["text", "--model", model, "--count", "7", "--seed", "3"],
        ["text", "--model", model, "--count", "7", "--seed", "4"],
        ["text", "--model", model, "--count", "9", "--prefix", "ab", "--suffix", "ing", "--steps", "5", "--sampler", "ancestral"],
      ],
      2,
      (args) => runCli(args),
    );
    for (const r of [a, b, c, fix]) expect(r.status, r.stderr).toBe(0);
    const lines = (s: string) => s.trim().split("\n");
    expect(lines(a.stdout)).toHaveLength(7);
    for (const w of lines(a.stdout)) expect(w).toMatch(/^[a-z]*$/);
    expect(b.stdout).toBe(a.stdout);
    expect(c.stdout).not.toBe(a.stdout);
    expect(lines(fix.stdout)).toHaveLength(9);
    for (const w of lines(fix.stdout)) expect(w).toMatch(/^ab[a-z]*ing$/);
  });

  it("bad letters, an empty prefix, a too-long infix and a model of the wrong kind are one-line errors", async () => {
    const [upper, empty, long, wrong, steps] = await pool(
      [
        ["text", "--model", model, "--prefix", "Ab"],
        ["text", "--model", model, "--suffix", ""],
        ["text", "--model", model, "--prefix", "abcdef", "--suffix", "ghijkl"],
        ["text", "--model", F.unet],
        ["text", "--model", model, "--steps", "0"],
      ],
      3,
      (args) => runCli(args),
    );
    oneLineError(upper, /^edge-diffusion text: --prefix: "Ab" has "A" at position 0; allowed are the lowercase letters a-z/);
    oneLineError(empty, /^edge-diffusion text: --suffix: must be one or more letters a-z, got ""/);
    oneLineError(long, /prefix and suffix have 12 letters together; the model holds words of at most 11/);
    oneLineError(wrong, /^edge-diffusion text: model: is not an edge-diffusion text model \(its __metadata__\.format is "edge-diffusion\.checkpoint"/);
    oneLineError(steps, /^edge-diffusion text: --steps: must be an integer in \[1, 1000\], got 0/);
  });

  it("without --model: the shipped text model's words, or one line saying it is not trained yet", async () => {
    const r = await runCli(["text", "--count", "3"], { timeoutMs: 120_000 });
    if (existsSync(join(ROOT, "models/text.safetensors"))) {
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.trim().split("\n")).toHaveLength(3);
    } else {
      oneLineError(r, /^edge-diffusion text: --model: not given, and the shipped text model .*models\/text\.safetensors has not been trained yet: run 'npm run train:text'/);
    }
  });
});
