// Counter-based random numbers: Philox4x32-10 (Salmon et al. 2011, "Parallel random numbers: as easy as
// 1, 2, 3"). A value is a pure function of (key, counter), so the noise of batch item i under seed s is
// the same whether it is drawn in a batch of 1 or 64, in any order, in any runtime. There is no global
// RNG and no hidden position: callers name what they draw (item index, offset, stream).
//
// Counter layout of one Philox block (4 x u32):
//   [block within the item, item index low 32 bits, item index high 21 bits, domain]
// Each block yields 4 u32 words = two 52-bit uniforms = two normals (Box-Muller) or two uniforms.
// Domains keep normals, uniforms and key derivation from ever sharing a block.

import { cosSin2Pi, logScaledInt53 } from "./math/detmath.ts";
import { ArgumentError, int } from "./validate.ts";

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

const DOMAIN_NORMAL = 0;
const DOMAIN_UNIFORM = 1;
const DOMAIN_SPLIT = 2;
const TWO32 = 4294967296;

/** High 32 bits of the 64-bit product of two u32, computed exactly with 16-bit limbs. */
function mulhi(a: number, b: number): number {
  const al = a & 0xffff;
  const ah = a >>> 16;
  const bl = b & 0xffff;
  const bh = b >>> 16;
  const ll = al * bl;
  const lh = al * bh;
  const hl = ah * bl;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (ah * bh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0;
}

/**
 * Philox4x32-10 on counter (c0..c3) and key (k0, k1); writes four u32 into out. Exported for the
 * known-answer test against the Random123 reference vectors.
 */
export function philox4x32(
  c0: number,
  c1: number,
  c2: number,
  c3: number,
  k0: number,
  k1: number,
  out: Uint32Array,
): void {
  for (let r = 0; r < 10; r++) {
    const hi0 = mulhi(M0, c0);
    const lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi(M1, c2);
    const lo1 = Math.imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

/** 32-bit FNV-1a of a string's UTF-16 code units: names a stream deterministically. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The serialisable state of an Rng: its two key words. */
export interface RngState {
  key: [number, number];
}

const MAX_ITEM = 2 ** 53 - 1;

/**
 * A seeded, stateless, splittable source of noise.
 *
 * - `normal(out, item, offset)` fills `out` with the standard normals at positions offset.. of item.
 * - `randn(batch, size, firstItem)` draws a batch whose row b is item firstItem + b.
 * - `stream(id)` derives an independent generator (a new key), for independent uses (each sampler
 *   step, each training step, the timestep draw vs the noise draw).
 */
export class Rng {
  readonly k0: number;
  readonly k1: number;
  private readonly block = new Uint32Array(4);
  private readonly cs = new Float64Array(2);

  /** seed: an integer in [0, 2^53 - 1]. */
  constructor(seed: number = 0) {
    int("seed", seed, 0, MAX_ITEM);
    this.k0 = seed >>> 0;
    this.k1 = Math.floor(seed / TWO32) >>> 0;
  }

  static fromState(state: RngState): Rng {
    if (!state || !Array.isArray(state.key) || state.key.length !== 2) {
      throw new ArgumentError("state.key", "must be an array of two u32 words");
    }
    const [a, b] = state.key;
    int("state.key[0]", a, 0, 0xffffffff);
    int("state.key[1]", b, 0, 0xffffffff);
    return Rng.fromKey(a, b);
  }

  private static fromKey(k0: number, k1: number): Rng {
    const r = new Rng(0);
    (r as { k0: number }).k0 = k0 >>> 0;
    (r as { k1: number }).k1 = k1 >>> 0;
    return r;
  }

  get state(): RngState {
    return { key: [this.k0, this.k1] };
  }

  /**
   * An independent generator for the use named by `id` (a non-negative integer or a string). The new
   * key is a Philox block of this key in a domain no draw uses, so streams never overlap draws.
   */
  stream(id: number | string): Rng {
    let lo: number;
    let hi: number;
    if (typeof id === "string") {
      lo = fnv1a(id);
      hi = 0x80000000; // string ids live apart from numeric ids
    } else {
      int("id", id, 0, 0x7fffffff * TWO32);
      lo = id >>> 0;
      hi = Math.floor(id / TWO32) >>> 0;
    }
    philox4x32(lo, hi, 0, DOMAIN_SPLIT, this.k0, this.k1, this.block);
    return Rng.fromKey(this.block[0], this.block[1] ^ this.block[2]);
  }

  /** Uniform integer n in [0, 2^52): word a's top 20 bits and word b's 32 bits. */
  private static int52(a: number, b: number): number {
    return (a >>> 12) * TWO32 + b;
  }

  private checkItem(item: number, offset: number, count: number): void {
    int("item", item, 0, MAX_ITEM);
    int("offset", offset, 0, 2 * 0xffffffff);
    if (offset + count > 2 * 0x100000000) {
      throw new ArgumentError("offset", `offset + length must be at most 2^33 per item, got ${offset + count}`);
    }
  }

  /**
   * Fill `out` with standard normals: out[j] is position offset + j of `item`. Box-Muller on two
   * 52-bit uniforms u1 = (2n+1)/2^53 (never 0) and u2, with our deterministic log and sin/cos, so the
   * bits are the same in every engine. Values are rounded to out's precision.
   */
  normal<T extends Float32Array | Float64Array>(out: T, item = 0, offset = 0): T {
    this.checkItem(item, offset, out.length);
    this.fill(out, item, offset, DOMAIN_NORMAL);
    return out;
  }

  /** Fill `out` with uniforms in (0, 1): out[j] is position offset + j of `item`. */
  uniform<T extends Float32Array | Float64Array>(out: T, item = 0, offset = 0): T {
    this.checkItem(item, offset, out.length);
    this.fill(out, item, offset, DOMAIN_UNIFORM);
    return out;
  }

  /** A [batch, size] Float32Array of normals whose row b is item firstItem + b. */
  randn(batch: number, size: number, firstItem = 0): Float32Array {
    int("batch", batch, 1);
    int("size", size, 1);
    int("firstItem", firstItem, 0, MAX_ITEM - batch);
    const out = new Float32Array(batch * size);
    for (let b = 0; b < batch; b++) this.normal(out.subarray(b * size, (b + 1) * size), firstItem + b, 0);
    return out;
  }

  private fill(out: Float32Array | Float64Array, item: number, offset: number, domain: number): void {
    const itemLo = item >>> 0;
    const itemHi = Math.floor(item / TWO32) >>> 0;
    const blk = this.block;
    const cs = this.cs;
    let j = 0;
    const n = out.length;
    while (j < n) {
      const pos = offset + j;
      const blockIndex = Math.floor(pos / 2);
      const lane = pos - 2 * blockIndex; // 0 or 1: which value of the block's pair comes first
      philox4x32(blockIndex >>> 0, itemLo, itemHi, domain, this.k0, this.k1, blk);
      let v0: number;
      let v1: number;
      if (domain === DOMAIN_NORMAL) {
        const n1 = Rng.int52(blk[0], blk[1]);
        const n2 = Rng.int52(blk[2], blk[3]);
        // -2 ln u1 with u1 = (2 n1 + 1) * 2^-53
        const r = Math.sqrt(-2 * logScaledInt53(2 * n1 + 1));
        cosSin2Pi(n2 * 2.220446049250313e-16, cs); // n2 / 2^52 in [0, 1)
        v0 = r * cs[0];
        v1 = r * cs[1];
      } else {
        v0 = (2 * Rng.int52(blk[0], blk[1]) + 1) * 1.1102230246251565e-16;
        v1 = (2 * Rng.int52(blk[2], blk[3]) + 1) * 1.1102230246251565e-16;
      }
      if (lane === 0) {
        out[j++] = v0;
        if (j < n) out[j++] = v1;
      } else {
        out[j++] = v1;
      }
    }
  }
}
