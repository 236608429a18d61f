import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores on CI: one worker per core.
    maxWorkers: 2,
    reporters: ["default", "./test/support/plain-summary.ts"],
  },
});
