// Elementwise, activation, normalisation and reduction kernels, f32 SIMD128.
//
// Tails: plain arithmetic (+, -, *, /, sqrt) is IEEE-exact in SIMD lanes and in scalar f32, so those
// kernels finish with a scalar twin loop and every element gets the same bits wherever it sits. Kernels
// that use our polynomial exp run their tail through a 4-lane bounce buffer instead, so a tail element
// goes through exactly the SIMD arithmetic (the result never depends on an element's position).
// Reductions accumulate in f64 (two f64x2 lanes per f32x4) in a fixed order.

import { bounce } from "./blocking";

// ---- exp ---------------------------------------------------------------------------------------------

/**
 * exp on 4 lanes: Cody–Waite reduction x = n·ln2 + r, |r| ≤ ln2/2, then the Cephes expf polynomial
 * (relative error ≈ 1–2 ulp), scaled by 2^n built in the exponent bits. Input clamped to [-87.3, 88.3]
 * so 2^n stays a normal f32 (exp(-87.3) ≈ 1.2e-38 instead of underflowing to 0).
 */
// @ts-ignore: decorator
@inline function exp4(x: v128): v128 {
  x = f32x4.min(f32x4.max(x, f32x4.splat(-87.3)), f32x4.splat(88.3));
  const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(1.44269504088896341)));
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(p, f32x4.mul(r, r)), r), f32x4.splat(1));
  const e = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return f32x4.mul(p, e);
}

/** silu(x) = x·sigmoid(x) = x / (1 + exp(-x)) on 4 lanes. */
// @ts-ignore: decorator
@inline function silu4(x: v128): v128 {
  return f32x4.div(x, f32x4.add(f32x4.splat(1), exp4(f32x4.neg(x))));
}

/** d silu / dx = s·(1 + x·(1 − s)), s = sigmoid(x), on 4 lanes. */
// @ts-ignore: decorator
@inline function silu4Grad(x: v128): v128 {
  const one = f32x4.splat(1);
  const s = f32x4.div(one, f32x4.add(one, exp4(f32x4.neg(x))));
  return f32x4.mul(s, f32x4.add(one, f32x4.mul(x, f32x4.sub(one, s))));
}

/** Load n < 4 floats from p into a zero-padded v128 through the bounce buffer. */
// @ts-ignore: decorator
@inline function loadTail(p: usize, n: i32): v128 {
  const b = bounce();
  v128.store(b, f32x4.splat(0));
  memory.copy(b, p, <usize>n << 2);
  return v128.load(b);
}
// @ts-ignore: decorator
@inline function storeTail(p: usize, v: v128, n: i32): void {
  const b = bounce();
  v128.store(b, v);
  memory.copy(p, b, <usize>n << 2);
}

// ---- elementwise ---------------------------------------------------------------------------------------

/** y[i] += a·x[i]. */
export function axpy_f32(n: i32, a: f32, x: usize, y: usize): void {
  const va = f32x4.splat(a);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.add(v128.load(y + o), f32x4.mul(va, v128.load(x + o))));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, load<f32>(y + o) + a * load<f32>(x + o));
  }
}

/** out[i] = a·x[i] + b·y[i] (out may alias x or y). */
export function axpby_f32(n: i32, a: f32, x: usize, b: f32, y: usize, out: usize): void {
  const va = f32x4.splat(a);
  const vb = f32x4.splat(b);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.add(f32x4.mul(va, v128.load(x + o)), f32x4.mul(vb, v128.load(y + o))));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, a * load<f32>(x + o) + b * load<f32>(y + o));
  }
}

/** out[i] = a·x[i]. */
export function scale_f32(n: i32, a: f32, x: usize, out: usize): void {
  const va = f32x4.splat(a);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.mul(va, v128.load(x + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, a * load<f32>(x + o));
  }
}

/** out[i] = x[i]·y[i]. */
export function mul_f32(n: i32, x: usize, y: usize, out: usize): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.mul(v128.load(x + o), v128.load(y + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(x + o) * load<f32>(y + o));
  }
}

