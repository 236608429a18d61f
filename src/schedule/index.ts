export type { Schedule } from "./types.ts";
export { veSigma, logSnrOfVeSigma } from "./types.ts";
export {
  MAX_T,
  checkBetas,
  cosineAlphaBar,
  cosineBetas,
  geometricBetas,
  linearBetas,
  rescaleZeroTerminalSnr,
  scaledLinearBetas,
  sigmoidBetas,
} from "./betas.ts";
export { DiscreteSchedule, discreteSchedule, type BetaScheduleName, type DiscreteOptions } from "./discrete.ts";
export { EDM, VE, VPCosine, VPLinear } from "./continuous.ts";
export {
  discreteTimesteps,
  exponentialSigmas,
  karrasSigmas,
  sigmasAtTimesteps,
  uniformTimeSigmas,
  type TimestepSpacing,
} from "./sigmas.ts";
export { RectifiedFlow, flowTOfVeSigma, flowVeSigma } from "./flow.ts";
