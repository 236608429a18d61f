// Bad input (issue 2): every public function of the math core throws an ArgumentError whose `arg` names the
// offending argument and whose message starts with that name, states the allowed range ("must ...") and
// shows the value it got.

import { describe, expect, it } from "vitest";
import { conversionCoefficients, convertPrediction, vpFromVeSigma } from "../../src/denoiser/conversions.ts";
import { ddpmReverseVariance, forwardChain, forwardStep, posterior, posteriorMean, qSample } from "../../src/process.ts";
import { Rng } from "../../src/rng.ts";
import {
  checkBetas,
  cosineBetas,
  geometricBetas,
  linearBetas,
  rescaleZeroTerminalSnr,
  scaledLinearBetas,
  sigmoidBetas,
} from "../../src/schedule/betas.ts";
import { EDM, VE, VPCosine, VPLinear } from "../../src/schedule/continuous.ts";
import { DiscreteSchedule, discreteSchedule, type BetaScheduleName } from "../../src/schedule/discrete.ts";
import { discreteTimesteps, exponentialSigmas, karrasSigmas, sigmasAtTimesteps, uniformTimeSigmas, type TimestepSpacing } from "../../src/schedule/sigmas.ts";
import type { Schedule } from "../../src/schedule/types.ts";
import { ArgumentError } from "../../src/validate.ts";
import { expectArgumentError } from "../support/errors.ts";

const lin = discreteSchedule("linear", { T: 100 });
const vp = new VPLinear();
const f = (n: number) => new Float32Array(n);
const rng = new Rng(1);

/** [description, call, argument it must name, a fragment the message must contain (the value or range)] */
type Case = [string, () => unknown, string, (string | RegExp)?];

