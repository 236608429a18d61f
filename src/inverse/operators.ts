// Linear measurement operators y = A x for inverse problems, each with its singular value decomposition
// A = U diag(s) V^T in closed form, which DDRM (Kawar et al. 2022, sec. 3) works in. Items are images
// [C, H, W] stored flat, batches [B, C, H, W]; every method takes (data, batch) and works per item.
//
// The spectral convention (as in DDRM's H_functions): x̄ = V^T x has inSize coordinates, ȳ = U^T y has
// outSize <= inSize; coordinate i < outSize of x̄ pairs with coordinate i of ȳ through the singular value
// s_i (A x = U (s ⊙ x̄[0..outSize))); coordinates i >= outSize span A's null space. Every operator here
// computes A and A^T directly (convolution, averaging, gathering), independently of its SVD, so the
// tests can check that the SVD reconstructs A.

import { ArgumentError, inRange, int, itemSize } from "../validate.ts";

export type ItemShape = readonly [channels: number, height: number, width: number];

/** A linear operator with its SVD. All outputs are new Float64Arrays; inputs may be any array of numbers. */
export interface LinearOperator {
  /** What it does, for messages: "average-pool x4", "gaussian blur sigma 1.5"... */
  readonly name: string;
  /** The shape of one x: [C, H, W]. */
  readonly inShape: ItemShape;
  /** The shape of one y (a mask's y is the kept values: [1, 1, kept]). */
  readonly outShape: ItemShape;
  readonly inSize: number;
  readonly outSize: number;
  /** s_i >= 0 for the spectral coordinates i < outSize. */
  readonly singulars: Float64Array;
  /** y = A x. */
  A(x: ArrayLike<number>, batch: number): Float64Array;
  /** A^T y. */
  At(y: ArrayLike<number>, batch: number): Float64Array;
  /** x̄ = V^T x (inSize values per item). */
  Vt(x: ArrayLike<number>, batch: number): Float64Array;
  /** x = V x̄. */
  V(xbar: ArrayLike<number>, batch: number): Float64Array;
  /** ȳ = U^T y (outSize values per item). */
  Ut(y: ArrayLike<number>, batch: number): Float64Array;
  /** y = U ȳ. */
  U(ybar: ArrayLike<number>, batch: number): Float64Array;
}

type ItemFn = (src: ArrayLike<number>, so: number, dst: Float64Array, d: number) => void;

/** Apply a per-item map from items of `inN` to items of `outN` values over a batch. */
function perItem(arg: string, data: ArrayLike<number>, batch: number, inN: number, outN: number, fn: ItemFn): Float64Array {
  if (!data || typeof data.length !== "number") throw new ArgumentError(arg, "must be an array of numbers");
  const n = itemSize(arg, data, batch);
  if (n !== inN) throw new ArgumentError(arg, `must hold batch (${batch}) items of ${inN} values, got ${data.length} values`);
  const out = new Float64Array(batch * outN);
  for (let b = 0; b < batch; b++) fn(data, b * inN, out, b * outN);
  return out;
}

function checkShape(arg: string, shape: readonly number[]): ItemShape {
  if (!Array.isArray(shape) || shape.length !== 3) throw new ArgumentError(arg, `must be [channels, height, width], got ${JSON.stringify(shape)}`);
  return [int(`${arg}[0]`, shape[0], 1, 4096), int(`${arg}[1]`, shape[1], 1, 1 << 16), int(`${arg}[2]`, shape[2], 1, 1 << 16)];
}

/**
 * An operator whose every output is the mean of its own group of k inputs, the groups partitioning the
 * input (average pooling: a block of f x f pixels; colour to gray: the channels of one pixel). Per group
 * the row is (1/k) 1^T, with singular value 1/sqrt(k) and right singular vector v0 = 1/sqrt(k); the other
 * k - 1 right singular vectors complete v0 to an orthonormal basis by the Householder reflection
 * H = I - 2 w w^T / (w^T w), w = e1 - v0, which is symmetric and orthogonal and maps e1 to v0 (so V = H per
 * group, and V^T = H too). U = I.
 */
