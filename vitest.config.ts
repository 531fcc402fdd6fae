import "./src/runtime/require-node.js";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    reporters: ["default", "./spec/harness/summary-reporter.ts"],
    projects: [
      {
        test: {
          name: "unit",
          include: ["src/**/*.test.ts", "packages/*/src/**/*.test.ts"],
          exclude: ["src/**/*.pg.test.ts"],
          environment: "node",
        },
      },
      {
        test: {
          // The PostgreSQL engine against a real server (Debian's postgresql), started once for the run.
          name: "postgres",
          include: ["src/**/*.pg.test.ts"],
          environment: "node",
          globalSetup: ["spec/harness/postgres-setup.ts"],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["spec/**/*.spec.ts"],
          environment: "node",
          globalSetup: ["spec/harness/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 300_000,
          // One Synapse for the whole run; spec files share it, so they run one at a time.
          // (fileParallelism is a root-only option in vitest 3's types; singleFork is the per-project way.)
          pool: "forks",
          poolOptions: { forks: { singleFork: true } },
        },
      },
    ],
  },
});
