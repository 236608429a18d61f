// Kernel module entry. Only numbers cross the boundary: pointers into linear memory (byte offsets,
// 4-byte aligned for f32) and sizes. The TS front (src/kernels/wasm) checks shapes and sizes before any
// call and picks the convolution path; kernels here trust their arguments and never allocate. The
// generated bindings (build/kernels.d.ts) are the single source of truth for these signatures on the TS
// side.
//
//   blocking.ts     GEMM tile and block sizes, the fixed scratch, arena_base
//   microkernels.ts the 4x8 register tile (and its 2-row and tap-table variants)
//   pack.ts         packing operands into panels, including convolution indexing (im2col, gather)
//   gemm.ts         the GEMM driver and gemm_f32
//   conv_im2col.ts  convolutions as GEMM: im2col forward and weight gradient, gathered or col2im input gradient
//   conv_direct.ts  direct stride-1 convolution (forward and input gradient)
//   winograd.ts     3x3 stride-1 pad-1 convolution by Winograd F(2x2, 3x3)
//   twins.ts        scalar twins the SIMD kernels must match bit for bit
//   ops.ts          elementwise, activation, normalisation, reduction and Adam kernels
//   peak.ts         the benchmark's register-only SIMD ceiling

export { arena_base } from "./blocking";
export { gemm_f32 } from "./gemm";
export {
  conv2d_f32,
  conv2d_bwd_input_f32,
  conv2d_bwd_weight_f32,
  conv2d_bwd_input_col2im_f32,
  conv2d_col2im_ws_bytes,
} from "./conv_im2col";
export { conv2d_direct_f32, conv2d_direct_ws_bytes } from "./conv_direct";
export { conv3x3_wino_f32, conv3x3_wino_ws_bytes, conv3x3_wino_bwd_w_f32, conv3x3_wino_bwd_w_ws_bytes } from "./winograd";
export { gemm_scalar_f32 } from "./twins";
export * from "./ops";
export { simd_peak_f32 } from "./peak";