class GroupMean implements LinearOperator {
  readonly inSize: number;
  readonly outSize: number;
  readonly singulars: Float64Array;
  private readonly k: number;
  private readonly wv: Float64Array;
  private readonly wScale: number;

  constructor(
    readonly name: string,
    readonly inShape: ItemShape,
    readonly outShape: ItemShape,
    /** Group-major input indices: group g is members[g k .. g k + k). */
    private readonly members: Int32Array,
  ) {
    this.inSize = inShape[0] * inShape[1] * inShape[2];
    this.outSize = outShape[0] * outShape[1] * outShape[2];
    const k = this.inSize / this.outSize;
    this.k = k;
    this.singulars = new Float64Array(this.outSize).fill(1 / Math.sqrt(k));
    this.wv = new Float64Array(k).fill(-1 / Math.sqrt(k));
    this.wv[0] += 1;
    const ww = 2 - 2 / Math.sqrt(k);
    this.wScale = ww > 0 ? 2 / ww : 0; // k = 1: w = 0, H = I
  }

  A(x: ArrayLike<number>, batch: number): Float64Array {
    const { k, members, outSize } = this;
    return perItem("x", x, batch, this.inSize, outSize, (src, so, dst, d) => {
      for (let g = 0; g < outSize; g++) {
        let s = 0;
        for (let j = 0; j < k; j++) s += src[so + members[g * k + j]];
        dst[d + g] = s / k;
      }
    });
  }

  At(y: ArrayLike<number>, batch: number): Float64Array {
    const { k, members, outSize } = this;
    return perItem("y", y, batch, outSize, this.inSize, (src, so, dst, d) => {
      for (let g = 0; g < outSize; g++) for (let j = 0; j < k; j++) dst[d + members[g * k + j]] = src[so + g] / k;
    });
  }

  /** z = H v for one group's k values (H symmetric: the same map serves V and V^T). */
  private householder(v: Float64Array): void {
    let dot = 0;
    for (let j = 0; j < this.k; j++) dot += this.wv[j] * v[j];
    const c = this.wScale * dot;
    for (let j = 0; j < this.k; j++) v[j] -= c * this.wv[j];
  }

  Vt(x: ArrayLike<number>, batch: number): Float64Array {
    const { k, members, outSize } = this;
    const v = new Float64Array(k);
    return perItem("x", x, batch, this.inSize, this.inSize, (src, so, dst, d) => {
      for (let g = 0; g < outSize; g++) {
        for (let j = 0; j < k; j++) v[j] = src[so + members[g * k + j]];
        this.householder(v);
        dst[d + g] = v[0];
        for (let j = 1; j < k; j++) dst[d + outSize + g * (k - 1) + j - 1] = v[j];
      }
    });
  }

  V(xbar: ArrayLike<number>, batch: number): Float64Array {
    const { k, members, outSize } = this;
    const v = new Float64Array(k);
    return perItem("xbar", xbar, batch, this.inSize, this.inSize, (src, so, dst, d) => {
      for (let g = 0; g < outSize; g++) {
        v[0] = src[so + g];
        for (let j = 1; j < k; j++) v[j] = src[so + outSize + g * (k - 1) + j - 1];
        this.householder(v);
        for (let j = 0; j < k; j++) dst[d + members[g * k + j]] = v[j];
      }
    });
  }

  Ut(y: ArrayLike<number>, batch: number): Float64Array {
    return perItem("y", y, batch, this.outSize, this.outSize, (src, so, dst, d) => {
      for (let i = 0; i < this.outSize; i++) dst[d + i] = src[so + i];
    });
  }

  U(ybar: ArrayLike<number>, batch: number): Float64Array {
    return perItem("ybar", ybar, batch, this.outSize, this.outSize, (src, so, dst, d) => {
      for (let i = 0; i < this.outSize; i++) dst[d + i] = src[so + i];
    });
  }
}

