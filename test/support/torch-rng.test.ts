// The PyTorch generator rebuild must give PyTorch's documented first draws for seed 0, on each path it
// takes (float32 uniforms, the small-tensor double normals, and the 16-wide Box-Muller blocks), or the
// ported diffusers tests would compare against noise diffusers never drew.
import { describe, expect, it } from "vitest";
import { dummyModel, dummyNoiseDeter, dummySampleDeter } from "./diffusers-dummies.ts";
import { manualSeed } from "./torch-rng.ts";

const close = (a: ArrayLike<number>, b: number[]) => b.forEach((v, i) => expect(a[i]).toBeCloseTo(v, 4));

describe("torch-compatible generator", () => {
  it("torch.manual_seed(0); torch.rand(4) gives PyTorch's values", () => {
    close(manualSeed(0).rand(4), [0.4963, 0.7682, 0.0885, 0.132]);
  });
  it("torch.randn(5) (under 16 elements: double Box-Muller pairs) gives PyTorch's values", () => {
    close(manualSeed(0).randn(5), [1.541, -0.2934, -2.1788, 0.5684, -1.0845]);
  });
  it("torch.randn(4, 4) (a 16-element block) gives PyTorch's values", () => {
    close(manualSeed(0).randn(16), [-1.1258, -1.1524, -0.2506, -0.4339, 0.8487, 0.692, -0.316, -2.1152, 0.3223, -1.2633, 0.35, 0.3081, 0.1198, 1.2377, 1.1168, -0.2473]);
  });
  it("a size that is not a multiple of 16 redraws its last 16 values", () => {
    const a = manualSeed(0).randn(20);
    const b = manualSeed(0).randn(16);
    expect(Array.from(a.subarray(0, 4))).toEqual(Array.from(b.subarray(0, 4)));
    expect(a[4]).not.toBe(b[4]);
  });
});

describe("diffusers' scheduler test fixtures", () => {
  it("dummy_sample_deter is arange laid out [C, H, W, B] and permuted to [B, C, H, W]", () => {
    const s = dummySampleDeter();
    expect(s[0]).toBe(0);
    expect(s[1]).toBe(Math.fround(4 / 768)); // next w within item 0 is 4 further in the [C,H,W,B] layout
    expect(s[192]).toBe(Math.fround(1 / 768)); // item 1 starts at 1
    const n = dummyNoiseDeter();
    expect(n[0]).toBe(Math.fround(767 / 768));
  });
  it("the dummy model is sample * t / (t + 1)", () => {
    expect(dummyModel(Float32Array.of(2), 3)[0]).toBe(1.5);
  });
});
