// Kernel module entry. Only numbers cross the boundary: pointers into linear memory (byte offsets,
// 4-byte aligned for f32) and sizes. The TS front (src/kernels/wasm) checks shapes and sizes before any
// call; kernels here trust their arguments and never allocate. The generated bindings
// (build/kernels.d.ts) are the single source of truth for these signatures on the TS side.

export {
  arena_base,
  gemm_f32,
  conv2d_f32,
  conv2d_bwd_input_f32,
  conv2d_bwd_weight_f32,
  conv2d_direct_f32,
  conv2d_direct_ws_bytes,
  gemm_scalar_f32,
  conv2d_bwd_input_col2im_f32,
  conv2d_col2im_ws_bytes,
} from "./gemm";
export * from "./ops";
export { simd_peak_f32 } from "./peak";
export { conv3x3_wino_f32, conv3x3_wino_ws_bytes, conv3x3_wino_bwd_w_f32, conv3x3_wino_bwd_w_ws_bytes } from "./winograd";
