import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts", "tools/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    // Two test files at a time: vitest's default (CPUs − 1) runs them one by one on a 2-core machine, while much
    // of a file's time is single-threaded (module import, tfjs-wasm, parsing), so the CI box sits half idle.
    maxWorkers: 2,
    setupFiles: ["test/support/setup.ts"],
  },
});
