import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { programOnPath } from "./program-on-path.js";

describe("programOnPath", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "bw-path-"));
  const other = mkdtempSync(path.join(tmpdir(), "bw-path-"));
  writeFileSync(path.join(dir, "tool"), "#!/bin/sh\n");
  chmodSync(path.join(dir, "tool"), 0o755);
  writeFileSync(path.join(other, "plain"), "not executable");
  afterAll(() => [dir, other].forEach((d) => rmSync(d, { recursive: true, force: true })));

  it("finds an executable in a later PATH entry, and nothing that is not executable or absent", () => {
    const searchPath = [other, "", dir].join(path.delimiter);
    expect(programOnPath("tool", searchPath)).toBe(path.join(dir, "tool"));
    expect(programOnPath("plain", searchPath)).toBeUndefined();
    expect(programOnPath("absent", searchPath)).toBeUndefined();
  });
});
