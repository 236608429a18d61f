// Query parameters of GET /sample: every one parsed strictly and checked against the Worker's bounds.
// A bad value throws a BadRequest naming the parameter and what is allowed, which the handler turns into
// a 400 with JSON {error, parameter, allowed}. Nothing here allocates in proportion to the input beyond
// the (capped) query string itself.

import { SAMPLING_DEFAULTS } from "edge-diffusion";

/** A 400: `parameter` names what to fix, `allowed` says what would be accepted. */
export class BadRequest extends Error {
  constructor(parameter, message, allowed) {
    super(`${parameter}: ${message}`);
    this.parameter = parameter;
    this.allowed = allowed;
  }
}

/**
 * The bounds. Work is counted in denoiser evaluations per digit ("digit-NFEs", ≈ 4–14 ms of CPU each for
 * the shipped MNIST UNet, less per digit in bigger batches): count × steps × NFE per step × 2 with
 * classifier-free guidance. Digits are sampled CHUNK at a time, which bounds memory whatever the count.
 */
export const BOUNDS = {
  seedMax: 4294967295,
  stepsMax: 50,
  countMax: 16,
  guidanceMax: 8,
  /** One-shot requests: total digit-NFEs (≈ 1–2 s of CPU). */
  oneShotWork: 256,
  /** Resumable generations: total digit-NFEs over all requests. */
  resumableWork: 1024,
  /** Resumable mode: digit-NFEs in one request (≈ 0.1–0.5 s of CPU). */
  requestWork: 64,
  /** Longest accepted query string, and any single value. */
  queryChars: 512,
  valueChars: 16,
};

/** Digits sampled at a time (the results do not depend on it: noise is counter-based). */
export const CHUNK = 4;

/** Samplers the Worker offers, with denoiser evaluations per step (Heun corrects each step but the last). */
export const SAMPLER_COST = { euler: 1, heun: 2, dpmpp_2m: 1, dpmpp_2m_sde: 1, euler_ancestral: 1, ddim: 1, ddpm: 1 };
export const SAMPLERS = Object.keys(SAMPLER_COST);

/**
 * What a request leaves out. Steps, sampler and guidance are the library's SAMPLING_DEFAULTS (the CLI's
 * too), so `/sample?seed=0&count=4` draws what `generate(model, { count: 4 })` and
 * `edge-diffusion sample --count 4` draw; one digit by default keeps a bare request cheap.
 */
export const DEFAULTS = {
  steps: String(SAMPLING_DEFAULTS.steps),
  count: "1",
  label: "all",
  sampler: SAMPLING_DEFAULTS.sampler,
  guidance: String(SAMPLING_DEFAULTS.guidance),
  format: SAMPLING_DEFAULTS.format,
  mode: "oneshot",
};

/** The parameters a first request may carry, and the ones a continuation (POST with a token) may carry. */
export const PARAMS = ["seed", "steps", "count", "label", "sampler", "guidance", "format", "mode", "maxSteps"];
export const CONTINUATION_PARAMS = ["mode", "maxSteps"];

const INT = /^(0|[1-9][0-9]{0,9})$/;
const DECIMAL = /^(0|[1-9][0-9]?)(\.[0-9]{1,4})?$/;

function integer(name, raw, lo, hi) {
  const allowed = `integer ${lo}..${hi}`;
  if (!INT.test(raw)) throw new BadRequest(name, `must be a plain decimal integer, got ${show(raw)}`, allowed);
  const v = Number(raw);
  if (v < lo || v > hi) throw new BadRequest(name, `${v} is out of range`, allowed);
  return v;
}

function choice(name, raw, options) {
  if (!options.includes(raw)) throw new BadRequest(name, `unknown value ${show(raw)}`, options);
  return raw;
}

/** A value for an error message: JSON-quoted and cut short, whatever it contains. */
export function show(s) {
  const t = String(s);
  return JSON.stringify(t.length > 24 ? `${t.slice(0, 24)}...` : t);
}

/** Digit-NFEs of one step for all `count` digits. */
export function stepCost(p) {
  return p.count * SAMPLER_COST[p.sampler] * (p.guided ? 2 : 1);
}

/**
 * Split a query string into a map, refusing what a well-formed request never sends: an oversized query,
 * repeated or unknown names, empty or oversized values.
 */
export function readQuery(url, allowedNames) {
  const query = url.search.slice(1);
  if (query.length > BOUNDS.queryChars) {
    throw new BadRequest("query", `is ${query.length} characters long`, `at most ${BOUNDS.queryChars} characters`);
  }
  const out = new Map();
  for (const [name, value] of url.searchParams) {
    // "?=1" has a nameless parameter: the error still needs a parameter to point at
    if (name === "") throw new BadRequest("query", "has a parameter without a name", `name=value pairs with names from ${allowedNames.join(", ")}`);
    if (!allowedNames.includes(name)) {
      const hint = PARAMS.includes(name) ? " (a continuation takes its settings from the token)" : "";
      throw new BadRequest(name.length > 32 ? `${name.slice(0, 32)}...` : name, `is not a parameter of this request${hint}`, allowedNames);
    }
    if (out.has(name)) throw new BadRequest(name, "is given more than once", "one value");
    if (value === "") throw new BadRequest(name, "is empty", "a value");
    if (value.length > BOUNDS.valueChars) throw new BadRequest(name, `is ${value.length} characters long`, `at most ${BOUNDS.valueChars} characters`);
    out.set(name, value);
  }
  return out;
}

