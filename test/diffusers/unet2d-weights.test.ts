// diffusers weights files onto UNet2DModel: F16/BF16, deprecated attention names, every mismatch named,
// duplicates, truncation and pickles refused with typed errors, and saving back with diffusers' names.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useKernels } from "../../src/autograd/backend.ts";
import { parseUNet2DConfigText } from "../../src/diffusers/unet-config.ts";
import { createUNet2DModel, loadUNet2DModel, UNET_CONFIG_FILE, UNET_WEIGHTS_FILE } from "../../src/diffusers/unet-model.ts";
import { UNet2DWeightsError } from "../../src/diffusers/unet-weights.ts";
import { bf16ToFloat32, float32ToBf16, float32ToHalf, halfToFloat32 } from "../../src/io/half.ts";
import { readSafetensors, SafetensorsError, toFloat32, writeSafetensors, type TensorInput } from "../../src/io/safetensors.ts";
import { createTsKernels, initKernels } from "../../src/kernels/index.ts";
import { errorCodeOf } from "../support/errors.ts";
import { fixtureFile, fixtureText, maxAbsDiff, modelCase } from "./unet2d-fixtures.ts";

const CONFIG_A = fixtureText("a-cifar-ddpm/config.json");
const WEIGHTS_A = fixtureFile("a-cifar-ddpm/diffusion_pytorch_model.safetensors");
const tensorsA = () => readSafetensors(WEIGHTS_A).tensors;

/** Case a's tensors rewritten: each entry through `f` (return null to drop it), then `extra` added. */
function rewrite(f: (name: string, t: TensorInput) => [string, TensorInput] | null, extra: Record<string, TensorInput> = {}): Uint8Array {
  const out: Record<string, TensorInput> = {};
  for (const [n, t] of Object.entries(tensorsA())) {
    const r = f(n, t);
    if (r) out[r[0]] = r[1];
  }
  return writeSafetensors({ ...out, ...extra });
}

/** Bitwise equality of two float arrays (vitest's deep equality is slow on 10^5 elements). */
function sameBits(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a throw");
}

beforeAll(async () => useKernels(await initKernels({ backend: "wasm" })));
afterAll(() => useKernels(createTsKernels()));

describe("dtypes and names", () => {
  const c = modelCase("a-cifar-ddpm");
  const run = (bytes: Uint8Array) => loadUNet2DModel(CONFIG_A, bytes).forward(c.x, c.timesteps).data;

  it.each([
    ["F16", float32ToHalf, halfToFloat32],
    ["BF16", float32ToBf16, bf16ToFloat32],
  ] as const)("%s weights load, widened exactly: the output is the float32 model's with the rounded weights", (dtype, narrow, widen) => {
    const half = rewrite((n, t) => [n, { dtype, shape: t.shape, data: narrow(t.data as Float32Array) }]);
    const rounded = rewrite((n, t) => [n, { dtype: "F32", shape: t.shape, data: widen(narrow(t.data as Float32Array)) }]);
    const m = loadUNet2DModel(CONFIG_A, half);
    expect(m.dtype).toBe(dtype);
    const y = m.forward(c.x, c.timesteps).data;
    expect(sameBits(y, run(rounded))).toBe(true);
    // and rounding the weights moved the output a little, not a lot (the test sees the rounding)
    const d = maxAbsDiff(y, c.sample);
    expect(d).toBeGreaterThan(1e-6);
    expect(d).toBeLessThan(dtype === "F16" ? 5e-3 : 5e-2);
  });

  it("the deprecated attention names (query, key, value, proj_attn) give case a's output exactly", () => {
    const legacy = { to_q: "query", to_k: "key", to_v: "value", "to_out.0": "proj_attn" } as Record<string, string>;
    let renamed = 0;
    const bytes = rewrite((n, t) => {
      const m = /^(.+attentions\.\d+)\.(to_q|to_k|to_v|to_out\.0)\.(weight|bias)$/.exec(n);
      if (!m) return [n, t];
      renamed++;
      return [`${m[1]}.${legacy[m[2]]}.${m[3]}`, t];
    });
    expect(renamed).toBe(6 * 8);
    expect(sameBits(run(bytes), run(WEIGHTS_A))).toBe(true);
    expect(maxAbsDiff(run(fixtureFile("d-cifar-ddpm-legacy-names/diffusion_pytorch_model.safetensors")), run(WEIGHTS_A))).toBe(0);
  });
});

