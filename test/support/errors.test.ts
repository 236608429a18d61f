// The shared error checks must themselves be able to fail: expectArgumentError on no error, another
// error type, another argument, a missing message fragment and a promise; errorCodeOf on untyped errors.
import { describe, expect, it } from "vitest";
import { ArgumentError } from "../../src/validate.ts";
import { errorCodeOf, expectArgumentError } from "./errors.ts";

const throwsArg = (arg: string) => () => {
  throw new ArgumentError(arg, "must be positive, got -1");
};

describe("expectArgumentError", () => {
  it("passes for an ArgumentError naming the argument and returns it", () => {
    expect(expectArgumentError(throwsArg("batch"), "batch", "got -1").arg).toBe("batch");
    expectArgumentError(throwsArg("batch"), "batch", /must be \w+/);
  });
  it("fails when nothing is thrown, another error is thrown, or another argument is named", () => {
    expect(() => expectArgumentError(() => 1, "batch")).toThrow(/expected an ArgumentError naming batch/);
    expect(() =>
      expectArgumentError(() => {
        throw new RangeError("batch: must be positive");
      }, "batch"),
    ).toThrow(/expected an ArgumentError naming batch/);
    expect(() => expectArgumentError(throwsArg("size"), "batch")).toThrow(/argument named by "size: must be positive/);
  });
  it("fails when the message lacks the fragment, and on a call that returns a promise", () => {
    expect(() => expectArgumentError(throwsArg("batch"), "batch", "got 0")).toThrow(/got 0/);
    expect(() => expectArgumentError(async () => 0, "batch")).toThrow(/returned a promise/);
  });
});

describe("errorCodeOf", () => {
  class CodedError extends Error {
    constructor(readonly code: "truncated" | "bad_magic") {
      super(code);
    }
  }
  it("gives the typed error's code, or ok when the call returns", () => {
    expect(errorCodeOf(() => 1, CodedError)).toBe("ok");
    expect(
      errorCodeOf(() => {
        throw new CodedError("truncated");
      }, CodedError),
    ).toBe("truncated");
  });
  it("lets any other exception through, so the test fails", () => {
    expect(() =>
      errorCodeOf(() => {
        throw new TypeError("x is undefined");
      }, CodedError),
    ).toThrow(TypeError);
  });
});
