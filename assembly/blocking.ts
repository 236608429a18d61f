// The GEMM's register tile and cache blocking, and the only fixed memory the kernels use: the packing
// panels those sizes need plus two small bounce areas, placed past the static data. The TS side puts its
// arena after them (arena_base). Every other workspace (padded images, Winograd tiles, column matrices)
// is passed in by the caller: kernels never allocate.
//
//   __heap_base (64-aligned) | packed A, MC x KC | packed B, KC x NC | 4x8 tile | 64-byte bounce | arena ...
//
// The register tile is 4 rows x 8 columns = 8 f32x4 accumulators + 2 B vectors + 1 broadcast A = 11
// live v128 values, under V8's 16 xmm registers (design notes §5: 6x8 and 4x12 spill).

export const MR: i32 = 4;
export const NR: i32 = 8;
export const KC: i32 = 256;
export const MC: i32 = 128;
export const NC: i32 = 512;

const PA_BYTES: usize = <usize>(MC * KC * 4);
const PB_BYTES: usize = <usize>(KC * NC * 4);
const TILE_BYTES: usize = <usize>(MR * NR * 4);
const BOUNCE_BYTES: usize = 64;

// @ts-ignore: decorator
@inline export function align64(p: usize): usize {
  return (p + 63) & ~(<usize>63);
}

// @ts-ignore: decorator
@inline function scratchBase(): usize {
  return align64(__heap_base);
}
/** The packed block of A (4-row panels). */
// @ts-ignore: decorator
@inline export function packA(): usize {
  return scratchBase();
}
/** The packed block of B (8-column panels). */
// @ts-ignore: decorator
@inline export function packB(): usize {
  return scratchBase() + PA_BYTES;
}
/** The 4x8 tile the micro-kernels store their accumulators to (microkernels.ts applyTile). */
// @ts-ignore: decorator
@inline export function tile(): usize {
  return scratchBase() + PA_BYTES + PB_BYTES;
}
/** 64 bytes for the elementwise kernels' tails (ops.ts loadTail / storeTail). */
// @ts-ignore: decorator
@inline export function bounce(): usize {
  return tile() + TILE_BYTES;
}

/** First byte the TS arena may use: past static data and the fixed scratch, 64-byte aligned. */
export function arena_base(): usize {
  return align64(bounce() + BOUNCE_BYTES);
}
