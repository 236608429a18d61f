// Bytes pinned before the architecture refactor (issue 11, which must change no behaviour): the runtime
// fingerprint that every runtime's hashes are compared with, the shipped model's samples in every mode,
// every sampler on the exact mixture, and the PNG that `npm start` writes. A change here is a change of
// behaviour: if it is meant, say so in the commit and re-pin. (Captured on 2026-12-03, plain SIMD128
// kernels, which are bit-reproducible across machines.)
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { node, ROOT } from "../runtimes/support.ts";

const FINGERPRINT = {"normals":"695e2dd67788e26648055d4c5f456a6f03f920d564094a09a83edaea351f8fbc","normals64":"c2d1078b1ce1d3d0faaeeb2906f306641e846748aa25b611c588022983f8759d","uniforms":"758e37feef6dcb8bbf5f3b82b5a689af1c96c413b72a261f82280ed9415a9944","schedules":"e52835d86d74357e934d426bf83e6c25ce0acb69171a4a1188b84ad897d3f070","sigmas":"286939cce87ca979b84fb5c3f16f4f1ff3eb829dfe2067a97be7589443aacb72","detmath":"950977d53c0df849d0c354cc26acfb5e1e51e13d53b89e76e03310cc8dabe510","forward":"9573e0058b5edfa830adc8cf426424350ddbddac6730a708427613014a934c9f","png":"3e89d54d6486b49708dbe3fa23c655ce72dd6af16533e3344a78bec31ea4a737","backend":"wasm","unet":"d21390070548a56209a3df670115f183acfb654d30920fb0cdd180fef29775d9"};
const SAMPLE_MODEL = {"backend":"wasm","tensor":"75a6faa40262ffb9b4fd536c6dde2cf495891146b44805494e5b0b54ea4a7dd1","png":"48be97d99d02160a124f9ece87494bc2d0d83cdf2e076586337697a95a9e9695","shape":[3,1,28,28],"mean":-0.5883448207057969};
const PROBE = {
  "mixture.euler": "619a1faee7ab087d71d0848686a7d5690673e852085116d4364550f293d19e84",
  "mixture.heun": "1cdcd936db680706e2ad6027420e756dfe1b21fdf497da8e52b1e7098d4fcfb9",
  "mixture.dpmpp_2m": "a17a9d4f5b2162f281994782282957428af137c6cf184fcf93c6a44dbf63c64f",
  "mixture.rk45": "acdbd781219600945d5457fdd94d87627a5911506af5f19260f984fb25ab9c9d",
  "mixture.euler_ancestral": "baf49d52c254ce0abcb556d2c2196360506108c1494f35a5f78c06036d6b1f5f",
  "mixture.ddim": "619a1faee7ab087d71d0848686a7d5690673e852085116d4364550f293d19e84",
  "mixture.ddpm": "baf49d52c254ce0abcb556d2c2196360506108c1494f35a5f78c06036d6b1f5f",
  "mixture.dpmpp_2m_sde": "f1bc4b2eec4511dea235b0156360a529070311f7dadd85419a2bf379f98d3eba",
  "mixture.dpmpp_3m_sde": "ee286ba5346064dcf55375fd3f8a6168b8c9eee0cf5e76e325239fa20981e65b",
  "mixture.dpmpp_2s_ancestral": "a2dc7ed2e290cd51645704d79069ca0f0d67e799478b5304e66372c6a7508a7f",
  "mixture.dpm_solver_multistep": "a309c265e410d336a0336a782399a88558cddc3b4565872ab1fa065c1ffacf93",
  "mixture.dpm_solver_singlestep": "bf9c048fe24c8474c053ec429d83b217158dad74770573910605d14b8bea8031",
  "mixture.ipndm": "8b4869fb1eb88be2b1473da79395eee56d0653651fa29dc5cdee8e2a7c87f339",
  "mixture.langevin": "1325af67b37bef81fc1d20ccdbf1a26b8bf2a7baf813853a2ec678e1f3afdfc5",
  "mixture.lcm": "5afa456d2e506b493adc68751a96bc778942059ff417346cd718b5d34cbdf496",
  "mixture.pc": "476756a11772f46f5c90d4032f0914b2598f6e6adca4b17370b3ff04a830a17b",
  "mixture.plms": "7a0323ddf67392e30ce246a954b72fa6df137dc755c15b7886cbc7d00d31d8e1",
  "mixture.lms": "5b11131586f18887f37fad357fe27b32c6659d53cf74c5a668addcf2048c00ba",
  "mixture.dpm_2": "f8ddc3ca02e5208a5da720351c2d85d5a6124c69e87e888a13986f7c4895c968",
  "mixture.dpm_2_ancestral": "4d34113620ae56e8dbcba0dab9671b00d265a34e5a2c6fca5c5f39dee5b6eca3",
  "mixture.consistency": "122683a19d6ca14e8ab1ee052009811722857b2081079029a3964a3a90d9fea4",
  "mixture.unipc": "0421e419cd651e1637ea671fdc9000e2d92a0d0519c43161f944c63da987fafd",
  "mixture.deis": "fd466a0a8960bdcd0196cfaa9fe6cac03f0d039d145cb03c7e7fcb66898944ef",
  "mixture.sa_solver": "3a61d822b84df74a89e5bb0d6b68f8f35032b2c281594968d03fc18e03354884",
  "mixture.guided.heun": "3b77b068cc76b4f3390f297363d64657869ee2259ece36e476f3177e1b086e46",
  "mixture.img2img.euler_ancestral": "22e23c9400ed7100646bb88be0766baa2e874c2bd568701e8c2bfa1554dae96a",
  "mixture.inpaint": "ae7c76c8839cb925c01ab6dc8962678ad022f4e0b079f1a1c8a7f8cba5a95d64",
  "model.dpmpp_2m": "497d1daabcbc920148dafe6a91724ed617ae5618097469b86259a85227555bef",
  "model.heun": "152f01cfb81a4275b53aa4e8fa5b5cd710cf8d0624d9015c08628db45a858daa",
  "model.euler_ancestral": "ee8e43066f880f7d5dc6c6561e6dff6316b895b0852967608e38338be5fef9b2",
  "model.ddim": "50c7249b95730a3f193dee913a2677f6906c78dd131a3c1b8c5ab373d9e12a75",
  "model.ddpm": "ee8e43066f880f7d5dc6c6561e6dff6316b895b0852967608e38338be5fef9b2",
  "model.dpmpp_2m_sde": "51a7628875743a985199d2185b33705fb0160e0864826dbffe58554260e5e74d",
  "model.pc": "d84ede2e13c40f087f225b7289444ac88320484698236d46ef7bd34dab9f7d92",
  "model.rk45.unguided": "bd602d4f1385817f7af5e83419bab879ad3299d60141a758164f6190c626434a",
  "model.img2img": "283cb127254d24a88984333ef32d687e5607a61517a2a7e7b298eaf8b85af343",
  "model.inpaint": "f95694581cbd969a438b21669a61e1f6e34a901108565d910bdd78ccd0a56680",
  "model.steps.dpmpp_2m_sde": "51a7628875743a985199d2185b33705fb0160e0864826dbffe58554260e5e74d"
};
const NPM_START_PNG = "387783c4953478fbe8ce93178dc5ed80033dda98a1ec3482e429be360be29285";

describe("bytes pinned across the refactor", () => {
  it("the runtime fingerprint (test/runtimes/run.mjs) that Deno, Bun, workerd and Chromium must equal", () => {
    expect(node("test/runtimes/run.mjs")).toEqual(FINGERPRINT);
  });

  it("the shipped model's reference request (test/runtimes/sample-model.mjs)", () => {
    expect(node("test/runtimes/sample-model.mjs", join(ROOT, "models/mnist.safetensors"))).toEqual(SAMPLE_MODEL);
  });

  it("every sampler on the mixture, guidance, img2img, inpainting, and generate() in every mode on the shipped model", () => {
    expect(node("test/pinned/probe.mjs")).toEqual(PROBE);
  });

  it("the PNG that `npm start` writes, on one thread and on two", () => {
    const tmp = mkdtempSync(join(tmpdir(), "ed-pinned-"));
    try {
      for (const threads of ["1", "2"]) {
        const out = join(tmp, `start-${threads}.png`);
        const r = spawnSync(process.execPath, ["dist/cli.js", "start", "--out", out, "--threads", threads], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
        expect(r.status, r.stderr).toBe(0);
        expect(createHash("sha256").update(readFileSync(out)).digest("hex")).toBe(NPM_START_PNG);
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
