import { defineConfig } from "vitest/config";

// isolated-vm 5 on Node 20 crashes on the shared heap snapshot, so every test process
// runs with --no-node-snapshot. The forks pool is required: worker threads cannot take
// that flag (and timed out with isolated-vm when tried).
export default defineConfig({
  test: {
    pool: "forks",
    execArgv: ["--no-node-snapshot"],
    maxWorkers: 2,
    globalSetup: ["test/global-setup.ts"],
    include: ["packages/*/test/**/*.test.ts", "apps/*/test/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