/**
 * Super-resolution's operator: average pooling by an integer factor f, [C, H, W] -> [C, H/f, W/f], each
 * output pixel the mean of its f x f block (DDRM's "SuperResolution" H). Singular values 1/f.
 */
export function averagePool(shape: readonly number[], factor: number): LinearOperator {
  const [C, H, W] = checkShape("shape", shape);
  const f = int("factor", factor, 1, Math.min(H, W));
  if (H % f !== 0 || W % f !== 0) {
    throw new ArgumentError("factor", `must divide the image size ${H}x${W}, got ${f} (allowed: ${divisors(H, W).join(", ")})`);
  }
  const h = H / f;
  const w = W / f;
  const members = new Int32Array(C * H * W);
  let m = 0;
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        for (let a = 0; a < f; a++) for (let b = 0; b < f; b++) members[m++] = (c * H + i * f + a) * W + j * f + b;
      }
    }
  }
  return new GroupMean(`average-pool x${f}`, [C, H, W], [C, h, w], members);
}

/** The common divisors of H and W (the allowed pooling factors). */
export function divisors(H: number, W: number): number[] {
  const out: number[] = [];
  for (let f = 1; f <= Math.min(H, W); f++) if (H % f === 0 && W % f === 0) out.push(f);
  return out;
}

/**
 * Colour to gray: [C, H, W] -> [1, H, W], each pixel the mean of its C channels (DDRM's colorization
 * operator). Singular values 1/sqrt(C).
 */
export function colorToGray(shape: readonly number[]): LinearOperator {
  const [C, H, W] = checkShape("shape", shape);
  if (C < 2) throw new ArgumentError("shape", `colour to gray needs an image of 2 or more channels (RGB: 3), got ${C}`);
  const P = H * W;
  const members = new Int32Array(C * P);
  for (let p = 0; p < P; p++) for (let c = 0; c < C; c++) members[p * C + c] = c * P + p;
  return new GroupMean(`colour to gray (${C} channels)`, [C, H, W], [1, H, W], members);
}

/**
 * Inpainting's operator: keep the pixels where mask = 1 (the mask is one item, [C, H, W] values 0 or
 * 1), y = the kept values in order, [1, 1, kept]. V^T x lists the kept values, then the missing ones;
 * U = I; every singular value is 1.
 */
export function maskOperator(shape: readonly number[], mask: ArrayLike<number>): LinearOperator {
  const [C, H, W] = checkShape("shape", shape);
  const n = C * H * W;
  if (!mask || mask.length !== n) throw new ArgumentError("mask", `must hold ${n} values (one item of [${C}, ${H}, ${W}]), got ${mask?.length}`);
  const kept: number[] = [];
  const missing: number[] = [];
  for (let i = 0; i < n; i++) {
    if (mask[i] === 1) kept.push(i);
    else if (mask[i] === 0) missing.push(i);
    else throw new ArgumentError(`mask[${i}]`, `must be 0 (fill in) or 1 (keep), got ${mask[i]}`);
  }
  if (kept.length === 0) throw new ArgumentError("mask", "keeps no pixel: nothing to condition on");
  const order = Int32Array.from([...kept, ...missing]);
  const K = kept.length;
  const copy = (len: number, idx: (i: number) => number, scatter: boolean): ItemFn => (src, so, dst, d) => {
    for (let i = 0; i < len; i++) {
      if (scatter) dst[d + idx(i)] = src[so + i];
      else dst[d + i] = src[so + idx(i)];
    }
  };
  const id = (i: number) => i;
  return {
    name: `mask (${K} of ${n} kept)`,
    inShape: [C, H, W],
    outShape: [1, 1, K],
    inSize: n,
    outSize: K,
    singulars: new Float64Array(K).fill(1),
    A: (x, batch) => perItem("x", x, batch, n, K, copy(K, (i) => order[i], false)),
    At: (y, batch) => perItem("y", y, batch, K, n, copy(K, (i) => order[i], true)),
    Vt: (x, batch) => perItem("x", x, batch, n, n, copy(n, (i) => order[i], false)),
    V: (xbar, batch) => perItem("xbar", xbar, batch, n, n, copy(n, (i) => order[i], true)),
    Ut: (y, batch) => perItem("y", y, batch, K, K, copy(K, id, false)),
    U: (ybar, batch) => perItem("ybar", ybar, batch, K, K, copy(K, id, false)),
  };
}

