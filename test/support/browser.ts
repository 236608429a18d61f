// Which Chromium the browser tests drive, found without a manual install (issue 14, point 16):
// $CHROMIUM if set; else Debian's /usr/bin/chromium (what .ci/run installs); else the Chromium that the
// npm package @sparticuz/chromium carries in its tarball (a self-contained build that needs only libc,
// libexpat and libgcc, all on a fresh machine), unpacked into the temp dir on first use.
// Also vitest's globalSetup: resolved once, before the test workers start, so two workers never
// unpack it at the same time; the workers inherit CHROMIUM from the environment.
import { existsSync } from "node:fs";

export const SYSTEM_CHROMIUM = "/usr/bin/chromium";

/** The Chromium carried by the npm package (unpacks it on the first call; later calls reuse the file). */
export async function packagedChromium(): Promise<string> {
  const { default: sparticuz } = await import("@sparticuz/chromium");
  return sparticuz.executablePath();
}

export async function findChromium(): Promise<string> {
  const env = process.env.CHROMIUM;
  if (env) {
    if (!existsSync(env)) throw new Error(`CHROMIUM=${env} does not exist`);
    return env;
  }
  return existsSync(SYSTEM_CHROMIUM) ? SYSTEM_CHROMIUM : packagedChromium();
}

export async function setup(): Promise<void> {
  process.env.CHROMIUM = await findChromium();
}
