// The Cloudflare Workers bundle: workerd forbids compiling WebAssembly from bytes, so the kernels are
// imported as a module (the bundler copies kernels.wasm beside this file and workerd compiles it at
// deploy time) and registered as the default source of `initKernels()`.
import wasm from "../../build/kernels.wasm";
import { setDefaultWasmSource } from "../kernels/index.ts";

setDefaultWasmSource(wasm);
export * from "../index.ts";
