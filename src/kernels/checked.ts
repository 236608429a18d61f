// The argument-checking layer shared by both backends: `checked(impl)` turns a raw implementation (which
// trusts its arguments) into a Kernels that throws an ArgumentError naming the bad argument before any
// arithmetic or WASM call. One place, so both backends reject exactly the same inputs.

import * as check from "./check.ts";
import type { ConvDims } from "./check.ts";
import type { AdamStep, Activation, Conv2dShape, Kernels } from "./types.ts";

type ConvFn = (a: Float32Array, b: Float32Array, c: Float32Array, d: ConvDims, accumulate: boolean) => void;

/** A backend's arithmetic without checks: conv methods take checked dimensions. */
export type RawKernels = Omit<Kernels, "conv2d" | "conv2dBackwardInput" | "conv2dBackwardWeight" | "conv2dScratch"> & {
  conv2dScratch: (d: ConvDims) => number;
  conv2d: ConvFn;
  conv2dBackwardInput: ConvFn;
  conv2dBackwardWeight: ConvFn;
};

export function checked(impl: RawKernels): Kernels {
  return {
    get backend() {
      return impl.backend;
    },
    get winograd() {
      return impl.winograd;
    },
    get bitReproducible() {
      return impl.bitReproducible;
    },
    alloc(length: number) {
      check.size("length", length);
      return impl.alloc(length);
    },
    view: (buf) => impl.view(buf),
    mark: () => impl.mark(),
    release(m: number) {
      check.size("m", m);
      impl.release(m);
    },
    get bytesInUse() {
      return impl.bytesInUse;
    },
    isResident: (a) => impl.isResident(a),
    reserveScratch(floats: number) {
      check.size("floats", floats);
      impl.reserveScratch(floats);
    },
    conv2dScratch: (shape: Conv2dShape) => impl.conv2dScratch(check.conv(shape)),
    gemm(transA, transB, M, N, K, A, lda, B, ldb, C, ldc, accumulate = false) {
      check.gemm(transA, transB, M, N, K, A, lda, B, ldb, C, ldc);
      impl.gemm(transA, transB, M, N, K, A, lda, B, ldb, C, ldc, accumulate);
    },
    conv2d(x, w, y, shape: Conv2dShape, accumulate = false) {
      const d = check.conv(shape);
      check.convArrays(d, "x", x, "w", w, "y", y);
      impl.conv2d(x, w, y, d, accumulate);
    },
    conv2dBackwardInput(dy, w, dx, shape: Conv2dShape, accumulate = false) {
      const d = check.conv(shape);
      check.convArrays(d, "dx", dx, "w", w, "dy", dy);
      impl.conv2dBackwardInput(dy, w, dx, d, accumulate);
    },
    conv2dBackwardWeight(x, dy, dw, shape: Conv2dShape, accumulate = false) {
      const d = check.conv(shape);
      check.convArrays(d, "x", x, "dw", dw, "dy", dy);
      impl.conv2dBackwardWeight(x, dy, dw, d, accumulate);
    },
    biasAct(x, bias, y, outer, channels, inner, act: Activation) {
      check.biasAct(x, bias, y, outer, channels, inner, act);
      impl.biasAct(x, bias, y, outer, channels, inner, act);
    },
    siluBackward(x, dy, dx) {
      check.sameLen("x", x, "dy", dy);
      check.sameLen("x", x, "dx", dx);
      impl.siluBackward(x, dy, dx);
    },
    sumChannels(x, out, outer, channels, inner, accumulate = false) {
      check.size("outer", outer);
      check.size("channels", channels);
      check.size("inner", inner);
      check.arr("x", x, outer * channels * inner);
      check.arr("out", out, channels);
      impl.sumChannels(x, out, outer, channels, inner, accumulate);
    },
    groupNorm(x, gamma, beta, y, mean, rstd, batch, channels, spatial, groups, eps) {
      check.groupNorm(batch, channels, spatial, groups);
      check.num("eps", eps);
      const n = batch * channels * spatial;
      check.arr("x", x, n);
      check.arr("gamma", gamma, channels);
      check.arr("beta", beta, channels);
      check.arr("y", y, n);
      check.arr("mean", mean, batch * groups);
      check.arr("rstd", rstd, batch * groups);
      impl.groupNorm(x, gamma, beta, y, mean, rstd, batch, channels, spatial, groups, eps);
    },
    groupNormBackward(x, dy, gamma, mean, rstd, dx, dgamma, dbeta, batch, channels, spatial, groups) {
      check.groupNorm(batch, channels, spatial, groups);
      const n = batch * channels * spatial;
      check.arr("x", x, n);
      check.arr("dy", dy, n);
      check.arr("gamma", gamma, channels);
      check.arr("mean", mean, batch * groups);
      check.arr("rstd", rstd, batch * groups);
      check.arr("dx", dx, n);
      check.arr("dgamma", dgamma, channels);
      check.arr("dbeta", dbeta, channels);
      impl.groupNormBackward(x, dy, gamma, mean, rstd, dx, dgamma, dbeta, batch, channels, spatial, groups);
    },
    softmax(x, y, rows, cols) {
      check.size("rows", rows);
      check.size("cols", cols);
      check.arr("x", x, rows * cols);
      check.arr("y", y, rows * cols);
      impl.softmax(x, y, rows, cols);
    },
    softmaxBackward(y, dy, dx, rows, cols) {
      check.size("rows", rows);
      check.size("cols", cols);
      check.arr("y", y, rows * cols);
      check.arr("dy", dy, rows * cols);
      check.arr("dx", dx, rows * cols);
      impl.softmaxBackward(y, dy, dx, rows, cols);
    },
    axpy(a, x, y) {
      check.num("a", a);
      check.sameLen("x", x, "y", y);
      impl.axpy(a, x, y);
    },
    axpby(a, x, b, y, out) {
      check.num("a", a);
      check.num("b", b);
      check.sameLen("x", x, "y", y);
      check.sameLen("x", x, "out", out);
      impl.axpby(a, x, b, y, out);
    },
    scale(a, x, out) {
      check.num("a", a);
      check.sameLen("x", x, "out", out);
      impl.scale(a, x, out);
    },
    mul(x, y, out) {
      check.sameLen("x", x, "y", y);
      check.sameLen("x", x, "out", out);
      impl.mul(x, y, out);
    },
    sum: (x) => impl.sum(check.arr("x", x, 0)),
    dot(x, y) {
      check.sameLen("x", x, "y", y);
      return impl.dot(x, y);
    },
    sqDist(x, y) {
      check.sameLen("x", x, "y", y);
      return impl.sqDist(x, y);
    },
    adam(param, grad, m, v, opts: AdamStep) {
      check.adam(opts);
      check.sameLen("param", param, "grad", grad);
      check.sameLen("param", param, "m", m);
      check.sameLen("param", param, "v", v);
      impl.adam(param, grad, m, v, opts);
    },
  };
}
