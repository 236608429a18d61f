// `npm test` needs no browser installed by hand (issue 14, point 16): where Debian's chromium is
// missing, the browser tests drive the Chromium that the npm package @sparticuz/chromium carries. This
// checks that fallback itself on every run, even on a machine that has Debian's: it must start, run the
// WASM SIMD kernels and give the same fingerprint bytes as Node.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packagedChromium, SYSTEM_CHROMIUM } from "../support/browser.ts";
import { chromiumPageResult, node, serveRoot } from "./support.ts";

let srv: Awaited<ReturnType<typeof serveRoot>>;
beforeAll(async () => {
  srv = await serveRoot();
});
afterAll(() => srv.close());

describe("the Chromium carried by an npm package", () => {
  it("is a browser of its own, not Debian's", async () => {
    const exe = await packagedChromium();
    expect(exe).not.toBe(SYSTEM_CHROMIUM);
  });

  it("runs the fingerprint page on the WASM kernels and equals Node", async () => {
    const got = (await chromiumPageResult(`${srv.url}/test/runtimes/page.html`, await packagedChromium())) as Record<string, string>;
    expect(got.backend).toBe("wasm");
    expect(got).toEqual(node("test/runtimes/run.mjs"));
  });
});
