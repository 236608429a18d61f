// The default bundle (Node, Deno, Bun, browsers): the kernels' wasm is embedded as bytes, so
// `initKernels()` needs no file and no URL. Compiling from bytes is allowed everywhere but workerd.
import wasm from "../../build/kernels.wasm";
import { setDefaultWasmSource } from "../kernels/index.ts";

setDefaultWasmSource(wasm);
export * from "../index.ts";
