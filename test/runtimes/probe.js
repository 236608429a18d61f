// A runtime-agnostic fingerprint of the library's deterministic outputs: noise, schedules, sigma
// sequences, the forward process and the PNG encoder. Plain ESM with no runtime-specific imports, so the
// same file runs in Node, Deno, Bun, workerd and Chromium; the tests compare the hashes across them.

async function sha256(bytes) {
  const d = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const bytesOf = (a) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice();

/** @param lib the library module (dist/index.js); @param seed the seed everything is drawn from */
export async function fingerprint(lib, seed = 7) {
  const rng = new lib.Rng(seed);
  const parts = {};
  parts.normals = await sha256(bytesOf(rng.randn(16, 784)));
  parts.normals64 = await sha256(bytesOf(rng.stream("f64").normal(new Float64Array(4099), 5, 3)));
  parts.uniforms = await sha256(bytesOf(rng.stream(12).uniform(new Float64Array(1000))));

  const sched = [
    lib.discreteSchedule("cosine"),
    lib.discreteSchedule("scaled_linear", { zeroTerminalSnr: true }),
    lib.discreteSchedule("sigmoid"),
    lib.discreteSchedule("geometric", { T: 100 }),
    new lib.VPLinear(),
    new lib.VPCosine(),
    new lib.VE(),
    new lib.EDM(),
  ];
  const vals = [];
  for (const s of sched) {
    for (let i = 0; i <= 64; i++) {
      const t = s.tMin + ((s.tMax - s.tMin) * i) / 64;
      vals.push(s.alpha(t), s.sigma(t), s.logSnr(t));
      if (Number.isFinite(s.logSnr(t))) vals.push(s.tOfLogSnr(s.logSnr(t)));
    }
  }
  parts.schedules = await sha256(bytesOf(Float64Array.from(vals)));
  const sig = [lib.karrasSigmas(40, 0.002, 80, 7), lib.exponentialSigmas(33, 0.01, 50), lib.uniformTimeSigmas(new lib.VPLinear(), 25)];
  parts.sigmas = await sha256(bytesOf(Float64Array.from(sig.flatMap((a) => [...a]))));

  const math = [];
  for (let i = 1; i < 2000; i++) {
    const x = (i - 1000) * 0.37;
    math.push(lib.dexp(x * 0.5), lib.dlog(i * 1.37e-3), lib.dsin(x), lib.dcos(x), lib.dexpm1(x * 1e-3), lib.dlog1p(i * 1e-4), lib.dpow(i * 0.01, 1 / 7), lib.dsigmoid(x * 0.1));
  }
  parts.detmath = await sha256(bytesOf(Float64Array.from(math)));

  const size = 16;
  const x0 = lib.shapeImages(size);
  const N = x0.length / (size * size);
  const eps = rng.stream("eps").randn(N, size * size);
  const xt = lib.qSample(lib.discreteSchedule("cosine"), x0, eps, Array.from({ length: N }, (_, i) => 100 + 150 * i), N);
  parts.forward = await sha256(bytesOf(xt));
  parts.png = await sha256(lib.encodePng(lib.imageGrid(xt, [N, 1, size, size], { cols: 3, scale: 2 })));

  // The WASM SIMD kernels: a small class-conditional UNet, seeded weights, a few Heun steps.
  const k = await lib.initKernels({ backend: "wasm" });
  parts.backend = k.backend;
  lib.useKernels(k);
  const net = new lib.UNet({ ...lib.MNIST_UNET, size: 8, channels: [8, 16], attentionLevels: [1], groups: 4, embDim: 8 }).initialize(seed);
  // training-time init leaves zero output layers; give them values so the output depends on every layer
  for (const [name, t] of net.parameters()) if (name.startsWith("out.conv")) rng.stream(name).normal(t.data);
  const precond = lib.edmPreconditioner(0.5, 0.002, 80);
  const den = lib.networkDenoiser(net, precond, [1, 8, 8], Int32Array.of(3, 7));
  const sig4 = lib.karrasSigmas(4, 0.002, 80);
  const x = lib.initialNoise(rng, 2, 64, sig4[0]);
  parts.unet = await sha256(bytesOf(lib.getSampler("heun")(den, x, sig4, { batch: 2, rng }).x));
  return parts;
}
