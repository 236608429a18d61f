export { averagePool, colorToGray, divisors, gaussianBlur, gaussianTaps, maskOperator, pinv, type ItemShape, type LinearOperator } from "./operators.ts";
export { checkMeasurement, residualNorms, spectralMeasurement, type MeasurementOptions } from "./common.ts";
export { ddrm, type DdrmOptions } from "./ddrm.ts";
export { dps, type DpsOptions } from "./dps.ts";
export { ilvr, type IlvrOptions } from "./ilvr.ts";
export { mixtureGradientDenoiser } from "./gradient.ts";
