// Files that are not edge-diffusion models are named for what they are (issue 14 #6), and the sniffing
// never refuses a real model whose header length happens to start like a pickle.
import { describe, expect, it } from "vitest";
import { packCheckpoint, unpackCheckpoint } from "../../src/io/checkpoint.ts";
import { writeSafetensors } from "../../src/io/safetensors.ts";

const f32 = (shape: number[]) => ({ dtype: "F32" as const, shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
const expected = /expected an edge-diffusion model or checkpoint \(safetensors with __metadata__\.format "edge-diffusion\.checkpoint"/;

describe("wrong-kind model files", () => {
  it("a PyTorch zip (torch.save) and a bare pickle are named, with what was expected", () => {
    const zip = new Uint8Array([0x50, 0x4b, 0x03, 0x04, ...new Array(60).fill(0)]);
    expect(() => unpackCheckpoint(zip)).toThrow(/this is a PyTorch file \(a zip archive/);
    expect(() => unpackCheckpoint(zip)).toThrow(expected);
    const pickle = new Uint8Array([0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e]);
    expect(() => unpackCheckpoint(pickle)).toThrow(/this is a PyTorch pickle/);
  });

  it("a diffusers UNet2DModel safetensors is named from its tensor names", () => {
    const d = writeSafetensors({ "conv_in.weight": f32([4, 1, 3, 3]), "down_blocks.0.resnets.0.conv1.weight": f32([4, 4, 3, 3]), "time_embedding.linear_1.weight": f32([16, 4]) }, { format: "pt" });
    expect(() => unpackCheckpoint(d)).toThrow(/this is a diffusers UNet2DModel weights file .*__metadata__\.format is "pt"/);
    expect(() => unpackCheckpoint(writeSafetensors({ w: f32([2]) }))).toThrow(/this is a safetensors file without edge-diffusion's metadata/);
  });

  it("a real checkpoint whose header length begins 0x80 0x02 (a pickle's magic) still loads", () => {
    let found: Uint8Array | null = null;
    for (let n = 0; n < 2000 && !found; n++) {
      const b = packCheckpoint({ params: { w: { shape: [2], data: new Float32Array([1, 2]) } }, meta: { pad: "x".repeat(n) } });
      if (b[0] === 0x80 && b[1] === 0x02) found = b;
    }
    expect(found).not.toBeNull();
    expect([...unpackCheckpoint(found!).params.w.data]).toEqual([1, 2]);
  });
});