/** y[o,c,i] = act(x[o,c,i] + bias[c]) over [outer, C, inner]; act 0 = identity, 1 = SiLU. y may alias x. */
export function bias_act_f32(x: usize, bias: usize, y: usize, outer: i32, C: i32, inner: i32, act: i32): void {
  if (inner == 1) {
    // [rows, C] layout: the bias vector runs along the row
    for (let o = 0; o < outer; o++) {
      const xr = x + ((<usize>o * <usize>C) << 2);
      const yr = y + ((<usize>o * <usize>C) << 2);
      let c = 0;
      for (; c + 4 <= C; c += 4) {
        const off = <usize>c << 2;
        let v = f32x4.add(v128.load(xr + off), v128.load(bias + off));
        if (act == 1) v = silu4(v);
        v128.store(yr + off, v);
      }
      if (c < C) {
        let v = f32x4.add(loadTail(xr + (<usize>c << 2), C - c), loadTail(bias + (<usize>c << 2), C - c));
        if (act == 1) v = silu4(v);
        storeTail(yr + (<usize>c << 2), v, C - c);
      }
    }
    return;
  }
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < C; c++) {
      const base = (<usize>(o * C + c) * <usize>inner) << 2;
      const xp = x + base;
      const yp = y + base;
      const vb = v128.load32_splat(bias + (<usize>c << 2));
      let i = 0;
      for (; i + 4 <= inner; i += 4) {
        const off = <usize>i << 2;
        let v = f32x4.add(v128.load(xp + off), vb);
        if (act == 1) v = silu4(v);
        v128.store(yp + off, v);
      }
      if (i < inner) {
        let v = f32x4.add(loadTail(xp + (<usize>i << 2), inner - i), vb);
        if (act == 1) v = silu4(v);
        storeTail(yp + (<usize>i << 2), v, inner - i);
      }
    }
  }
}

/** dx[i] = dy[i]·silu'(x[i]) where x is the pre-activation input. dx may alias dy. */
export function silu_bwd_f32(n: i32, x: usize, dy: usize, dx: usize): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dx + o, f32x4.mul(v128.load(dy + o), silu4Grad(v128.load(x + o))));
  }
  if (i < n) {
    const o = <usize>i << 2;
    storeTail(dx + o, f32x4.mul(loadTail(dy + o, n - i), silu4Grad(loadTail(x + o, n - i))), n - i);
  }
}

// ---- reductions (f64 accumulation, fixed order) -------------------------------------------------------

/** Sum of x[i]. Four f32 lanes promoted into two f64x2 accumulators; lanes combined in a fixed order. */
export function sum_f32(n: i32, x: usize): f64 {
  let lo = f64x2.splat(0);
  let hi = lo;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(x + (<usize>i << 2));
    lo = f64x2.add(lo, f64x2.promote_low_f32x4(v));
    hi = f64x2.add(hi, f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3)));
  }
  let s = (f64x2.extract_lane(lo, 0) + f64x2.extract_lane(lo, 1)) + (f64x2.extract_lane(hi, 0) + f64x2.extract_lane(hi, 1));
  for (; i < n; i++) s += <f64>load<f32>(x + (<usize>i << 2));
  return s;
}

/** Sum of x[i]·y[i] (products in f64). */
export function dot_f32(n: i32, x: usize, y: usize): f64 {
  let lo = f64x2.splat(0);
  let hi = lo;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const a = v128.load(x + o);
    const b = v128.load(y + o);
    lo = f64x2.add(lo, f64x2.mul(f64x2.promote_low_f32x4(a), f64x2.promote_low_f32x4(b)));
    hi = f64x2.add(
      hi,
      f64x2.mul(f64x2.promote_low_f32x4(v128.shuffle<f32>(a, a, 2, 3, 2, 3)), f64x2.promote_low_f32x4(v128.shuffle<f32>(b, b, 2, 3, 2, 3))),
    );
  }
  let s = (f64x2.extract_lane(lo, 0) + f64x2.extract_lane(lo, 1)) + (f64x2.extract_lane(hi, 0) + f64x2.extract_lane(hi, 1));
  for (; i < n; i++) {
    const o = <usize>i << 2;
    s += <f64>load<f32>(x + o) * <f64>load<f32>(y + o);
  }
  return s;
}

/** Sum of (x[i] − y[i])², differences and squares in f64 (MSE losses). */
export function sqdist_f32(n: i32, x: usize, y: usize): f64 {
  let lo = f64x2.splat(0);
  let hi = lo;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const a = v128.load(x + o);
    const b = v128.load(y + o);
    const dl = f64x2.sub(f64x2.promote_low_f32x4(a), f64x2.promote_low_f32x4(b));
    const dh = f64x2.sub(f64x2.promote_low_f32x4(v128.shuffle<f32>(a, a, 2, 3, 2, 3)), f64x2.promote_low_f32x4(v128.shuffle<f32>(b, b, 2, 3, 2, 3)));
    lo = f64x2.add(lo, f64x2.mul(dl, dl));
    hi = f64x2.add(hi, f64x2.mul(dh, dh));
  }
  let s = (f64x2.extract_lane(lo, 0) + f64x2.extract_lane(lo, 1)) + (f64x2.extract_lane(hi, 0) + f64x2.extract_lane(hi, 1));
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const d = <f64>load<f32>(x + o) - <f64>load<f32>(y + o);
    s += d * d;
  }
  return s;
}