/**
 * The generation settings from raw strings (a query, or a token's header, which stores them the same
 * way so that it meets the same checks). `numClasses` comes from the model.
 */
export function parseSettings(q, numClasses, prefix = "") {
  const get = (k) => (q.has(k) ? q.get(k) : DEFAULTS[k]);
  if (!q.has("seed")) throw new BadRequest(`${prefix}seed`, "is missing", `integer 0..${BOUNDS.seedMax}`);
  const seed = integer(`${prefix}seed`, q.get("seed"), 0, BOUNDS.seedMax);
  const steps = integer(`${prefix}steps`, get("steps"), 1, BOUNDS.stepsMax);
  const count = integer(`${prefix}count`, get("count"), 1, BOUNDS.countMax);
  const labels = numClasses > 0 ? ["all", "none", ...Array.from({ length: numClasses }, (_, i) => String(i))] : ["none"];
  const labelRaw = choice(`${prefix}label`, get("label"), labels);
  const label = labelRaw === "none" ? null : labelRaw === "all" ? "all" : Number(labelRaw);
  const sampler = choice(`${prefix}sampler`, get("sampler"), SAMPLERS);
  const gRaw = get("guidance");
  if (!DECIMAL.test(gRaw)) throw new BadRequest(`${prefix}guidance`, `must be a decimal number like 1 or 2.5, got ${show(gRaw)}`, `0..${BOUNDS.guidanceMax}, at most 4 decimals`);
  const guidance = Number(gRaw);
  if (guidance > BOUNDS.guidanceMax) throw new BadRequest(`${prefix}guidance`, `${guidance} is out of range`, `0..${BOUNDS.guidanceMax}`);
  const format = choice(`${prefix}format`, get("format"), ["png", "safetensors"]);
  // guidance needs a label to guide towards; without one (label=none) it is plain unconditional sampling
  const guided = label !== null && guidance !== 1;
  const p = { seed, steps, count, label, sampler, guidance, format, guided };
  // raw strings, for the token: a continuation re-parses exactly these
  p.raw = { seed: String(seed), steps: String(steps), count: String(count), label: labelRaw, sampler, guidance: gRaw, format };
  return p;
}

/** The total work of a generation, checked against the bound of its mode. */
export function checkWork(p, resumable, prefix = "") {
  const limit = resumable ? BOUNDS.resumableWork : BOUNDS.oneShotWork;
  const per = stepCost(p);
  if (per * p.steps > limit) {
    const maxSteps = Math.floor(limit / per);
    const how = `count × steps × ${SAMPLER_COST[p.sampler]} (NFE per ${p.sampler} step)${p.guided ? " × 2 (guidance)" : ""} must be ≤ ${limit}${resumable ? " in resumable mode" : " (use mode=resumable for more)"}`;
    if (maxSteps < 1) throw new BadRequest(`${prefix}count`, `too much work: ${how}`, `at most ${Math.floor(limit / (per / p.count))} digits with these settings`);
    throw new BadRequest(`${prefix}steps`, `too much work: ${how}`, `integer 1..${maxSteps} with count=${p.count}, sampler=${p.sampler}, guidance=${p.guidance}`);
  }
}

/** mode and maxSteps: how many steps this request may run (all of them in one-shot mode). */
export function parseMode(q, p) {
  const mode = choice("mode", q.get("mode") ?? DEFAULTS.mode, ["oneshot", "resumable"]);
  if (mode !== "resumable") {
    if (q.has("maxSteps")) throw new BadRequest("maxSteps", "only applies with mode=resumable", "absent in one-shot mode");
    return { resumable: false, maxSteps: Infinity };
  }
  const fit = Math.floor(BOUNDS.requestWork / stepCost(p));
  if (fit < 1) {
    throw new BadRequest("count", `one step of ${p.count} digits costs ${stepCost(p)} digit-NFEs, more than one request may do (${BOUNDS.requestWork})`, `at most ${Math.floor(BOUNDS.requestWork / (stepCost(p) / p.count))} digits with these settings`);
  }
  const hi = Math.min(fit, BOUNDS.stepsMax);
  if (!q.has("maxSteps")) return { resumable: true, maxSteps: hi };
  const maxSteps = integer("maxSteps", q.get("maxSteps"), 1, BOUNDS.stepsMax);
  if (maxSteps > hi) {
    throw new BadRequest("maxSteps", `${maxSteps} steps of this generation cost ${maxSteps * stepCost(p)} digit-NFEs, more than one request may do (${BOUNDS.requestWork})`, `integer 1..${hi} with count=${p.count}, sampler=${p.sampler}, guidance=${p.guidance}`);
  }
  return { resumable: true, maxSteps };
}
