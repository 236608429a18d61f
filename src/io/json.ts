// A strict JSON parser for untrusted headers (RFC 8259). Unlike JSON.parse it
//  - rejects duplicate keys in an object (JSON.parse silently keeps the last one, so a file could show
//    one tensor to a validator and another to a loader),
//  - bounds the nesting depth (no stack overflow on "[[[[...") and reports where parsing stopped,
//  - builds objects with a null prototype, so keys like "__proto__" are plain keys.
// Its cost is linear in the input, and it allocates only values it has read, so its memory is bounded
// by the input size, which the callers cap before calling.

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export type JsonErrorCode = "json_syntax" | "json_duplicate_key" | "json_too_deep";

export class JsonError extends SyntaxError {
  readonly code: JsonErrorCode;
  /** Character index in the text where the problem was found. */
  readonly at: number;
  constructor(code: JsonErrorCode, message: string, at: number) {
    super(`${message} at character ${at}`);
    this.name = "JsonError";
    this.code = code;
    this.at = at;
  }
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

/** Parse `text` as one JSON value surrounded by optional whitespace; `maxDepth` bounds nesting. */
export function parseJsonStrict(text: string, maxDepth = 64): JsonValue {
  let i = 0;
  const n = text.length;

  const fail = (msg: string, code: JsonErrorCode = "json_syntax"): never => {
    throw new JsonError(code, msg, i);
  };
  const ws = (): void => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
  };

  const str = (): string => {
    // text[i] is '"'
    i++;
    let out = "";
    let start = i;
    for (;;) {
      if (i >= n) fail("unterminated string");
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        out += text.slice(start, i);
        i++;
        return out;
      }
      if (c < 0x20) fail("control character in string");
      if (c !== 0x5c) {
        i++;
        continue;
      }
      out += text.slice(start, i);
      i++;
      if (i >= n) fail("unterminated escape");
      const e = text.charCodeAt(i);
      i++;
      switch (e) {
        case 0x22: out += '"'; break;
        case 0x5c: out += "\\"; break;
        case 0x2f: out += "/"; break;
        case 0x62: out += "\b"; break;
        case 0x66: out += "\f"; break;
        case 0x6e: out += "\n"; break;
        case 0x72: out += "\r"; break;
        case 0x74: out += "\t"; break;
        case 0x75: {
          const hex = text.slice(i, i + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail("bad \\u escape");
          out += String.fromCharCode(parseInt(hex, 16));
          i += 4;
          break;
        }
        default:
          i--;
          fail("bad escape");
      }
      start = i;
    }
  };

  const value = (depth: number): JsonValue => {
    ws();
    if (i >= n) fail("unexpected end of input");
    const c = text.charCodeAt(i);
    if (c === 0x7b || c === 0x5b) {
      if (depth >= maxDepth) fail(`nesting deeper than ${maxDepth}`, "json_too_deep");
    }
    if (c === 0x7b) {
      i++;
      const obj: { [key: string]: JsonValue } = Object.create(null);
      ws();
      if (text.charCodeAt(i) === 0x7d) {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text.charCodeAt(i) !== 0x22) fail("expected a string key");
        const keyAt = i;
        const key = str();
        if (Object.prototype.hasOwnProperty.call(obj, key)) {
          i = keyAt;
          fail(`duplicate key ${JSON.stringify(key)}`, "json_duplicate_key");
        }
        ws();
        if (text.charCodeAt(i) !== 0x3a) fail("expected ':'");
        i++;
        obj[key] = value(depth + 1);
        ws();
        const d = text.charCodeAt(i);
        if (d === 0x2c) {
          i++;
          continue;
        }
        if (d === 0x7d) {
          i++;
          return obj;
        }
        fail("expected ',' or '}'");
      }
    }
    if (c === 0x5b) {
      i++;
      const arr: JsonValue[] = [];
      ws();
      if (text.charCodeAt(i) === 0x5d) {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        const d = text.charCodeAt(i);
        if (d === 0x2c) {
          i++;
          continue;
        }
        if (d === 0x5d) {
          i++;
          return arr;
        }
        fail("expected ',' or ']'");
      }
    }
    if (c === 0x22) return str();
    if (text.startsWith("true", i)) {
      i += 4;
      return true;
    }
    if (text.startsWith("false", i)) {
      i += 5;
      return false;
    }
    if (text.startsWith("null", i)) {
      i += 4;
      return null;
    }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (m === null) fail("unexpected character");
    i += m![0].length;
    return Number(m![0]);
  };

  const v = value(0);
  ws();
  if (i !== n) fail("unexpected text after the value");
  return v;
}
