// Reading a scheduler config: every key a class reads has a default and a check, every other key is an
// error naming it (a config that asks for something we do not do must not run as something else), and
// the keys that never change the math (bookkeeping diffusers writes) are accepted and kept.

import { parseJsonStrict, type JsonValue } from "../../io/json.ts";
import { ArgumentError } from "../../validate.ts";

/** Checks one value and returns it (possibly normalised); throws an ArgumentError naming `key`. */
export type Check = (key: string, v: unknown) => unknown;

export interface KeySpec {
  default: unknown;
  check: Check;
}

/** The keys one class reads, with their defaults (diffusers' constructor defaults) and checks. */
export type ConfigSpec = Readonly<Record<string, KeySpec>>;

/** Keys diffusers writes that never change the math. */
export const INERT_KEYS: readonly string[] = ["_class_name", "_diffusers_version", "_use_default_values", "_name_or_path"];

function show(v: unknown): string {
  if (typeof v === "number") return Number.isNaN(v) ? "NaN" : String(v);
  if (typeof v === "string") return JSON.stringify(v);
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return typeof v;
}

export const bool: Check = (key, v) => {
  if (typeof v !== "boolean") throw new ArgumentError(key, `must be true or false, got ${show(v)}`);
  return v;
};

/** A number in [lo, hi] (finite unless `allowInfinite`). */
export function num(lo = -Infinity, hi = Infinity, opts: { allowInfinite?: boolean; openLo?: boolean } = {}): Check {
  return (key, v) => {
    if (typeof v !== "number" || Number.isNaN(v) || (!opts.allowInfinite && !Number.isFinite(v))) {
      throw new ArgumentError(key, `must be a ${opts.allowInfinite ? "" : "finite "}number, got ${show(v)}`);
    }
    if (v < lo || v > hi || (opts.openLo && v === lo)) throw new ArgumentError(key, `must be in ${opts.openLo ? "(" : "["}${lo}, ${hi}], got ${v}`);
    return v;
  };
}

/** An integer in [lo, hi]. */
export function integer(lo: number, hi: number): Check {
  return (key, v) => {
    if (typeof v !== "number" || !Number.isInteger(v)) throw new ArgumentError(key, `must be an integer, got ${show(v)}`);
    if (v < lo || v > hi) throw new ArgumentError(key, `must be in [${lo}, ${hi}], got ${v}`);
    return v;
  };
}

/** One of the listed values (strings, or null/booleans where diffusers allows them). */
export function choice(allowed: readonly (string | number | boolean | null)[]): Check {
  return (key, v) => {
    if (!allowed.includes(v as string)) {
      throw new ArgumentError(key, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}, got ${show(v)}`);
    }
    return v;
  };
}

/** null, or what `check` accepts. */
export function nullable(check: Check): Check {
  return (key, v) => (v === null ? null : check(key, v));
}

/** An array of finite numbers, at most maxLength of them, each passing `each` if given. */
export function numbers(maxLength: number, each?: Check): Check {
  return (key, v) => {
    if (!Array.isArray(v)) throw new ArgumentError(key, `must be an array of numbers, got ${show(v)}`);
    if (v.length > maxLength) throw new ArgumentError(key, `has ${v.length} values, at most ${maxLength} allowed`);
    return v.map((x, i) => {
      if (typeof x !== "number" || !Number.isFinite(x)) throw new ArgumentError(`${key}[${i}]`, `must be a finite number, got ${show(x)}`);
      return each ? each(`${key}[${i}]`, x) : x;
    });
  };
}

/**
 * Check `raw` against `spec` for `className`: unknown keys are errors (listing the keys the class
 * reads), missing keys take the spec's default. Returns a new object in the spec's key order, then the
 * inert keys that were present.
 */
export function readConfig(className: string, raw: unknown, spec: ConfigSpec): Record<string, unknown> {
  if (raw === undefined) raw = {};
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new ArgumentError("config", `must be an object of ${className} settings, got ${show(raw)}`);
  }
  const given = raw as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!(key in spec) && !INERT_KEYS.includes(key)) {
      throw new ArgumentError(key, `is not a ${className} setting we implement; its settings are ${Object.keys(spec).join(", ")}`);
    }
  }
  if (given._class_name !== undefined && given._class_name !== className) {
    throw new ArgumentError("_class_name", `is ${show(given._class_name)}, but the config is read as ${className}`);
  }
  const out: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(spec)) {
    const v = Object.prototype.hasOwnProperty.call(given, key) ? given[key] : s.default;
    out[key] = v === s.default && !Object.prototype.hasOwnProperty.call(given, key) ? v : s.check(key, v);
  }
  for (const key of INERT_KEYS) if (Object.prototype.hasOwnProperty.call(given, key)) out[key] = given[key];
  return out;
}

/**
 * Parse a scheduler_config.json. diffusers writes Python's `Infinity`, `-Infinity` and `NaN` (for
 * example a `-Infinity` lambda_min_clipped), which strict JSON rejects; they are read as numbers here.
 * Duplicate keys and deep nesting are refused (io/json.ts).
 */
export function parseConfigJson(text: string): Record<string, unknown> {
  if (typeof text !== "string") throw new ArgumentError("text", `must be the text of a scheduler_config.json, got ${show(text)}`);
  const INF = 1.7976931348623157e308; // a stand-in no config would write, replaced after parsing
  // Replace the bare words outside strings only: walk the text, skipping string literals.
  let out = "";
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (text.startsWith("-Infinity", i)) {
      out += `-${INF}`;
      i += 9;
    } else if (text.startsWith("Infinity", i)) {
      out += `${INF}`;
      i += 8;
    } else if (text.startsWith("NaN", i)) {
      out += `"__NaN__"`;
      i += 3;
    } else {
      out += c;
      i++;
    }
  }
  const value = parseJsonStrict(out, 16);
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ArgumentError("text", "must hold a JSON object of scheduler settings");
  }
  const fix = (v: JsonValue): unknown => {
    if (v === INF) return Infinity;
    if (v === -INF) return -Infinity;
    if (v === "__NaN__") return NaN;
    if (Array.isArray(v)) return v.map(fix);
    if (v !== null && typeof v === "object") {
      const o: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) o[k] = fix(x);
      return o;
    }
    return v;
  };
  return fix(value) as Record<string, unknown>;
}

/** diffusers' JSON for a config: Infinity and NaN written as Python writes them. */
export function configToJson(className: string, config: Readonly<Record<string, unknown>>): string {
  const body: Record<string, unknown> = { _class_name: className, ...config };
  body._class_name = className;
  const text = JSON.stringify(
    body,
    (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? `__num__${Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity"}` : v),
    2,
  );
  return text.replace(/"__num__(NaN|Infinity|-Infinity)"/g, "$1") + "\n";
}