/** out[c] (+)= sum over outer and inner of x[o,c,i] (bias gradients), f64 accumulation per channel. */
export function sum_channels_f32(x: usize, out: usize, outer: i32, C: i32, inner: i32, accumulate: i32): void {
  for (let c = 0; c < C; c++) {
    let s: f64 = accumulate ? <f64>load<f32>(out + (<usize>c << 2)) : 0;
    for (let o = 0; o < outer; o++) s += sum_f32(inner, x + ((<usize>(o * C + c) * <usize>inner) << 2));
    store<f32>(out + (<usize>c << 2), <f32>s);
  }
}

// ---- softmax --------------------------------------------------------------------------------------------

/** y = softmax(x) along rows of length cols: exp(x − max) / sum, sum in f64. y may alias x. */
export function softmax_f32(x: usize, y: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const xr = x + ((<usize>r * <usize>cols) << 2);
    const yr = y + ((<usize>r * <usize>cols) << 2);
    let m = f32.NEGATIVE_INFINITY;
    for (let i = 0; i < cols; i++) m = max(m, load<f32>(xr + (<usize>i << 2)));
    const vm = f32x4.splat(m);
    let i = 0;
    for (; i + 4 <= cols; i += 4) {
      const o = <usize>i << 2;
      v128.store(yr + o, exp4(f32x4.sub(v128.load(xr + o), vm)));
    }
    if (i < cols) {
      const o = <usize>i << 2;
      storeTail(yr + o, exp4(f32x4.sub(loadTail(xr + o, cols - i), vm)), cols - i);
    }
    const inv = <f32>(1.0 / sum_f32(cols, yr));
    scale_f32(cols, inv, yr, yr);
  }
}

/** dx = y ⊙ (dy − sum(dy ⊙ y)) per row, the softmax vector-Jacobian product. */
export function softmax_bwd_f32(y: usize, dy: usize, dx: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const off = (<usize>r * <usize>cols) << 2;
    const s = <f32>dot_f32(cols, dy + off, y + off);
    const vs = f32x4.splat(s);
    let i = 0;
    for (; i + 4 <= cols; i += 4) {
      const o = off + (<usize>i << 2);
      v128.store(dx + o, f32x4.mul(v128.load(y + o), f32x4.sub(v128.load(dy + o), vs)));
    }
    for (; i < cols; i++) {
      const o = off + (<usize>i << 2);
      store<f32>(dx + o, load<f32>(y + o) * (load<f32>(dy + o) - s));
    }
  }
}

// ---- GroupNorm --------------------------------------------------------------------------------------------

/**
 * GroupNorm (Wu & He 2018) over x[N, C, HW] with G groups: per (n, g), mean and variance over its C/G
 * channels x HW (two passes in f64), y = (x − mean)·rstd·gamma[c] + beta[c]. mean and rstd [N·G] are saved
 * for the backward pass.
 */
