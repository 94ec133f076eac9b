import nx from "@nx/eslint-plugin";
import tseslint from "typescript-eslint";

// Node modules that only server-kit and the apps may touch (design.md "Layout").
const nodeHttp = ["node:http", "node:http2", "node:https", "http", "http2", "https"];
// What the pure cores of breaker and cache must never import: their I/O edges
// live behind subpath exports (@breakwater/breaker/session, @breakwater/cache/s3).
const ioPackages = ["@bufbuild/*", "@connectrpc/*", "@grpc/*", "@aws-sdk/*", "@breakwater/proto"];

export default tseslint.config(
  { ignores: ["**/dist/**", "**/node_modules/**", "packages/proto/src/gen/**", "**/*.d.ts"] },
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    plugins: { "@nx": nx },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      // Prettier wraps code at 120 columns but leaves long strings, templates and comments alone.
      "max-len": ["error", { code: 120, ignoreUrls: true, ignoreRegExpLiterals: true }],
      "@nx/enforce-module-boundaries": [
        "error",
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            { sourceTag: "type:app", onlyDependOnLibsWithTags: ["type:lib", "type:gen"] },
            { sourceTag: "type:lib", onlyDependOnLibsWithTags: ["type:lib", "type:gen"] },
            { sourceTag: "type:gen", onlyDependOnLibsWithTags: [] },
            // breaker and cache sit below the service kit: they depend on no library but generated code.
            { sourceTag: "scope:pure-core", onlyDependOnLibsWithTags: ["type:gen"] },
            { sourceTag: "type:test", onlyDependOnLibsWithTags: ["type:lib", "type:gen", "type:app"] },
            { sourceTag: "type:tool", onlyDependOnLibsWithTags: ["type:lib", "type:gen", "type:test", "type:app"] },
          ],
        },
      ],
    },
  },
  {
    // Tests may use testkit (it starts real servers); production code may not.
    files: ["**/*.test.ts"],
    rules: { "@nx/enforce-module-boundaries": "off" },
  },
  {
    files: ["packages/**/*.ts", "tools/**/*.ts"],
    ignores: ["packages/server-kit/**", "packages/testkit/**", "tools/**", "**/*.test.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { paths: nodeHttp.map((name) => ({ name, message: "Only server-kit and the apps touch node:http/http2." })) },
      ],
    },
  },
  // Last, so that for the pure cores it replaces the broader rule above.
  {
    files: ["packages/breaker/src/**/*.ts", "packages/cache/src/**/*.ts"],
    ignores: ["packages/breaker/src/session/**", "packages/cache/src/s3/**", "**/*.test.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: nodeHttp.map((name) => ({
            name,
            message: "The pure core does no HTTP; put I/O behind a subpath export.",
          })),
          patterns: [
            {
              group: ioPackages,
              message: "The pure core imports no protobuf, gRPC or AWS SDK; put I/O behind a subpath export.",
            },
          ],
        },
      ],
    },
  },
);