const cases: Case[] = [
  // schedules: T, betas, parameters
  ["T = 0", () => linearBetas(0), "T", "[1, 1000000]"],
  ["T = 2.5", () => cosineBetas(2.5), "T", "2.5"],
  ["T = NaN", () => discreteSchedule("linear", { T: NaN }), "T", "NaN"],
  ["T above MAX_T", () => sigmoidBetas(2_000_000), "T", "2000000"],
  ["negative betaStart", () => linearBetas(10, -0.1, 0.02), "betaStart", "(0, 1)"],
  ["betaEnd = 1", () => scaledLinearBetas(10, 0.001, 1), "betaEnd", "(0, 1)"],
  ["geometric beta >= 1", () => geometricBetas(10, 1), "beta", "(0, 1)"],
  ["geometric underflow", () => geometricBetas(100_000, 0.5), "T", "underflows"],
  ["cosine s < 0", () => cosineBetas(10, -0.1), "s", "[0, 1)"],
  ["cosine maxBeta = 1", () => cosineBetas(10, 0.008, 1), "maxBeta", "(0, 1)"],
  ["a negative user beta", () => new DiscreteSchedule([0.1, -0.2, 0.3]), "betas[1]", "(0, 1)"],
  ["a user beta >= 1", () => checkBetas([0.1, 1]), "betas[1]", "(0, 1)"],
  ["a NaN user beta", () => checkBetas([NaN]), "betas[0]", "NaN"],
  ["no betas", () => new DiscreteSchedule([]), "betas.length", "got 0"],
  ["not an array", () => checkBetas(undefined as unknown as number[]), "betas", "array"],
  ["zsnr of one beta", () => rescaleZeroTerminalSnr([0.1]), "betas.length", "at least 2"],
  ["zsnr schedule whose last beta is not 1", () => new DiscreteSchedule([0.1, 0.5], "x", { zeroTerminalSnr: true }), "betas[1]", "must be 1"],
  ["unknown schedule kind", () => discreteSchedule("quadratic" as BetaScheduleName), "kind", '"quadratic"'],
  ["VP betaMin = 0", () => new VPLinear(0, 20), "betaMin", "> 0"],
  ["VP betaMax <= betaMin", () => new VPLinear(1, 1), "betaMax", "> betaMin"],
  ["VP cosine tMax > 1", () => new VPCosine(0.008, 1.5), "tMax", "(0, 1]"],
  ["VE sigmaMax <= sigmaMin", () => new VE(1, 0.5), "sigmaMax", "> sigmaMin"],
  ["VE non-finite sigmaMax", () => new VE(0.01, Infinity), "sigmaMax", "Infinity"],
  ["EDM non-finite sigmaMin", () => new EDM(NaN, 80), "sigmaMin", "NaN"],
  ["EDM sigmaData <= 0", () => new EDM(0.002, 80, 0), "sigmaData", "> 0"],
  // schedule evaluation: t
  ["NaN t (discrete)", () => lin.alpha(NaN), "t", "NaN"],
  ["t > T", () => lin.sigma(101), "t", "[0, 100]"],
  ["t < 0", () => lin.logSnr(-1), "t", "[0, 100]"],
  ["beta at t = 0", () => lin.beta(0), "t", "[1, 100]"],
  ["NaN t (continuous)", () => vp.sigma(NaN), "t", "NaN"],
  ["t > 1 (continuous)", () => vp.alpha(1.5), "t", "[0, 1]"],
  ["EDM t below sigmaMin", () => new EDM().sigma(0), "t", "[0.002, 80]"],
  ["NaN lambda", () => lin.tOfLogSnr(NaN), "lambda", "NaN"],
  ["NaN lambda (continuous)", () => vp.tOfLogSnr(NaN), "lambda", "NaN"],
  // sigma sequences
  ["karras n = 0", () => karrasSigmas(0, 0.002, 80), "n", "got 0"],
  ["karras sigmaMax <= sigmaMin", () => karrasSigmas(10, 80, 0.002), "sigmaMax", "> sigmaMin"],
  ["karras non-finite sigmaMax", () => karrasSigmas(10, 0.002, Infinity), "sigmaMax", "Infinity"],
  ["karras sigmaMin = 0", () => karrasSigmas(10, 0, 80), "sigmaMin", "> 0"],
  ["karras rho = 0", () => karrasSigmas(10, 0.002, 80, 0), "rho", "> 0"],
  ["exponential n = 1.5", () => exponentialSigmas(1.5, 0.002, 80), "n", "1.5"],
  ["exponential NaN sigmaMin", () => exponentialSigmas(5, NaN, 80), "sigmaMin", "NaN"],
  ["uniform n = 0", () => uniformTimeSigmas(vp, 0), "n", "got 0"],
  ["uniform tEnd with sigma 0", () => uniformTimeSigmas(vp, 5, { tEnd: 0 }), "tEnd", "sigma > 0"],
  ["uniform tStart out of range", () => uniformTimeSigmas(vp, 5, { tStart: 2 }), "tStart", "[0, 1]"],
  ["uniform tEnd > tStart", () => uniformTimeSigmas(vp, 5, { tStart: 0.5, tEnd: 0.7 }), "tEnd", "0.7"],
  ["timesteps n = 0", () => discreteTimesteps(lin, 0), "n", "[1, 100]"],
  ["timesteps n > T", () => discreteTimesteps(lin, 101), "n", "[1, 100]"],
  ["bad spacing name", () => discreteTimesteps(lin, 10, "uniform" as TimestepSpacing), "spacing", '"leading", "trailing", "linspace"'],
  ["stepsOffset past T-1", () => discreteTimesteps(lin, 10, "leading", 50), "stepsOffset", "99"],
  ["timesteps of a continuous schedule", () => discreteTimesteps(vp as unknown as DiscreteSchedule, 10), "schedule", "discrete"],
  ["timesteps not decreasing", () => sigmasAtTimesteps(lin, [10, 20]), "timesteps", "strictly decreasing"],
  ["no timesteps", () => sigmasAtTimesteps(lin, []), "timesteps", "at least one"],
  ["timestep 0 (sigma 0)", () => sigmasAtTimesteps(lin, [50, 0]), "timesteps", "sigma > 0"],
  ["timestep out of range", () => sigmasAtTimesteps(lin, [500]), "t", "[0, 100]"],
  // forward process
  ["qSample x0 not Float32Array", () => qSample(lin, [1, 2] as unknown as Float32Array, f(2), 5), "x0", "Float32Array"],
  ["qSample noise Float64Array", () => qSample(lin, f(2), new Float64Array(2) as unknown as Float32Array, 5), "noise", "Float64Array"],
  ["qSample mismatched lengths", () => qSample(lin, f(4), f(3), 5), "noise", "(4)"],
  ["qSample wrong batch", () => qSample(lin, f(5), f(5), 5, 2), "x0", "batch 2"],
  ["qSample batch = 0", () => qSample(lin, f(4), f(4), 5, 0), "batch", "got 0"],
  ["qSample t per item of wrong length", () => qSample(lin, f(4), f(4), [1, 2, 3], 2), "t", "(2)"],
  ["qSample NaN t", () => qSample(lin, f(4), f(4), NaN), "t", "NaN"],
  ["qSample t out of range", () => qSample(vp, f(4), f(4), 2), "t", "[0, 1]"],
  ["qSample out of wrong length", () => qSample(lin, f(4), f(4), 5, 1, f(3)), "out", "(4)"],
  ["qSample out not Float32Array", () => qSample(lin, f(4), f(4), 5, 1, new Float64Array(4) as unknown as Float32Array), "out", "Float32Array"],
  ["forwardStep beta = 0", () => forwardStep(f(2), f(2), 0), "beta", "(0, 1]"],
  ["forwardStep beta > 1", () => forwardStep(f(2), f(2), 1.5), "beta", "1.5"],
  ["forwardStep NaN beta", () => forwardStep(f(2), f(2), NaN), "beta", "NaN"],
  ["forwardStep mismatched lengths", () => forwardStep(f(2), f(3), 0.1), "eta", "(2)"],
  ["forwardStep out of wrong length", () => forwardStep(f(2), f(2), 0.1, f(5)), "out", "(2)"],
  ["forwardChain t > T", () => forwardChain(lin, f(2), 101, rng), "t", "[0, 100]"],
  ["forwardChain fractional t", () => forwardChain(lin, f(2), 2.5, rng), "t", "2.5"],
  ["forwardChain wrong batch", () => forwardChain(lin, f(3), 2, rng, 2), "x0", "batch 2"],
  ["forwardChain negative firstItem", () => forwardChain(lin, f(2), 2, rng, 1, -1), "firstItem", "-1"],
  ["posterior s >= t", () => posterior(lin, 5, 5), "s", "< t"],
  ["posterior NaN t", () => posterior(lin, 5, NaN), "t", "NaN"],
  ["posterior NaN s", () => posterior(lin, NaN, 5), "s", "NaN"],
  ["posterior s out of range", () => posterior(lin, -1, 5), "s", "[0, 100]"],
  ["posterior t out of range", () => posterior(vp, 0.5, 2), "t", "[0, 1]"],
  ["ddpmReverseVariance t = 0", () => ddpmReverseVariance(lin, 0, "beta"), "t", "[1, 100]"],
  ["ddpmReverseVariance bad choice", () => ddpmReverseVariance(lin, 5, "sigma" as "beta"), "choice", '"beta", "betaTilde"'],
  ["posteriorMean mismatched lengths", () => posteriorMean(posterior(lin, 4, 5), f(2), f(3)), "x0", "(2)"],
  ["posteriorMean out of wrong length", () => posteriorMean(posterior(lin, 4, 5), f(2), f(2), f(1)), "out", "(2)"],
  // parameterizations
  ["convert pred not Float32Array", () => convertPrediction([1] as unknown as Float32Array, "eps", "x0", f(1), 1, 0.5), "pred", "Float32Array"],
  ["convert mismatched lengths", () => convertPrediction(f(2), "eps", "x0", f(3), 1, 0.5), "pred", "(3)"],
  ["convert wrong batch", () => convertPrediction(f(3), "eps", "x0", f(3), 1, 0.5, 2), "pred", "batch 2"],
  ["convert alpha array of wrong length", () => convertPrediction(f(4), "eps", "x0", f(4), [1, 1, 1], [0.5, 0.5], 2), "alpha", "(2)"],
  ["convert sigma array too short", () => convertPrediction(f(4), "eps", "x0", f(4), [1, 1], [0.5], 2), "sigma", "(2)"],
  ["convert NaN sigma", () => convertPrediction(f(2), "eps", "x0", f(2), 1, NaN), "sigma", "NaN"],
  ["convert unknown kind", () => convertPrediction(f(2), "noise" as "eps", "x0", f(2), 1, 0.5), "from", '"noise"'],
  ["score at sigma = 0", () => conversionCoefficients("eps", "score", 1, 0), "sigma", "> 0"],
  ["x0 from eps at alpha = 0", () => conversionCoefficients("eps", "x0", 0, 1), "alpha", "alpha = 0"],
  ["vpFromVeSigma negative", () => vpFromVeSigma(-1), "sigmaVe", ">= 0"],
  ["vpFromVeSigma non-finite", () => vpFromVeSigma(Infinity), "sigmaVe", "Infinity"],
];

describe("bad input throws ArgumentError naming the argument, the allowed range and the value", () => {
  it.each(cases)("%s", (_name, call, arg, fragment) => {
    expectArgumentError(call, arg, fragment);
  });

  it("ArgumentError is a RangeError named ArgumentError", () => {
    const e = new ArgumentError("x", "must be finite");
    expect(e).toBeInstanceOf(RangeError);
    expect(e.name).toBe("ArgumentError");
    expect(e.message).toBe("x: must be finite");
  });

  it("every schedule rejects t just outside [tMin, tMax] and accepts both ends", () => {
    const all: Schedule[] = [lin, vp, new VPCosine(), new VE(), new EDM(), discreteSchedule("cosine", { T: 50, zeroTerminalSnr: true })];
    for (const s of all) {
      for (const m of ["alpha", "sigma", "logSnr"] as const) {
        expect(() => s[m](s.tMin)).not.toThrow();
        expect(() => s[m](s.tMax)).not.toThrow();
        expectArgumentError(() => s[m](s.tMax + 1e-9 * (1 + s.tMax)), "t");
        expectArgumentError(() => s[m](s.tMin - 1e-9 * (1 + s.tMin)), "t");
      }
    }
  });
});