export function groupnorm_f32(
  x: usize, gamma: usize, beta: usize, y: usize, mean: usize, rstd: usize,
  N: i32, C: i32, HW: i32, G: i32, eps: f32,
): void {
  const cpg = C / G;
  const m = cpg * HW;
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < G; g++) {
      const base = (<usize>(n * C + g * cpg) * <usize>HW) << 2;
      const mu = sum_f32(m, x + base) / <f64>m;
      // second pass: sum of squared deviations in f64 (two f64x2 accumulators, then the tail)
      const vmu2 = f64x2.splat(mu);
      let lo = f64x2.splat(0);
      let hi = lo;
      let i = 0;
      for (; i + 4 <= m; i += 4) {
        const v = v128.load(x + base + (<usize>i << 2));
        const dl = f64x2.sub(f64x2.promote_low_f32x4(v), vmu2);
        const dh = f64x2.sub(f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3)), vmu2);
        lo = f64x2.add(lo, f64x2.mul(dl, dl));
        hi = f64x2.add(hi, f64x2.mul(dh, dh));
      }
      let ss = (f64x2.extract_lane(lo, 0) + f64x2.extract_lane(lo, 1)) + (f64x2.extract_lane(hi, 0) + f64x2.extract_lane(hi, 1));
      for (; i < m; i++) {
        const d = <f64>load<f32>(x + base + (<usize>i << 2)) - mu;
        ss += d * d;
      }
      const rs = 1.0 / Math.sqrt(ss / <f64>m + <f64>eps);
      store<f32>(mean + (<usize>(n * G + g) << 2), <f32>mu);
      store<f32>(rstd + (<usize>(n * G + g) << 2), <f32>rs);
      const vmu = f32x4.splat(<f32>mu);
      for (let cc = 0; cc < cpg; cc++) {
        const c = g * cpg + cc;
        const sc = <f32>rs * load<f32>(gamma + (<usize>c << 2));
        const sh = load<f32>(beta + (<usize>c << 2));
        const vsc = f32x4.splat(sc);
        const vsh = f32x4.splat(sh);
        const p = base + ((<usize>cc * <usize>HW) << 2);
        let i = 0;
        for (; i + 4 <= HW; i += 4) {
          const o = p + (<usize>i << 2);
          v128.store(y + o, f32x4.add(f32x4.mul(f32x4.sub(v128.load(x + o), vmu), vsc), vsh));
        }
        for (; i < HW; i++) {
          const o = p + (<usize>i << 2);
          store<f32>(y + o, (load<f32>(x + o) - <f32>mu) * sc + sh);
        }
      }
    }
  }
}

/**
 * GroupNorm backward. With xhat = (x − mean)·rstd and dxhat = dy·gamma[c], per group of m elements:
 * dx = rstd·(dxhat − mean(dxhat) − xhat·mean(dxhat·xhat)); dgamma[c] = Σ dy·xhat, dbeta[c] = Σ dy over
 * batch and spatial positions (overwritten, batch summed in ascending order). Sums in f64.
 */
export function groupnorm_bwd_f32(
  x: usize, dy: usize, gamma: usize, mean: usize, rstd: usize, dx: usize, dgamma: usize, dbeta: usize,
  N: i32, C: i32, HW: i32, G: i32,
): void {
  const cpg = C / G;
  const m = cpg * HW;
  for (let c = 0; c < C; c++) {
    store<f32>(dgamma + (<usize>c << 2), 0);
    store<f32>(dbeta + (<usize>c << 2), 0);
  }
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < G; g++) {
      const mu = <f64>load<f32>(mean + (<usize>(n * G + g) << 2));
      const rs = <f64>load<f32>(rstd + (<usize>(n * G + g) << 2));
      let sdx: f64 = 0; // Σ dxhat
      let sdxx: f64 = 0; // Σ dxhat·xhat
      for (let cc = 0; cc < cpg; cc++) {
        const c = g * cpg + cc;
        const ga = <f64>load<f32>(gamma + (<usize>c << 2));
        const p = (<usize>(n * C + c) * <usize>HW) << 2;
        // Σ dy and Σ dy·xhat over the channel, f64x2 lanes then the tail
        const vmu2 = f64x2.splat(mu);
        const vrs2 = f64x2.splat(rs);
        let a0 = f64x2.splat(0);
        let a1 = a0;
        let b0 = a0;
        let b1 = a0;
        let i = 0;
        for (; i + 4 <= HW; i += 4) {
          const o = p + (<usize>i << 2);
          const vd = v128.load(dy + o);
          const vx = v128.load(x + o);
          const dl = f64x2.promote_low_f32x4(vd);
          const dh = f64x2.promote_low_f32x4(v128.shuffle<f32>(vd, vd, 2, 3, 2, 3));
          const xl = f64x2.mul(f64x2.sub(f64x2.promote_low_f32x4(vx), vmu2), vrs2);
          const xh = f64x2.mul(f64x2.sub(f64x2.promote_low_f32x4(v128.shuffle<f32>(vx, vx, 2, 3, 2, 3)), vmu2), vrs2);
          a0 = f64x2.add(a0, dl);
          a1 = f64x2.add(a1, dh);
          b0 = f64x2.add(b0, f64x2.mul(dl, xl));
          b1 = f64x2.add(b1, f64x2.mul(dh, xh));
        }
        let sdy = (f64x2.extract_lane(a0, 0) + f64x2.extract_lane(a0, 1)) + (f64x2.extract_lane(a1, 0) + f64x2.extract_lane(a1, 1));
        let sdyx = (f64x2.extract_lane(b0, 0) + f64x2.extract_lane(b0, 1)) + (f64x2.extract_lane(b1, 0) + f64x2.extract_lane(b1, 1));
        for (; i < HW; i++) {
          const o = p + (<usize>i << 2);
          const d = <f64>load<f32>(dy + o);
          const xh = (<f64>load<f32>(x + o) - mu) * rs;
          sdy += d;
          sdyx += d * xh;
        }
        sdx += ga * sdy;
        sdxx += ga * sdyx;
        store<f32>(dbeta + (<usize>c << 2), <f32>(<f64>load<f32>(dbeta + (<usize>c << 2)) + sdy));
        store<f32>(dgamma + (<usize>c << 2), <f32>(<f64>load<f32>(dgamma + (<usize>c << 2)) + sdyx));
      }
      const a = <f32>(sdx / <f64>m);
      const b = <f32>(sdxx / <f64>m);
      const vmu = f32x4.splat(<f32>mu);
      const vrs = f32x4.splat(<f32>rs);
      const va = f32x4.splat(a);
      const vb = f32x4.splat(b);
      for (let cc = 0; cc < cpg; cc++) {
        const c = g * cpg + cc;
        const ga = load<f32>(gamma + (<usize>c << 2));
        const vga = f32x4.splat(ga);
        const p = (<usize>(n * C + c) * <usize>HW) << 2;
        let i = 0;
        for (; i + 4 <= HW; i += 4) {
          const o = p + (<usize>i << 2);
          const xh = f32x4.mul(f32x4.sub(v128.load(x + o), vmu), vrs);
          const dxh = f32x4.mul(v128.load(dy + o), vga);
          v128.store(dx + o, f32x4.mul(vrs, f32x4.sub(f32x4.sub(dxh, va), f32x4.mul(xh, vb))));
        }
        for (; i < HW; i++) {
          const o = p + (<usize>i << 2);
          const xh = (load<f32>(x + o) - <f32>mu) * <f32>rs;
          const dxh = load<f32>(dy + o) * ga;
          store<f32>(dx + o, <f32>rs * ((dxh - a) - xh * b));
        }
      }
    }
  }
}

