// Deterministic transcendental functions for the noise transform.
//
// ECMAScript lets engines differ in the last bit of Math.log / Math.cos / Math.sin ("implementation-
// approximated"), so a normal sample computed with them could differ between V8, JavaScriptCore and
// SpiderMonkey. +, -, *, / and sqrt are correctly rounded IEEE-754 double operations everywhere (and JS
// never fuses a*b+c), so any function built only from them gives the same bits in every engine. These are
// such functions: accurate to a few ulp, and identical everywhere. They are not general-purpose: each
// documents the domain it is written for.

const LN2 = 0.6931471805599453; // ln 2 rounded to double
const SQRT_HALF = 0.7071067811865476;
const TWO_PI = 6.283185307179586;

/** 2^-k for k = 0..64, each exact. */
const POW2_NEG: Float64Array = (() => {
  const t = new Float64Array(65);
  let v = 1;
  for (let k = 0; k <= 64; k++) {
    t[k] = v;
    v *= 0.5;
  }
  return t;
})();

/**
 * Natural log of m for m in [sqrt(1/2), sqrt(2)): log m = 2 atanh(s), s = (m-1)/(m+1), |s| <= 0.1716.
 * The odd series s + s^3/3 + ... + s^21/21 has its first dropped term below 2^-55 relative.
 */
function logReduced(m: number): number {
  return logFromS((m - 1) / (m + 1));
}

/**
 * Natural log of n * 2^-53 for an integer n in [1, 2^53). This is the domain of the uniforms the RNG
 * produces, and it lets us find the binary exponent from the integer with Math.clz32 (exact) instead of
 * reading float bits.
 */
export function logScaledInt53(n: number): number {
  const hi = Math.floor(n / 4294967296);
  const lo = n - hi * 4294967296;
  const bits = hi > 0 ? 64 - Math.clz32(hi) : 32 - Math.clz32(lo);
  // m = n / 2^bits in [0.5, 1): exact, a power-of-two scale.
  let m = n * POW2_NEG[bits];
  let e = bits - 53;
  if (m < SQRT_HALF) {
    m *= 2;
    e -= 1;
  }
  return logReduced(m) + e * LN2;
}

// sin and cos on [-pi/4, pi/4] by Taylor series to x^19 / x^18: the remainder is below 2^-60.
function sinSmall(x: number): number {
  const z = x * x;
  let p = -1 / 121645100408832000; // -1/19!
  p = p * z + 1 / 355687428096000; // 1/17!
  p = p * z - 1 / 1307674368000; // -1/15!
  p = p * z + 1 / 6227020800; // 1/13!
  p = p * z - 1 / 39916800; // -1/11!
  p = p * z + 1 / 362880; // 1/9!
  p = p * z - 1 / 5040; // -1/7!
  p = p * z + 1 / 120; // 1/5!
  p = p * z - 1 / 6; // -1/3!
  return x + x * z * p;
}

function cosSmall(x: number): number {
  const z = x * x;
  let p = 1 / 6402373705728000; // 1/18!
  p = p * z - 1 / 20922789888000; // -1/16!
  p = p * z + 1 / 87178291200; // 1/14!
  p = p * z - 1 / 479001600; // -1/12!
  p = p * z + 1 / 3628800; // 1/10!
  p = p * z - 1 / 40320; // -1/8!
  p = p * z + 1 / 720; // 1/6!
  p = p * z - 1 / 24; // -1/4!
  p = p * z + 1 / 2; // 1/2!
  return 1 - z * p;
}

/**
 * [cos(2 pi u), sin(2 pi u)] for u in [0, 1), written into out[0], out[1].
 * The quadrant is taken from u exactly (4u is exact), so no large argument is ever reduced by an
 * inexact multiple of pi.
 */
