// Checks the import graph of src/ against the layering in scripts/layers.mjs: every import (static,
// type-only, re-export, dynamic) must go to a file of the same or a lower rank, no file may sit in an
// import cycle, entries of the table of one rank (folders, top-level files) may not import each other in
// a circle (the ranks alone would allow samplers/ -> train/ -> samplers/), and every file must be ranked.
// Run by test/architecture/layers.test.ts and by hand:
//
//   node scripts/check-layers.mjs [srcDir]      (default: the repository's src/; exit code 1 on problems)
//
// Imports are read with TypeScript's own pre-processor (ts.preProcessFile), so specifiers inside
// comments, strings and template literals are not mistaken for imports.
import { readdirSync, statSync } from "node:fs";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import ts from "typescript";
import { FORBIDDEN, LAYERS, SELF_IMPORTS } from "./layers.mjs";

const SOURCE = /\.(ts|mts|cts|tsx)$/;

/**
 * @typedef {import("./check-layers.d.mts").Layers} Layers
 * @typedef {import("./check-layers.d.mts").Cycle} Cycle
 * @typedef {import("./check-layers.d.mts").LayerReport} LayerReport
 */

/**
 * Rank of every file under `srcDir`, its imports, and what breaks the layering. Paths in the report are
 * relative to the folder above `srcDir` ("src/model.ts"), with forward slashes.
 * @param {string} srcDir
 * @param {{ layers?: Layers, selfImports?: Readonly<Record<string, string>> }} [options]
 * @returns {LayerReport}
 */
export function checkLayers(srcDir, { layers = LAYERS, selfImports = SELF_IMPORTS, forbidden = FORBIDDEN } = {}) {
  const root = resolve(srcDir);
  const entryOf = ranker(layers);
  const name = (abs) => [basename(root), ...relative(root, abs).split(sep)].join("/");
  const inside = (abs) => abs === root || abs.startsWith(root + sep);

  const files = walk(root).sort();
  /** @type {Map<string, string[]>} */
  const graph = new Map();
  /** @type {LayerReport["unresolved"]} */
  const unresolved = [];
  for (const file of files) {
    const targets = new Set();
    for (const { fileName: spec } of ts.preProcessFile(ts.sys.readFile(file) ?? "", true, true).importedFiles) {
      let target;
      if (spec.startsWith(".")) {
        const abs = resolve(dirname(file), spec);
        if (!inside(abs)) continue; // build output (build/kernels.wasm) and other files outside src/
        target = resolveFile(abs);
        if (target === undefined) {
          unresolved.push({ from: name(file), specifier: spec });
          continue;
        }
      } else if (Object.hasOwn(selfImports, spec)) {
        target = join(root, ...selfImports[spec].split("/"));
      } else continue; // packages and node: builtins
      targets.add(name(target));
    }
    graph.set(name(file), [...targets].sort());
  }

  const unranked = [];
  const upward = [];
  /** @type {Map<string, Set<string>>} imports between table entries of one rank, "src/samplers/" -> "src/train/" */
  const entries = new Map();
  const top = basename(root);
  for (const [from, targets] of graph) {
    const fromEntry = entryOf(from);
    if (fromEntry === undefined) unranked.push(from);
    for (const to of targets) {
      const toEntry = entryOf(to);
      if (fromEntry === undefined || toEntry === undefined) continue;
      if (toEntry.rank > fromEntry.rank) upward.push({ from, to, fromRank: fromEntry.rank, toRank: toEntry.rank });
      // A circle through entries of different ranks has an upward import, reported above: keep the
      // imports between distinct entries of one rank, where only a circle check can see a fault.
      const [a, b] = [`${top}/${fromEntry.path}`, `${top}/${toEntry.path}`];
      if (a !== b && toEntry.rank === fromEntry.rank) entries.set(a, (entries.get(a) ?? new Set()).add(b));
    }
  }
  const entryGraph = new Map([...entries].map(([a, bs]) => [a, [...bs].sort()]));
  const under = (file, paths) => paths.some((p) => (p.endsWith("/") ? file.startsWith(`${top}/${p}`) : file === `${top}/${p}`));
  const banned = [];
  for (const [from, targets] of graph) {
    for (const to of targets) {
      for (const [fromPaths, toPaths, why] of forbidden) if (under(from, fromPaths) && under(to, toPaths)) banned.push({ from, to, why });
    }
  }
  return { files: [...graph.keys()], upward, cycles: cycles(graph), entryCycles: cycles(entryGraph), unranked, unresolved, forbidden: banned };
}

