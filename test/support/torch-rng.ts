// PyTorch's CPU generator, reimplemented from its documented algorithm so diffusers' tests that draw
// noise with `torch.manual_seed(s)` can be ported with their expected values. Test support only: the
// library's own randomness is src/rng.ts (counter-based, the same in every runtime).
//
// torch.manual_seed seeds a standard MT19937 (Matsumoto & Nishimura 1998). Uniform floats keep the low
// 24 bits of one 32-bit draw (doubles: 53 bits of two draws), divided by 2^24 (2^53). torch.randn for
// a float32 tensor of at least 16 elements fills it with uniforms, then turns each block of 16 into
// normals by Box-Muller (u1 = 1 - data[j], u2 = data[j + 8] for j < 8), recomputing the last 16 from
// fresh uniforms when the size is not a multiple of 16; smaller tensors take one double-precision
// Box-Muller normal per element (caching the second value of each pair).

export class TorchGenerator {
  private readonly mt = new Uint32Array(624);
  private index = 624;
  private cachedNormal: number | null = null;

  constructor(seed = 0) {
    this.manualSeed(seed);
  }

  manualSeed(seed: number): this {
    const mt = this.mt;
    mt[0] = seed >>> 0;
    for (let i = 1; i < 624; i++) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      // 1812433253 * prev + i, modulo 2^32, without losing bits to float64
      mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
    this.index = 624;
    this.cachedNormal = null;
    return this;
  }

  /** One 32-bit MT19937 output. */
  random(): number {
    const mt = this.mt;
    if (this.index >= 624) {
      for (let i = 0; i < 624; i++) {
        const y = (mt[i] & 0x80000000) | (mt[(i + 1) % 624] & 0x7fffffff);
        mt[i] = mt[(i + 397) % 624] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.index = 0;
    }
    let y = mt[this.index++];
    y ^= y >>> 11;
    y = (y ^ ((y << 7) & 0x9d2c5680)) >>> 0;
    y = (y ^ ((y << 15) & 0xefc60000)) >>> 0;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** A float32 uniform in [0, 1): 24 random bits. */
  uniformF32(): number {
    return (this.random() & 0xffffff) / 16777216;
  }

  /** A float64 uniform in [0, 1): 53 random bits of two draws (the first the high word). */
  uniformF64(): number {
    const hi = this.random();
    const lo = this.random();
    // (hi << 32 | lo) & (2^53 - 1): the low 21 bits of hi and all of lo
    return ((hi & 0x1fffff) * 4294967296 + lo) / 9007199254740992;
  }

  /** torch.rand(n) as float32. */
  rand(n: number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.uniformF32();
    return out;
  }

  /** torch.randn(n) as float32 (a contiguous tensor of n elements, any shape). */
  randn(n: number): Float32Array {
    const out = new Float32Array(n);
    if (n >= 16) {
      for (let i = 0; i < n; i++) out[i] = this.uniformF32();
      for (let i = 0; i + 16 <= n; i += 16) boxMuller16(out, i);
      if (n % 16 !== 0) {
        const base = n - 16;
        for (let i = 0; i < 16; i++) out[base + i] = this.uniformF32();
        boxMuller16(out, base);
      }
      return out;
    }
    for (let i = 0; i < n; i++) out[i] = this.normalF64();
    return out;
  }

  /** One double-precision normal (torch's normal_distribution<double>), the pair's sine cached. */
  private normalF64(): number {
    if (this.cachedNormal !== null) {
      const v = this.cachedNormal;
      this.cachedNormal = null;
      return v;
    }
    const u1 = this.uniformF64();
    const u2 = this.uniformF64();
    const r = Math.sqrt(-2 * Math.log1p(-u2));
    const theta = 2 * Math.PI * u1;
    this.cachedNormal = r * Math.sin(theta);
    return r * Math.cos(theta);
  }
}

/** Box-Muller on 16 float32 uniforms in place: data[j] and data[j + 8] become a pair of normals. */
function boxMuller16(data: Float32Array, at: number): void {
  for (let j = 0; j < 8; j++) {
    const u1 = Math.fround(1 - data[at + j]); // [0, 1) -> (0, 1] for the log
    const u2 = data[at + j + 8];
    const radius = Math.fround(Math.sqrt(Math.fround(-2 * Math.fround(Math.log(u1)))));
    const theta = 2 * Math.PI * u2;
    data[at + j] = radius * Math.cos(theta);
    data[at + j + 8] = radius * Math.sin(theta);
  }
}

/** torch.manual_seed(seed): a fresh generator (the tests' `generator = torch.manual_seed(0)`). */
export function manualSeed(seed: number): TorchGenerator {
  return new TorchGenerator(seed);
}