export function cosSin2Pi(u: number, out: Float64Array): void {
  const q = Math.floor(4 * u + 0.5); // nearest quarter turn, 0..4
  const f = u - q * 0.25; // in [-1/8, 1/8]
  const x = f * TWO_PI; // in [-pi/4, pi/4]
  const c = cosSmall(x);
  const s = sinSmall(x);
  switch (q & 3) {
    case 0:
      out[0] = c;
      out[1] = s;
      break;
    case 1:
      out[0] = -s;
      out[1] = c;
      break;
    case 2:
      out[0] = -c;
      out[1] = -s;
      break;
    default:
      out[0] = s;
      out[1] = -c;
  }
}

// ---------------------------------------------------------------------------------------------------
// General-purpose deterministic exp, log, expm1, log1p, sin, cos, pow for the schedules' scalar math.
// Same idea: only correctly rounded operations, so every engine (V8, JavaScriptCore, SpiderMonkey, WASM)
// gives the same bits, and a seed's samples are byte-identical across runtimes.

const LN2_HI = 6.93147180369123816490e-1; // ln 2, top 32 bits: k * LN2_HI is exact for |k| < 2^11
const LN2_LO = 1.90821492927058770002e-10; // ln 2 - LN2_HI
const INV_LN2 = 1.4426950408889634;
const PIO2_HI = 1.57079632673412561417; // pi/2, top 33 bits
const PIO2_LO = 6.07710050650619224932e-11; // pi/2 - PIO2_HI
const TWO_OVER_PI = 0.6366197723675814;

const dv = new DataView(new ArrayBuffer(8));

/** 2^k for an integer k in [-1022, 1023], exactly, by building the bits. */
function pow2Normal(k: number): number {
  dv.setUint32(0, (k + 1023) << 20, false);
  dv.setUint32(4, 0, false);
  return dv.getFloat64(0, false);
}

/** 2^k for any integer k, exact where representable (two normal factors cover subnormal results). */
function pow2(k: number): number {
  if (k > 1023) return k > 2046 ? Infinity : pow2Normal(1023) * pow2Normal(k - 1023);
  if (k < -1022) return k < -2100 ? 0 : pow2Normal(-1022) * pow2Normal(Math.max(k + 1022, -1022));
  return pow2Normal(k);
}

/** exp(r) for |r| <= ln2/2 + tiny: Taylor to r^15, remainder below 1e-19. */
function expReduced(r: number): number {
  let p = 1 / 1307674368000; // 1/15!
  p = p * r + 1 / 87178291200;
  p = p * r + 1 / 6227020800;
  p = p * r + 1 / 479001600;
  p = p * r + 1 / 39916800;
  p = p * r + 1 / 3628800;
  p = p * r + 1 / 362880;
  p = p * r + 1 / 40320;
  p = p * r + 1 / 5040;
  p = p * r + 1 / 720;
  p = p * r + 1 / 120;
  p = p * r + 1 / 24;
  p = p * r + 1 / 6;
  p = p * r + 1 / 2;
  return 1 + r + r * r * p;
}

/** e^x, deterministic; relative error a few ulp. */
export function dexp(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x > 709.8) return Infinity;
  if (x < -745.2) return 0;
  const k = Math.round(x * INV_LN2);
  const r = x - k * LN2_HI - k * LN2_LO;
  // 2^1024 and 2^-1075 are not doubles: scale the reduced value by 2 exactly first, so the result is
  // rounded once (x in [709.44, 709.78] used to overflow, x near -745.1 to flush to 0).
  if (k > 1023) return expReduced(r) * 2 * pow2(k - 1);
  if (k < -1074) return expReduced(r) * 0.5 * pow2(k + 1);
  return expReduced(r) * pow2(k);
}

