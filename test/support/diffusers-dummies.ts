// The fixtures of diffusers' scheduler tests (tests/schedulers/test_schedulers.py, SchedulerCommonTest),
// rebuilt from their definitions so the tests' expected values carry over: a [4, 3, 8, 8] sample and
// noise made of arange(768) / 768 laid out as [C, H, W, B] and permuted to [B, C, H, W], and the dummy
// model sample * t / (t + 1).

export const DUMMY_SHAPE = [4, 3, 8, 8] as const;

/** arange(n) (reversed for the noise), / n in float32, reshaped [C, H, W, B] and permuted to [B, C, H, W]. */
function deter(reverse: boolean, shape: readonly number[] = DUMMY_SHAPE): Float32Array {
  const [B, ...rest] = shape;
  const inner = rest.reduce((a, b) => a * b, 1); // C * H * W
  const n = B * inner;
  const out = new Float32Array(n);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < inner; j++) {
      const src = j * B + b; // index in the [C, H, W, B] layout
      const v = reverse ? n - 1 - src : src;
      out[b * inner + j] = v / n;
    }
  }
  return out;
}

/** diffusers' dummy_sample_deter. */
export const dummySampleDeter = (shape?: readonly number[]): Float32Array => deter(false, shape);
/** diffusers' dummy_noise_deter. */
export const dummyNoiseDeter = (shape?: readonly number[]): Float32Array => deter(true, shape);

/** diffusers' dummy_model: sample * t / (t + 1), in float32 (t cast to the sample's dtype). */
export function dummyModel(sample: Float32Array, t: number): Float32Array {
  const tf = Math.fround(t);
  const ratio = (x: number) => Math.fround(Math.fround(x * tf) / Math.fround(tf + 1));
  return sample.map(ratio);
}

/** torch.sum(torch.abs(x)) and torch.mean(torch.abs(x)), as the tests' assertions read them. */
export function absSumMean(x: Float32Array): { sum: number; mean: number } {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.abs(x[i]);
  return { sum: s, mean: s / x.length };
}
