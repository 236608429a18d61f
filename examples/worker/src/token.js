// The continuation token of resumable mode: everything needed to run the next steps, and nothing the
// Worker could not recompute is trusted without a check. Layout (little-endian), then base64url:
//
//   "EDT1" | u32 header length H | H bytes of JSON header | zero padding to 4 bytes | float32 data
//
// The header holds the settings as the same raw strings a query carries (so they meet the same
// parser and the same work bounds), the next step, and per chunk of digits the sampler's loop-carried
// values: null, a number (JSON keeps doubles exact), or "x" for a float32 array shaped like that
// chunk's batch, stored after the batch itself in the float32 data. Everything else a sampler state
// holds (sigmas, Rng key, options) follows from the settings and is recomputed, not read.
import { BadRequest, BOUNDS } from "./params.js";

const MAGIC = [0x45, 0x44, 0x54, 0x31]; // "EDT1"
const HEADER_MAX = 2048;
/** Carried arrays per chunk (dpmpp_2m keeps one: the previous x0 estimate). */
const CARRY_ARRAYS_MAX = 2;
/** The largest |value| a batch or carried array may hold (sigmaMax 80 × a very unlikely normal draw ≈ 800). */
export const VALUE_MAX = 1e4;

/** The longest token a request may carry, for items of `itemSize` values. */
export function maxTokenChars(itemSize) {
  const bytes = 8 + HEADER_MAX + 4 + BOUNDS.countMax * itemSize * 4 * (1 + CARRY_ARRAYS_MAX);
  return Math.ceil(bytes / 3) * 4;
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64_INDEX[B64.charCodeAt(i)] = i;

function toBase64url(bytes) {
  const parts = [];
  let s = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const k = Math.min(3, bytes.length - i) + 1;
    for (let j = 0; j < k; j++) s += B64[(n >> (18 - 6 * j)) & 63];
    if (s.length > 8192) {
      parts.push(s);
      s = "";
    }
  }
  parts.push(s);
  return parts.join("");
}

function fromBase64url(s) {
  if (s.length % 4 === 1) throw new BadRequest("token", "is not valid base64url (bad length)", "a token returned by this Worker");
  const out = new Uint8Array(Math.floor((s.length * 3) / 4));
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    let n = 0;
    const k = Math.min(4, s.length - i);
    for (let j = 0; j < 4; j++) {
      let v = 0;
      if (j < k) {
        const c = s.charCodeAt(i + j);
        v = c < 128 ? B64_INDEX[c] : -1;
        if (v < 0) throw new BadRequest("token", `has a character outside base64url at ${i + j}`, "a token returned by this Worker");
      }
      n = (n << 6) | v;
    }
    for (let j = 0; j < k - 1; j++) out[o++] = (n >> (16 - 8 * j)) & 255;
  }
  return out.subarray(0, o);
}

/**
 * Encode a paused generation. `settings` are the raw strings of the request; `x` the whole batch;
 * `carries` one object per chunk (the sampler states' carry), `chunkSizes` the digits per chunk.
 */
export function encodeToken(settings, step, x, carries, chunkSizes, itemSize) {
  const arrays = [x];
  const carry = carries.map((c, k) => {
    const out = {};
    for (const [key, v] of Object.entries(c)) {
      if (v === null || typeof v === "number") out[key] = v;
      else if (Array.isArray(v) && v.length === chunkSizes[k] * itemSize) {
        const f = Float32Array.from(v);
        if (f.some((e, i) => e !== v[i])) throw new Error(`carry ${key} is not float32`);
        out[key] = "x";
        arrays.push(f);
      } else throw new Error(`carry ${key} cannot be stored in a token`);
    }
    return out;
  });
  const header = new TextEncoder().encode(JSON.stringify({ s: settings, step, carry }));
  const start = (8 + header.length + 3) & ~3;
  const floats = arrays.reduce((a, b) => a + b.length, 0);
  const bytes = new Uint8Array(start + 4 * floats);
  bytes.set(MAGIC);
  new DataView(bytes.buffer).setUint32(4, header.length, true);
  bytes.set(header, 8);
  const dv = new DataView(bytes.buffer);
  let o = start;
  for (const a of arrays) for (let i = 0; i < a.length; i++, o += 4) dv.setFloat32(o, a[i], true);
  return toBase64url(bytes);
}

/** The settings a token carries (the query parameters that are not about this request alone). */
const SETTINGS = ["seed", "steps", "count", "label", "sampler", "guidance", "format"];

