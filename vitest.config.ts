import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // find (or unpack) the Chromium of the browser tests once, before the workers start
    globalSetup: ["test/support/browser.ts"],
    // property tests: a fixed seed unless a test names its own
    setupFiles: ["test/support/fast-check-seed.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores on CI: one worker per core.
    maxWorkers: 2,
    reporters: ["default", "./test/support/plain-summary.ts"],
  },
});