/**
 * One line per problem, e.g. "upward: src/io/x.ts (rank 2) -> src/index.ts (rank 8)"; empty when the
 * graph reads one way.
 * @param {LayerReport} report
 * @returns {string[]}
 */
export function problems(report) {
  return [
    ...report.upward.map((u) => `upward: ${u.from} (rank ${u.fromRank}) -> ${u.to} (rank ${u.toRank})`),
    ...report.cycles.map((c) => `cycle: ${showCycle(c)}`),
    ...report.entryCycles.map((c) => `folder cycle: ${showCycle(c)}`),
    ...report.unranked.map((f) => `unranked: ${f} (place it in scripts/layers.mjs)`),
    ...report.unresolved.map((u) => `unresolved: ${u.from} -> "${u.specifier}"`),
    ...report.forbidden.map((f) => `forbidden: ${f.from} -> ${f.to} (${f.why})`),
  ];
}

function showCycle({ cycle, members }) {
  const rest = members.filter((m) => !cycle.includes(m));
  return cycle.join(" -> ") + (rest.length ? ` (in one circle with ${rest.join(", ")})` : "");
}

/** The most specific table entry covering a path "src/…", with its rank. */
function ranker(layers) {
  const entries = [];
  const seen = new Set();
  for (const [rank, paths] of layers) {
    if (!Number.isInteger(rank)) throw new TypeError(`layers: rank ${rank} is not an integer`);
    for (const p of paths) {
      if (seen.has(p)) throw new TypeError(`layers: ${p} is listed twice`);
      seen.add(p);
      entries.push({ path: p, rank });
    }
  }
  entries.sort((a, b) => b.path.length - a.path.length);
  return (path) => {
    const rel = path.slice(path.indexOf("/") + 1);
    return entries.find((e) => (e.path.endsWith("/") ? rel.startsWith(e.path) : rel === e.path));
  };
}

function walk(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (SOURCE.test(e.name)) out.push(p);
  }
  return out;
}

const isFile = (p) => statSync(p, { throwIfNoEntry: false })?.isFile() === true;

/** The file a relative import names: as written, .js written for .ts, or without an extension. */
function resolveFile(abs) {
  const candidates = [abs];
  const js = /\.(m|c)?js(x)?$/.exec(abs);
  if (js) candidates.push(abs.slice(0, js.index) + `.${js[1] ?? ""}ts${js[2] ?? ""}`);
  candidates.push(`${abs}.ts`, `${abs}.tsx`, `${abs}.d.ts`, join(abs, "index.ts"));
  return candidates.find(isFile);
}

/**
 * Every import cycle, one per strongly connected component (Tarjan 1972): the shortest cycle through the
 * component's first file ["a", "b", "a"], and every member of the component (all the files that import
 * each other in a circle). Breaking the cycle shown and running again shows any cycle left.
 * @returns {Cycle[]}
 */
function cycles(graph) {
  let counter = 0;
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const components = [];
  const visit = (v) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) === index.get(v)) {
      const c = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        c.push(w);
      } while (w !== v);
      components.push(c);
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);

  const out = [];
  for (const c of components) {
    const members = new Set(c);
    const start = [...c].sort()[0];
    if (c.length === 1 && !(graph.get(start) ?? []).includes(start)) continue;
    // breadth-first from start, within the component, back to start
    const prev = new Map();
    const queue = [start];
    let end;
    for (let i = 0; i < queue.length && end === undefined; i++) {
      for (const w of graph.get(queue[i]) ?? []) {
        if (w === start) {
          end = queue[i];
          break;
        }
        if (members.has(w) && !prev.has(w)) {
          prev.set(w, queue[i]);
          queue.push(w);
        }
      }
    }
    const path = [start];
    for (let v = end; v !== start; v = prev.get(v)) path.splice(1, 0, v);
    out.push({ cycle: [...path, start], members: [...c].sort() });
  }
  return out.sort((a, b) => (a.cycle[0] < b.cycle[0] ? -1 : a.cycle[0] > b.cycle[0] ? 1 : 0));
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const srcDir = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), "../src");
  const report = checkLayers(srcDir);
  const lines = problems(report);
  for (const line of lines) console.log(line);
  console.log(lines.length === 0 ? `layers: ${report.files.length} files, imports run one way` : `layers: ${lines.length} problems in ${report.files.length} files`);
  process.exitCode = lines.length === 0 ? 0 : 1;
}
