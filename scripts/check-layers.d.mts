// Types of check-layers.mjs for the TypeScript test that runs it (test/architecture/layers.test.ts).

/** Rank, then the paths under src/ of that rank ("kernels/" a folder, "rng.ts" a file). */
export type Layers = ReadonlyArray<readonly [number, readonly string[]]>;

export interface Upward {
  from: string;
  to: string;
  fromRank: number;
  toRank: number;
}

export interface Cycle {
  /** The shortest cycle through the circle's first member, first = last. */
  cycle: string[];
  /** Every member of the circle (one strongly connected component). */
  members: string[];
}

export interface LayerReport {
  files: string[];
  upward: Upward[];
  cycles: Cycle[];
  /** Circles between table entries of one rank ("src/samplers/" -> "src/train/" -> "src/samplers/"). */
  entryCycles: Cycle[];
  unranked: string[];
  unresolved: { from: string; specifier: string }[];
  /** Imports the ranks allow but scripts/layers.mjs's FORBIDDEN rules out. */
  forbidden: { from: string; to: string; why: string }[];
}

/** [from entries, to entries, why]: imports ruled out whatever the ranks say. */
export type Forbidden = ReadonlyArray<readonly [readonly string[], readonly string[], string]>;

export function checkLayers(srcDir: string, options?: { layers?: Layers; selfImports?: Readonly<Record<string, string>>; forbidden?: Forbidden }): LayerReport;
export function problems(report: LayerReport): string[];