/** The normalized Gaussian kernel taps k_0..k_r of standard deviation sigma (radius r = ceil(3 sigma)). */
export function gaussianTaps(sigma: number): Float64Array {
  const r = Math.max(1, Math.ceil(3 * sigma));
  const k = new Float64Array(r + 1);
  let total = 0;
  for (let m = 0; m <= r; m++) {
    k[m] = Math.exp(-(m * m) / (2 * sigma * sigma));
    total += m === 0 ? k[m] : 2 * k[m];
  }
  for (let m = 0; m <= r; m++) k[m] /= total;
  return k;
}

/** The orthonormal DCT-II matrix of size n (row k is the k-th basis vector): C[k][j] = c_k cos(pi (2j + 1) k / 2n). */
function dctMatrix(n: number): Float64Array {
  const c = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const ck = k === 0 ? Math.sqrt(1 / n) : Math.sqrt(2 / n);
    for (let j = 0; j < n; j++) c[k * n + j] = ck * Math.cos((Math.PI * (2 * j + 1) * k) / (2 * n));
  }
  return c;
}

/** Index j of the half-sample symmetric extension of a signal of length n (period 2n): ... x1 x0 | x0 x1 ... */
function reflect(j: number, n: number): number {
  let m = j % (2 * n);
  if (m < 0) m += 2 * n;
  return m < n ? m : 2 * n - 1 - m;
}

/**
 * Gaussian blur of standard deviation sigma pixels, separable (the same 1-D kernel along rows and
 * columns, each channel alone), with the half-sample symmetric boundary (the image mirrored about its
 * edges, x_{-1} = x_0: scipy's "reflect", numpy's "symmetric"). With this boundary a symmetric 1-D
 * convolution B is diagonalised by the DCT-II, B = C^T diag(lambda) C, lambda_k = k_0 + 2 sum_{m=1}^{r}
 * k_m cos(pi k m / n) (Ng, Chan & Tang 1999, "A fast algorithm for deblurring models with Neumann
 * boundary conditions"), so the 2-D SVD is closed-form: V = the 2-D DCT basis, s_(k,l) = |lambda_k mu_l|,
 * U = V with the sign of lambda_k mu_l. (A zero boundary would give a Toeplitz matrix with no closed-form
 * SVD; a periodic one a complex DFT basis.) The blur is symmetric (A^T = A).
 */