describe("weights that do not fit are refused with every offending tensor named", () => {
  it("missing, unexpected and mis-shaped tensors in one UNet2DWeightsError", () => {
    const bytes = rewrite(
      (n, t) => {
        if (n === "mid_block.resnets.1.conv2.bias") return null;
        if (n === "conv_in.weight") return [n, { ...t, shape: [16, 3, 9] }];
        if (n === "up_blocks.0.resnets.0.norm1.weight") return null;
        return [n, t];
      },
      { "mid_block.resnets.2.conv2.bias": { dtype: "F32", shape: [2], data: new Float32Array(2) } },
    );
    const e = thrown(() => loadUNet2DModel(CONFIG_A, bytes)) as UNet2DWeightsError;
    expect(e).toBeInstanceOf(UNet2DWeightsError);
    expect(e.code).toBe("mismatch");
    expect([...e.missing].sort()).toEqual(["mid_block.resnets.1.conv2.bias", "up_blocks.0.resnets.0.norm1.weight"]);
    expect(e.unexpected).toEqual(["mid_block.resnets.2.conv2.bias"]);
    expect(e.misshaped).toEqual([{ name: "conv_in.weight", expected: [16, 3, 3, 3], got: [16, 3, 9] }]);
    for (const n of ["mid_block.resnets.1.conv2.bias", "up_blocks.0.resnets.0.norm1.weight", "mid_block.resnets.2.conv2.bias", "conv_in.weight [16, 3, 9], expected [16, 3, 3, 3]"]) {
      expect(e.message).toContain(n);
    }
  });

  it("weights of another config: the counts are compared and named, nothing is allocated for the config", () => {
    const huge = { ...JSON.parse(CONFIG_A), block_out_channels: [65536, 65536, 65536], norm_num_groups: 32 };
    const before = process.memoryUsage().arrayBuffers;
    const e = thrown(() => loadUNet2DModel(huge, WEIGHTS_A)) as UNet2DWeightsError;
    expect(e.code).toBe("mismatch");
    expect(e.message).toMatch(/the config describes \d+ parameters in \d+ tensors, the file holds 409219 values/);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
  });

  it("a tensor stored twice (current and deprecated name) is a duplicate naming the key", () => {
    const t = tensorsA()["mid_block.attentions.0.to_q.bias"];
    const bytes = rewrite((n, x) => [n, x], { "mid_block.attentions.0.query.bias": t });
    const e = thrown(() => loadUNet2DModel(CONFIG_A, bytes)) as UNet2DWeightsError;
    expect(e.code).toBe("duplicate");
    expect(e.key).toBe("mid_block.attentions.0.to_q.bias");
    expect(e.message).toContain('"mid_block.attentions.0.query.bias"');
  });

  it("a duplicate key in the header, and a truncated file, are SafetensorsErrors", () => {
    const text = new TextDecoder().decode(WEIGHTS_A.subarray(8, 8 + 200));
    expect(text.startsWith("{")).toBe(true);
    // truncation anywhere: before the header ends, or inside the data
    for (const n of [4, 100, WEIGHTS_A.length - 5]) {
      expect(errorCodeOf(() => loadUNet2DModel(CONFIG_A, WEIGHTS_A.slice(0, n)), SafetensorsError, UNet2DWeightsError)).toMatch(/too_short|header_past_end|buffer_size|offsets_out_of_range/);
    }
    const tr = thrown(() => loadUNet2DModel(CONFIG_A, WEIGHTS_A.slice(0, WEIGHTS_A.length - 5))) as SafetensorsError;
    expect(tr.tensor).toBeDefined(); // the tensor that runs past the end is named
    const hdr = '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}';
    const b = new Uint8Array(8 + hdr.length + 8);
    new DataView(b.buffer).setUint32(0, hdr.length, true);
    b.set(new TextEncoder().encode(hdr), 8);
    const dup = thrown(() => loadUNet2DModel(CONFIG_A, b)) as SafetensorsError;
    expect(dup.code).toBe("duplicate_key");
    expect(dup.message).toContain('"a"');
  });

  it("a non-float tensor is a dtype error naming it", () => {
    const bytes = rewrite((n, t) => (n === "conv_out.bias" ? [n, { dtype: "I32", shape: t.shape, data: new Int32Array(t.shape[0]) }] : [n, t]));
    const e = thrown(() => loadUNet2DModel(CONFIG_A, bytes)) as UNet2DWeightsError;
    expect([e.code, e.key]).toEqual(["dtype", "conv_out.bias"]);
  });

  it("PyTorch pickles (.bin, .ckpt, zip or pickle bytes) are refused unread, with how to convert", () => {
    const zip = Uint8Array.of(0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 0, 0, 0);
    const pickle = Uint8Array.of(0x80, 0x02, 0x7d, 0x71, 0, 0, 0, 0, 0, 0);
    for (const [bytes, name] of [[zip, undefined], [pickle, undefined], [WEIGHTS_A, "diffusion_pytorch_model.bin"], [WEIGHTS_A, "model.ckpt"]] as const) {
      const e = thrown(() => loadUNet2DModel(CONFIG_A, bytes, { fileName: name })) as UNet2DWeightsError;
      expect(e).toBeInstanceOf(UNet2DWeightsError);
      expect(e.code).toBe("pickle");
      expect(e.message).toMatch(/never unpickled/);
      expect(e.message).toContain("save_pretrained(out, safe_serialization=True)");
    }
  });
});

