import { defineConfig } from "vitest/config";

// One vitest run for the whole workspace. Workspace packages resolve to their
// TypeScript sources through the "@breakwater/source" export condition, so unit
// tests need no build; integration tests (*.int.test.ts) start the built apps.
const conditions = ["@breakwater/source", "node", "import", "default"];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    include: ["{packages,apps,tools}/*/src/**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    environment: "node",
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
  },
});
