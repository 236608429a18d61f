// What a benchmark result needs to be read later: date, machine, versions; and a JSON writer.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname } from "node:path";

export function packageVersion(name: string): string | null {
  try {
    const url = new URL(`../../node_modules/${name}/package.json`, import.meta.url);
    return (JSON.parse(readFileSync(url, "utf8")) as { version: string }).version;
  } catch {
    return null;
  }
}

export function environment(extraPackages: string[] = []): Record<string, unknown> {
  const cpus = os.cpus();
  const versions: Record<string, string | null> = { node: process.version, "edge-diffusion": packageVersion("..") ?? null };
  for (const p of extraPackages) versions[p] = packageVersion(p);
  return {
    date: new Date().toISOString(),
    machine: `${cpus[0]?.model ?? "unknown CPU"}, ${cpus.length} vCPUs (${os.platform()} ${os.arch()})`,
    loadAverage: os.loadavg().map((v) => Number(v.toFixed(2))),
    versions,
  };
}

export function writeJson(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(value, null, 2) + "\n");
}
