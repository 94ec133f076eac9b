import { describe, expect, it } from "vitest";
import { isRuntimeFile } from "./runtime-files.js";

describe("isRuntimeFile", () => {
  it("keeps what Node loads or a package reads", () => {
    for (const file of ["index.js", "dist-cjs/index.js", "lib/x.mjs", "lib/x.cjs", "package.json", "proto/rpc.proto"])
      expect(isRuntimeFile(file, false), file).toBe(true);
    expect(isRuntimeFile("dist-es", true)).toBe(true);
  });

  it("drops declarations, maps, docs and TypeScript sources", () => {
    for (const file of [
      "index.d.ts",
      "x.d.mts",
      "x.js.map",
      "README.md",
      "src/index.ts",
      "x.mts",
      "dist/x.tsbuildinfo",
    ])
      expect(isRuntimeFile(file, false), file).toBe(false);
    expect(isRuntimeFile("dist-types", true)).toBe(false);
  });

  it("leaves nested node_modules to the dependency walk", () => {
    expect(isRuntimeFile("node_modules", true)).toBe(false);
    expect(isRuntimeFile("node_modules/x/index.js", false)).toBe(false);
  });
});