// ---- Adam ----------------------------------------------------------------------------------------------

/**
 * One fused Adam step (Kingma & Ba 2015, Alg. 1; decoupled weight decay as AdamW, Loshchilov & Hutter
 * 2019): m = b1·m + (1−b1)·g; v = b2·v + (1−b2)·g²; p −= lr·(m/bc1)/(sqrt(v/bc2) + eps) + lr·wd·p,
 * with c1 = 1 − b1, c2 = 1 − b2 and the bias corrections bc1 = 1 − b1^t, bc2 = 1 − b2^t computed by the
 * caller in f64 (1 − b2 in f32 loses 5 digits to cancellation when b2 = 0.999).
 */
export function adam_f32(
  n: i32, p: usize, g: usize, m: usize, v: usize,
  lr: f32, b1: f32, b2: f32, c1: f32, c2: f32, eps: f32, wd: f32, bc1: f32, bc2: f32,
): void {
  const vb1 = f32x4.splat(b1);
  const vb2 = f32x4.splat(b2);
  const vc1 = f32x4.splat(c1);
  const vc2 = f32x4.splat(c2);
  const vlr = f32x4.splat(lr);
  const veps = f32x4.splat(eps);
  const vwd = f32x4.splat(lr * wd);
  const vbc1 = f32x4.splat(bc1);
  const vbc2 = f32x4.splat(bc2);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const gi = v128.load(g + o);
    const mi = f32x4.add(f32x4.mul(vb1, v128.load(m + o)), f32x4.mul(vc1, gi));
    const vi = f32x4.add(f32x4.mul(vb2, v128.load(v + o)), f32x4.mul(vc2, f32x4.mul(gi, gi)));
    v128.store(m + o, mi);
    v128.store(v + o, vi);
    const pi = v128.load(p + o);
    const upd = f32x4.div(f32x4.div(mi, vbc1), f32x4.add(f32x4.sqrt(f32x4.div(vi, vbc2)), veps));
    v128.store(p + o, f32x4.sub(f32x4.sub(pi, f32x4.mul(vlr, upd)), f32x4.mul(vwd, pi)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const gi = load<f32>(g + o);
    const mi = b1 * load<f32>(m + o) + c1 * gi;
    const vi = b2 * load<f32>(v + o) + c2 * (gi * gi);
    store<f32>(m + o, mi);
    store<f32>(v + o, vi);
    const pi = load<f32>(p + o);
    const upd = (mi / bc1) / (Mathf.sqrt(vi / bc2) + eps);
    store<f32>(p + o, (pi - lr * upd) - (lr * wd) * pi);
  }
}
