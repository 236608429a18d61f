// Samples with a model file through the built bundle and prints hashes of the results as JSON:
// `node|deno run --allow-read|bun test/runtimes/sample-model.mjs MODEL [REQUEST_JSON]`. The same file
// runs in Node, Deno and Bun; test/runtimes/sample-model.test.ts compares the hashes across them, with
// Chromium (sample-model.html) and with the example Worker in workerd.
import { readFileSync } from "node:fs";
import * as lib from "../../dist/index.js";
import { sampleHashes } from "./sample-probe.js";

const args = globalThis.Deno ? Deno.args : process.argv.slice(2);
const [modelPath, requestJson] = args;
// a Buffer in Node and Bun, a Uint8Array in Deno: loadModel must read both
console.log(JSON.stringify(await sampleHashes(lib, readFileSync(modelPath), JSON.parse(requestJson ?? "{}"))));
