// How a call fails: an ArgumentError naming the offending argument, the way the library's boundary
// promises (src/validate.ts), or a typed error with a code (hostile files, datasets, checkpoints).
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

/**
 * The `code` of the typed error that `call()` throws (an instance of one of `types`), or "ok" when it
 * returns. Any other exception propagates and fails the test: hostile input must end in the typed error.
 */
export function errorCodeOf<C extends string>(call: () => unknown, ...types: Array<abstract new (...args: never[]) => { readonly code: C }>): C | "ok" {
  try {
    call();
    return "ok";
  } catch (e) {
    for (const T of types) if (e instanceof T) return (e as { code: C }).code;
    throw e;
  }
}