const bad = (msg) => new BadRequest("token", msg, "a token returned by this Worker, unchanged");

/**
 * Decode and check a token: size, characters, layout, header fields, array sizes, finite and bounded
 * values. Returns the raw settings (for parseSettings), the step, the batch and the per-chunk carries.
 * `chunkSizesOf(settings)` gives the digits per chunk once the settings are parsed.
 */
export function decodeToken(token, itemSize, parse) {
  if (typeof token !== "string" || token.length === 0) throw new BadRequest("token", "is missing: POST the token of the previous response as the body", "a token returned by this Worker");
  if (token.length > maxTokenChars(itemSize)) throw new BadRequest("token", `is ${token.length} characters long`, `at most ${maxTokenChars(itemSize)} characters`);
  const bytes = fromBase64url(token);
  if (bytes.length < 8 || MAGIC.some((m, i) => bytes[i] !== m)) throw bad("does not start with the token magic");
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const H = dv.getUint32(4, true);
  if (H > HEADER_MAX || 8 + H > bytes.length) throw bad(`header length ${H} is out of range`);
  let header;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + H)));
  } catch {
    throw bad("header is not JSON");
  }
  if (!header || typeof header !== "object" || Array.isArray(header)) throw bad("header is not an object");
  const keys = Object.keys(header);
  if (keys.length !== 3 || !["s", "step", "carry"].every((k) => keys.includes(k))) throw bad("header must hold exactly s, step and carry");
  const s = header.s;
  if (!s || typeof s !== "object" || Array.isArray(s)) throw bad("header.s is not an object");
  const q = new Map();
  for (const [k, v] of Object.entries(s)) {
    if (!SETTINGS.includes(k)) throw bad(`header.s has an unknown setting ${JSON.stringify(k.slice(0, 16))}`);
    if (typeof v !== "string" || v.length > BOUNDS.valueChars) throw bad(`setting ${k.slice(0, 16)} is not a short string`);
    q.set(k, v);
  }
  // the same parser and bounds as a query; names the setting inside the token
  const { p, chunkSizes } = parse(q);
  const step = header.step;
  if (!Number.isInteger(step) || step < 1 || step >= p.steps) throw new BadRequest("token.step", `is ${show(step)}`, `integer 1..${p.steps - 1}`);
  const carry = header.carry;
  if (!Array.isArray(carry) || carry.length !== chunkSizes.length) throw bad(`carry must be an array of ${chunkSizes.length} objects`);
  const total = p.count * itemSize;
  const lengths = [total];
  const carries = carry.map((c, k) => {
    if (!c || typeof c !== "object" || Array.isArray(c)) throw bad(`carry[${k}] is not an object`);
    const entries = Object.entries(c);
    if (entries.length > 4) throw bad(`carry[${k}] has too many entries`);
    let arrays = 0;
    for (const [key, v] of entries) {
      if (!/^[A-Za-z][A-Za-z0-9]{0,15}$/.test(key)) throw bad(`carry[${k}] has a bad key`);
      if (v === "x") {
        if (++arrays > CARRY_ARRAYS_MAX) throw bad(`carry[${k}] has too many arrays`);
        lengths.push(chunkSizes[k] * itemSize);
      } else if (v !== null && !(typeof v === "number" && Number.isFinite(v) && Math.abs(v) <= VALUE_MAX)) throw bad(`carry[${k}].${key} is not null, "x" or a bounded finite number`);
    }
    return c;
  });
  const start = (8 + H + 3) & ~3;
  const floats = lengths.reduce((a, b) => a + b, 0);
  if (bytes.length !== start + 4 * floats) throw bad(`holds ${bytes.length} bytes, its header needs ${start + 4 * floats}`);
  const arrays = [];
  let o = start;
  for (const n of lengths) {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++, o += 4) {
      const v = dv.getFloat32(o, true);
      if (!(Math.abs(v) <= VALUE_MAX)) throw bad(`value ${arrays.reduce((t, b) => t + b.length, i)} is ${v}, not finite within ±${VALUE_MAX}`);
      a[i] = v;
    }
    arrays.push(a);
  }
  // back to the samplers' carry form: arrays in order, per chunk
  let next = 1;
  const out = carries.map((c) => Object.fromEntries(Object.entries(c).map(([key, v]) => [key, v === "x" ? Array.from(arrays[next++]) : v])));
  return { p, chunkSizes, step, x: arrays[0], carries: out };
}

function show(v) {
  return JSON.stringify(v)?.slice(0, 24) ?? String(v);
}
