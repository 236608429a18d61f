export { GaussianMixture, type MixtureSpec } from "./mixture.ts";
