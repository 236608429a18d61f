// Prints the fingerprint as JSON: `node|deno run --allow-read|bun test/runtimes/run.mjs [seed]`.
import * as lib from "../../dist/index.js";
import { fingerprint } from "./probe.js";

const seed = Number(globalThis.Deno ? Deno.args[0] ?? 7 : globalThis.process?.argv[2] ?? 7);
console.log(JSON.stringify(await fingerprint(lib, seed)));
