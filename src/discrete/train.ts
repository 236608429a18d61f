// The masked-diffusion training loop for token sequences (MDLM, Sahoo et al. 2024, Alg. 1): draw a
// batch x_0, one t per sequence (stratified, MDLM App. B.1), mask each token with probability 1 − α(t),
// and minimise the continuous-time negative ELBO, the cross-entropy at masked positions weighted by
// −α'(t)/(1 − α(t)) (eq. 11; 1/t for the linear schedule). Same optimizer and EMA as the image models
// (src/train/optim.ts). Deterministic for a seed: every draw of step s comes from
// rng.stream("train").stream(s).

import { weightedCrossEntropy } from "../autograd/ops.ts";
import { batchIndices } from "../data/dataset.ts";
import type { Transformer } from "../nn/transformer.ts";
import { Rng } from "../rng.ts";
import { AdamW, EMA, type AdamOptions } from "../train/optim.ts";
import { NonFiniteLossError, nextTask } from "../train/trainer.ts";
import { ArgumentError, int } from "../validate.ts";
import { LINEAR, type MaskSchedule } from "./schedule.ts";

export interface TextTrainOptions {
  net: Transformer;
  /** Training sequences [N, L] of real tokens (ids 0..K−1), L = the network's length. */
  data: Int32Array;
  /** Real tokens; the mask is K and must be the network's last input token. */
  K: number;
  batchSize: number;
  /** Train until this step (absolute: a resumed run continues from adam.step). */
  steps: number;
  seed: number;
  adam: AdamOptions;
  emaDecay?: number;
  schedule?: MaskSchedule;
  /** Smallest t drawn (default 1e-3): bounds the 1/t weight. */
  tMin?: number;
  reportEvery?: number;
  onProgress?: (p: { step: number; steps: number; loss: number; meanLoss: number; itPerSec: number; etaSeconds: number }) => void;
  /** Called every `saveEvery` steps (default: never) with the state, to write a model or checkpoint. */
  onSave?: (step: number, adam: AdamW, ema: EMA) => void;
  saveEvery?: number;
  signal?: AbortSignal;
  resume?: { adam: AdamW; ema: EMA };
}

/**
 * One step's loss: the MDLM negative ELBO per token position (nats), for x0 [B, L] and the step's rng.
 * Exported for the tests, which check its expectation against elboMonteCarlo.
 */
export function maskedDiffusionLoss(net: Transformer, x0: Int32Array, B: number, K: number, rng: Rng, schedule: MaskSchedule = LINEAR, tMin = 1e-3) {
  const L = net.config.length;
  const u0 = rng.stream("t").uniform(new Float64Array(1))[0];
  const u = rng.stream("mask").uniform(new Float64Array(B * L));
  const xt = new Int32Array(B * L);
  const w = new Float64Array(B * L);
  for (let b = 0; b < B; b++) {
    const t = tMin + (1 - tMin) * ((u0 + b / B) % 1);
    const a = schedule.alpha(t);
    const weight = -schedule.dalpha(t) / (1 - a) / (B * L);
    for (let l = 0; l < L; l++) {
      const i = b * L + l;
      const masked = u[i] >= a;
      xt[i] = masked ? K : x0[i];
      w[i] = masked ? weight : 0;
    }
  }
  return weightedCrossEntropy(net.forward(xt, B), x0, w);
}

export interface TextTrainResult {
  adam: AdamW;
  ema: EMA;
  step: number;
  losses: Float64Array;
  aborted: boolean;
}

/** Train the network; yields to the event loop every step so a signal can stop it between steps. */
export async function trainText(o: TextTrainOptions): Promise<TextTrainResult> {
  const L = o.net.config.length;
  const K = int("K", o.K, 1);
  if (o.net.config.vocabIn !== K + 1 || o.net.config.vocabOut !== K) throw new ArgumentError("net", `must take ${K + 1} input tokens (with the mask) and predict ${K}, has ${o.net.config.vocabIn} and ${o.net.config.vocabOut}`);
  const N = o.data.length / L;
  if (!Number.isInteger(N) || N < 1) throw new ArgumentError("data", `length ${o.data.length} is not a positive multiple of the sequence length ${L}`);
  o.data.forEach((v, i) => {
    if (!(v >= 0 && v < K)) throw new ArgumentError(`data[${i}]`, `must be a token in [0, ${K - 1}], got ${v}`);
  });
  const B = int("batchSize", o.batchSize, 1, 65536);
  const params = o.net.parameters();
  const adam = o.resume?.adam ?? new AdamW(params, o.adam);
  const ema = o.resume?.ema ?? new EMA(params, o.emaDecay ?? 0.999);
  const start = adam.step;
  int("steps", o.steps, start);
  const every = int("reportEvery", o.reportEvery ?? 10, 1);
  const root = new Rng(o.seed).stream("train");
  const losses = new Float64Array(o.steps - start);
  const x0 = new Int32Array(B * L);
  const t0 = performance.now();
  let win = 0;
  let winN = 0;
  for (let s = start; s < o.steps; s++) {
    if (o.signal?.aborted) return { adam, ema, step: s, losses: losses.subarray(0, s - start), aborted: true };
    const rng = root.stream(s);
    batchIndices(rng, "batch", B, N).forEach((j, b) => x0.set(o.data.subarray(j * L, (j + 1) * L), b * L));
    const loss = maskedDiffusionLoss(o.net, x0, B, K, rng, o.schedule, o.tMin);
    const lv = loss.data[0];
    if (!Number.isFinite(lv)) throw new NonFiniteLossError(s, lv);
    adam.zeroGrad();
    loss.backward();
    const norm = adam.update();
    if (!Number.isFinite(norm)) throw new NonFiniteLossError(s, norm);
    adam.zeroGrad();
    ema.update(params, s);
    losses[s - start] = lv;
    win += lv;
    winN++;
    if (o.onProgress && ((s + 1) % every === 0 || s + 1 === o.steps)) {
      const el = (performance.now() - t0) / 1000;
      const ips = (s + 1 - start) / Math.max(el, 1e-9);
      o.onProgress({ step: s + 1, steps: o.steps, loss: lv, meanLoss: win / winN, itPerSec: ips, etaSeconds: (o.steps - s - 1) / ips });
      win = 0;
      winN = 0;
    }
    if (o.onSave && o.saveEvery && (s + 1) % o.saveEvery === 0 && s + 1 < o.steps) o.onSave(s + 1, adam, ema);
    await nextTask();
  }
  return { adam, ema, step: o.steps, losses, aborted: false };
}
