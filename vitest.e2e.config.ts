import { defineConfig } from "vitest/config";

/** Real-browser tests (e2e/**): vitest drives Debian Chromium through playwright-core against the built app. */
export default defineConfig({
  test: {
    include: ["e2e/**/*.e2e.ts"],
    globalSetup: ["e2e/support/global-setup.ts"],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // One browser at a time: headless WebGPU is SwiftShader on the CPU.
    fileParallelism: false,
    pool: "forks",
  },
});