export function gaussianBlur(shape: readonly number[], sigma: number): LinearOperator {
  const [C, H, W] = checkShape("shape", shape);
  const s = inRange("sigma", sigma, 0, 64, "(]");
  const taps = gaussianTaps(s);
  const r = taps.length - 1;
  const axis = (n: number) => {
    const dct = dctMatrix(n);
    const lambda = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      let v = taps[0];
      for (let m = 1; m <= r; m++) v += 2 * taps[m] * Math.cos((Math.PI * k * m) / n);
      lambda[k] = v;
    }
    return { dct, lambda };
  };
  const ah = axis(H);
  const aw = axis(W);
  const P = H * W;
  const n = C * P;
  const singulars = new Float64Array(n);
  const sign = new Float64Array(n);
  for (let c = 0; c < C; c++) {
    for (let k = 0; k < H; k++) {
      for (let l = 0; l < W; l++) {
        const v = ah.lambda[k] * aw.lambda[l];
        singulars[c * P + k * W + l] = Math.abs(v);
        sign[c * P + k * W + l] = v < 0 ? -1 : 1;
      }
    }
  }
  const tmp = new Float64Array(P);
  // direct separable convolution with the mirrored boundary (A = A^T: the kernel and boundary are symmetric)
  const blur: ItemFn = (src, so, dst, d) => {
    for (let c = 0; c < C; c++) {
      const base = so + c * P;
      for (let i = 0; i < H; i++) {
        for (let j = 0; j < W; j++) {
          let v = taps[0] * src[base + i * W + j];
          for (let m = 1; m <= r; m++) v += taps[m] * (src[base + i * W + reflect(j - m, W)] + src[base + i * W + reflect(j + m, W)]);
          tmp[i * W + j] = v;
        }
      }
      for (let i = 0; i < H; i++) {
        for (let j = 0; j < W; j++) {
          let v = taps[0] * tmp[i * W + j];
          for (let m = 1; m <= r; m++) v += taps[m] * (tmp[reflect(i - m, H) * W + j] + tmp[reflect(i + m, H) * W + j]);
          dst[d + c * P + i * W + j] = v;
        }
      }
    }
  };
  // 2-D DCT per channel: forward X̄ = C_H X C_W^T, inverse X = C_H^T X̄ C_W; `signs` flips U's columns
  const dct2 = (forward: boolean, signs: boolean): ItemFn => (src, so, dst, d) => {
    for (let c = 0; c < C; c++) {
      const base = so + c * P;
      for (let i = 0; i < H; i++) {
        for (let l = 0; l < W; l++) {
          let v = 0;
          for (let j = 0; j < W; j++) v += src[base + i * W + j] * (forward ? aw.dct[l * W + j] : aw.dct[j * W + l]);
          tmp[i * W + l] = v;
        }
      }
      for (let k = 0; k < H; k++) {
        for (let l = 0; l < W; l++) {
          let v = 0;
          for (let i = 0; i < H; i++) v += (forward ? ah.dct[k * H + i] : ah.dct[i * H + k]) * tmp[i * W + l];
          dst[d + c * P + k * W + l] = v;
        }
      }
    }
    if (signs) for (let i = 0; i < n; i++) dst[d + i] *= sign[i];
  };
  const signed = (fn: ItemFn, before: boolean): ItemFn => {
    if (!before) return fn;
    // U ȳ = V (sign ⊙ ȳ): flip signs first
    const buf = new Float64Array(n);
    return (src, so, dst, d) => {
      for (let i = 0; i < n; i++) buf[i] = sign[i] * src[so + i];
      fn(buf, 0, dst, d);
    };
  };
  return {
    name: `gaussian blur sigma ${s}`,
    inShape: [C, H, W],
    outShape: [C, H, W],
    inSize: n,
    outSize: n,
    singulars,
    A: (x, batch) => perItem("x", x, batch, n, n, blur),
    At: (y, batch) => perItem("y", y, batch, n, n, blur),
    Vt: (x, batch) => perItem("x", x, batch, n, n, dct2(true, false)),
    V: (xbar, batch) => perItem("xbar", xbar, batch, n, n, dct2(false, false)),
    Ut: (y, batch) => perItem("y", y, batch, n, n, dct2(true, true)),
    U: (ybar, batch) => perItem("ybar", ybar, batch, n, n, signed(dct2(false, false), true)),
  };
}

/**
 * The pseudo-inverse A^+ y = V diag(1/s_i) U^T y, with 1/s_i taken as 0 where s_i <= rcond max(s) (the
 * least-norm least-squares solution). For a full-row-rank A (all of ours but a blur with a vanishing
 * frequency), A A^+ = I.
 */
export function pinv(op: LinearOperator, y: ArrayLike<number>, batch: number, rcond = 1e-10): Float64Array {
  const ybar = op.Ut(y, batch);
  const s = op.singulars;
  let max = 0;
  for (let i = 0; i < s.length; i++) max = Math.max(max, s[i]);
  const xbar = new Float64Array(batch * op.inSize);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < op.outSize; i++) xbar[b * op.inSize + i] = s[i] > rcond * max ? ybar[b * op.outSize + i] / s[i] : 0;
  }
  return op.V(xbar, batch);
}
