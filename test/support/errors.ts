// The one check that a call fails the way the library's boundary promises (src/validate.ts): an
// ArgumentError whose `arg` names the offending argument and whose message starts with that name.
import { expect } from "vitest";
import { ArgumentError } from "../../src/validate.ts";

/**
 * Expect `call()` to throw an ArgumentError naming `arg` (`err.arg === arg`, message "arg: ...");
 * `fragment`, when given, must also appear in the message (a substring, or a pattern it matches).
 * Returns the error for further checks.
 */
export function expectArgumentError(call: () => unknown, arg: string, fragment?: string | RegExp): ArgumentError {
  let thrown: unknown;
  let returned: unknown;
  try {
    returned = call();
  } catch (e) {
    thrown = e;
  }
  if (thrown === undefined && typeof (returned as PromiseLike<unknown> | undefined)?.then === "function") {
    expect.fail(`expected an ArgumentError naming ${arg}, but the call returned a promise: await it and check the rejection`);
  }
  expect(thrown, `expected an ArgumentError naming ${arg}`).toBeInstanceOf(ArgumentError);
  const e = thrown as ArgumentError;
  expect(e.arg, `the argument named by "${e.message}"`).toBe(arg);
  expect(e.message.startsWith(`${arg}: `), `"${e.message}" starts with "${arg}: "`).toBe(true);
  if (fragment !== undefined) expect(e.message).toMatch(fragment);
  return e;
}
