// schedulerFromJson's parser: the scheduler_config.json diffusers writes (Python's Infinity, -Infinity and
// NaN as bare words), and the files it must refuse (no or a mismatched _class_name, duplicate keys, deep
// nesting), each failure naming what is wrong.
import { describe, expect, it } from "vitest";
import { JsonError } from "../../src/io/json.ts";
import { configToJson, parseConfigJson } from "../../src/diffusers/schedulers/config.ts";
import { createScheduler, schedulerFromJson } from "../../src/diffusers/schedulers/index.ts";
import { expectArgumentError } from "../support/errors.ts";

describe("parseConfigJson", () => {
  it("reads Infinity, -Infinity and NaN as numbers, also inside arrays and nested objects, but not inside strings", () => {
    const c = parseConfigJson('{"a": Infinity, "b": -Infinity, "c": NaN, "d": [1, -Infinity, NaN], "e": {"f": Infinity}, "g": "Infinity NaN -Infinity", "h": "say \\"NaN\\""}');
    expect(c.a).toBe(Infinity);
    expect(c.b).toBe(-Infinity);
    expect(Number.isNaN(c.c)).toBe(true);
    expect((c.d as number[])[1]).toBe(-Infinity);
    expect(Number.isNaN((c.d as number[])[2])).toBe(true);
    expect((c.e as Record<string, number>).f).toBe(Infinity);
    expect(c.g).toBe("Infinity NaN -Infinity");
    expect(c.h).toBe('say "NaN"');
  });

  it("configToJson writes them back as Python does, and the text parses to the same values", () => {
    const text = configToJson("X", { lo: -Infinity, hi: Infinity, nan: NaN, s: "NaN" });
    expect(text).toContain('"lo": -Infinity');
    expect(text).toContain('"hi": Infinity');
    expect(text).toContain('"nan": NaN');
    const back = parseConfigJson(text);
    expect(back.lo).toBe(-Infinity);
    expect(back.hi).toBe(Infinity);
    expect(Number.isNaN(back.nan)).toBe(true);
    expect(back.s).toBe("NaN");
    expect(back._class_name).toBe("X");
  });

  it("refuses duplicate keys (JSON.parse would keep the last silently) and deep nesting", () => {
    expect(() => parseConfigJson('{"_class_name": "DDIMScheduler", "eta": 1, "eta": 2}')).toThrow(JsonError);
    let dup = "";
    try {
      parseConfigJson('{"a": 1, "a": 2}');
    } catch (e) {
      dup = (e as JsonError).code;
    }
    expect(dup).toBe("json_duplicate_key");
    const deep = '{"a": ' + "[".repeat(40) + "]".repeat(40) + "}";
    let code = "";
    try {
      parseConfigJson(deep);
    } catch (e) {
      code = (e as JsonError).code;
    }
    expect(code).toBe("json_too_deep");
  });

  it("a text that is not a JSON object is an error naming text", () => {
    expectArgumentError(() => parseConfigJson("[1, 2]"), "text");
    expectArgumentError(() => parseConfigJson(42 as unknown as string), "text");
  });
});

describe("schedulerFromJson", () => {
  it("picks the class from _class_name and keeps the inert keys diffusers writes", () => {
    const s = schedulerFromJson('{"_class_name": "DDIMScheduler", "_diffusers_version": "0.40.0", "steps_offset": 1}');
    expect(s.className).toBe("DDIMScheduler");
    expect(s.config.steps_offset).toBe(1);
    expect(s.toJson()).toContain('"_diffusers_version": "0.40.0"');
  });

  it("_class_name missing, unknown or mismatched is an error naming it", () => {
    expectArgumentError(() => schedulerFromJson('{"steps_offset": 1}'), "_class_name", /missing/);
    expectArgumentError(() => schedulerFromJson('{"_class_name": 3}'), "_class_name", /missing/);
    expectArgumentError(() => schedulerFromJson('{"_class_name": "NoSuchScheduler"}'), "className", /NoSuchScheduler/);
    expectArgumentError(() => createScheduler("DDIMScheduler", { _class_name: "DDPMScheduler" }), "_class_name", /DDPMScheduler/);
  });

  it("a non-finite value where a finite number is needed names the key", () => {
    expectArgumentError(() => schedulerFromJson('{"_class_name": "DDIMScheduler", "clip_sample_range": Infinity}'), "clip_sample_range");
    expectArgumentError(() => schedulerFromJson('{"_class_name": "DDPMScheduler", "sample_max_value": NaN}'), "sample_max_value");
    expectArgumentError(() => schedulerFromJson('{"_class_name": "DDPMScheduler", "beta_start": -Infinity}'), "beta_start");
  });

  it("the recorded fixtures' configs (written by diffusers' save_config) load and round-trip", async () => {
    const { readFileSync } = await import("node:fs");
    const { FIXTURES } = await import("./schedulers/vp-support.ts");
    for (const name of ["ddpm", "ddim-eta0", "ddim-eta1"]) {
      const text = readFileSync(`${FIXTURES}/${name}/scheduler_config.json`, "utf8");
      const s = schedulerFromJson(text);
      expect(schedulerFromJson(s.toJson()).toJson()).toBe(s.toJson());
      const original = JSON.parse(text) as Record<string, unknown>;
      for (const [k, v] of Object.entries(original)) expect(s.config[k], k).toEqual(v);
    }
  });
});
