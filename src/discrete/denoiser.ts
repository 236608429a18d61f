// The one contract between discrete-diffusion models and everything that uses them (samplers, the
// ELBO, the CLI), as the Denoiser is for the continuous ones: given a batch of corrupted sequences
// x_t [B, L] (token ids; the absorbing process's mask is id K) and the survival probability α_t, return
// p̃(x_0 | x_t) [B, L, K]: at every position a distribution over the K real tokens (D3PM's
// x_0-parameterisation, Austin et al. 2021 §3.4; MDLM's "SUBS", Sahoo et al. 2024 §3.2.3). Rows at
// unmasked positions of the absorbing process are not read. Networks for the absorbing process may
// ignore α (MDLM §3.2.3: time conditioning is unnecessary; Ou et al. 2024 prove the optimum is α-free).

export type DiscreteDenoiser = (x: Int32Array, batch: number, alpha: number) => Float32Array | Float64Array;

/** A vocabulary's size and the sequence length a denoiser works on. */
export interface SequenceShape {
  /** Real tokens, ids 0..K−1 (the mask, when there is one, is K). */
  K: number;
  /** Positions per sequence. */
  L: number;
}
