// Reading the diffusers reference fixtures (../shared/fixtures/diffusers beside the repository; its
// README states what each case exercises and the 1e-5 tolerance).
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { readSafetensors, toFloat32, type SafeTensor } from "../../src/io/safetensors.ts";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const FIXTURES = path.resolve(repoRoot, "../shared/fixtures/diffusers");
export const haveFixtures = existsSync(path.join(FIXTURES, "index.json"));

export function fixtureFile(rel: string): Uint8Array {
  return new Uint8Array(readFileSync(path.join(FIXTURES, rel)));
}

export function fixtureText(rel: string): string {
  return readFileSync(path.join(FIXTURES, rel), "utf8");
}

export interface ModelCase {
  name: string;
  modelDir: string;
  x: { data: Float32Array; shape: number[] };
  timesteps: number[];
  classLabels: number[] | undefined;
  sample: Float32Array;
}

/** A model case's inputs and diffusers' float32 output (case e names its model folder in the io file's metadata). */
export function modelCase(name: string): ModelCase {
  const io = readSafetensors(fixtureFile(`${name}/io.safetensors`));
  const t = (k: string): SafeTensor | undefined => io.tensors[k];
  const index = JSON.parse(fixtureText("index.json"));
  const modelDir: string = index.cases[name]?.model_dir ?? io.metadata.model_dir;
  return {
    name,
    modelDir,
    x: { data: toFloat32(t("x")!), shape: t("x")!.shape },
    timesteps: Array.from(toFloat32(t("timesteps")!)),
    classLabels: t("class_labels") ? Array.from(toFloat32(t("class_labels")!)) : undefined,
    sample: toFloat32(t("sample")!),
  };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