/** e^x - 1, accurate near 0. */
export function dexpm1(x: number): number {
  if (Math.abs(x) < 0.3) {
    let p = 1 / 1307674368000;
    p = p * x + 1 / 87178291200;
    p = p * x + 1 / 6227020800;
    p = p * x + 1 / 479001600;
    p = p * x + 1 / 39916800;
    p = p * x + 1 / 3628800;
    p = p * x + 1 / 362880;
    p = p * x + 1 / 40320;
    p = p * x + 1 / 5040;
    p = p * x + 1 / 720;
    p = p * x + 1 / 120;
    p = p * x + 1 / 24;
    p = p * x + 1 / 6;
    p = p * x + 1 / 2;
    return x + x * x * p;
  }
  return dexp(x) - 1;
}

/** Natural log, deterministic; relative error a few ulp. NaN for x < 0, -Infinity at 0. */
export function dlog(x: number): number {
  if (Number.isNaN(x) || x < 0) return NaN;
  if (x === 0) return -Infinity;
  if (x === Infinity) return Infinity;
  let e = 0;
  if (x < 2.2250738585072014e-308) {
    x *= 18014398509481984; // 2^54: make subnormals normal
    e = -54;
  }
  dv.setFloat64(0, x, false);
  const hi = dv.getUint32(0, false);
  e += ((hi >>> 20) & 0x7ff) - 1023;
  // mantissa in [1, 2), then move to [sqrt(1/2), sqrt(2))
  dv.setUint32(0, (hi & 0x000fffff) | 0x3ff00000, false);
  let m = dv.getFloat64(0, false);
  if (m > 1.4142135623730951) {
    m *= 0.5;
    e += 1;
  }
  return logReduced(m) + e * LN2_HI + e * LN2_LO;
}

/** log(1 + x), accurate near 0. */
export function dlog1p(x: number): number {
  // below 2^-54, x itself is log1p(x) correctly rounded (x / (2 + x) would underflow subnormals to 0)
  if (Math.abs(x) < 5.551115123125783e-17) return x;
  if (x > -0.29 && x < 0.41) {
    // log(1+x) = 2 atanh(x / (2 + x)); |s| <= 0.17, the range logReduced's series is written for
    return logFromS(x / (2 + x));
  }
  return dlog(1 + x);
}

/** 2 atanh(s) = log((1+s)/(1-s)) for |s| <= 0.1716: the odd series to s^21 (Horner over 1/(2k+1)). */
function logFromS(s: number): number {
  const z = s * s;
  let p = 1 / 21;
  p = p * z + 1 / 19;
  p = p * z + 1 / 17;
  p = p * z + 1 / 15;
  p = p * z + 1 / 13;
  p = p * z + 1 / 11;
  p = p * z + 1 / 9;
  p = p * z + 1 / 7;
  p = p * z + 1 / 5;
  p = p * z + 1 / 3;
  return 2 * s + 2 * s * z * p;
}

/** x^y for x > 0 (schedules only raise positive numbers). */
export function dpow(x: number, y: number): number {
  if (x === 1 || y === 0) return 1;
  return dexp(y * dlog(x));
}

/** sin and cos for |x| < 2^20 (the schedules' angles are within [0, pi]). */
function reduceHalfPi(x: number): [number, number] {
  const k = Math.round(x * TWO_OVER_PI);
  const r = x - k * PIO2_HI - k * PIO2_LO;
  return [k, r];
}

export function dsin(x: number): number {
  const [k, r] = reduceHalfPi(x);
  switch (((k % 4) + 4) % 4) {
    case 0:
      return sinSmall(r);
    case 1:
      return cosSmall(r);
    case 2:
      return -sinSmall(r);
    default:
      return -cosSmall(r);
  }
}

export function dcos(x: number): number {
  const [k, r] = reduceHalfPi(x);
  switch (((k % 4) + 4) % 4) {
    case 0:
      return cosSmall(r);
    case 1:
      return -sinSmall(r);
    case 2:
      return -cosSmall(r);
    default:
      return sinSmall(r);
  }
}

/** Logistic sigmoid 1 / (1 + e^-x), stable for large |x|. */
export function dsigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + dexp(-x));
  const e = dexp(x);
  return e / (1 + e);
}