describe("saving with diffusers' names", () => {
  it("case a loaded and saved gives back diffusers' tensors and config.json", () => {
    const files = loadUNet2DModel(CONFIG_A, WEIGHTS_A).save();
    expect(new TextDecoder().decode(files[UNET_CONFIG_FILE])).toBe(CONFIG_A);
    const saved = readSafetensors(files[UNET_WEIGHTS_FILE]);
    const orig = tensorsA();
    expect(Object.keys(saved.tensors).sort()).toEqual(Object.keys(orig).sort());
    for (const n of Object.keys(orig)) {
      expect(saved.tensors[n].shape, n).toEqual(orig[n].shape);
      expect(sameBits(toFloat32(saved.tensors[n]), toFloat32(orig[n])), n).toBe(true);
    }
    expect(saved.metadata).toEqual({ format: "pt" });
  });

  it("a fresh model round-trips bit for bit through its files (F32), and through F16 to the rounded values", () => {
    const config = { ...JSON.parse(CONFIG_A), block_out_channels: [8, 16, 16], norm_num_groups: 4, num_class_embeds: 3 };
    const m = createUNet2DModel(config, { seed: 7 });
    const files = m.save();
    const back = loadUNet2DModel(new TextDecoder().decode(files[UNET_CONFIG_FILE]), files[UNET_WEIGHTS_FILE]);
    expect(back.config).toEqual(parseUNet2DConfigText(new TextDecoder().decode(files[UNET_CONFIG_FILE])));
    for (const [n, t] of m.module.parameters()) expect(sameBits(back.module.parameters().get(n)!.data, t.data), n).toBe(true);
    const half = loadUNet2DModel(config, m.save({ dtype: "F16" })[UNET_WEIGHTS_FILE]);
    expect(half.dtype).toBe("F16");
    for (const [n, t] of m.module.parameters()) expect(sameBits(half.module.parameters().get(n)!.data, halfToFloat32(float32ToHalf(t.data))), n).toBe(true);
  });
});
