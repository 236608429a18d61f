// esbuild loads .wasm imports: as bytes in the default bundle (loader "binary"), as a compiled
// WebAssembly.Module in the workerd bundle (loader "copy": workerd imports the file as a module).
declare module "*.wasm" {
  const value: Uint8Array | WebAssembly.Module;
  export default value;
}
