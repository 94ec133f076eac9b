import * as path from "node:path";

/** Folders no package loads at run time: TypeScript declarations (AWS SDK's `dist-types`). */
const skippedDirs = new Set(["dist-types", ".github"]);

/** Files for readers and compilers, not for Node: declarations, source maps, docs, TypeScript sources. */
const skippedFile = /(\.d\.[cm]?ts|\.map|\.tsbuildinfo|\.md|\.markdown|(?<!\.d)\.[cm]?ts)$/i;

/**
 * Whether a path inside an installed package (relative to the package's
 * folder) belongs in an image. Nested `node_modules` are left to the
 * dependency walk, which copies each nested package it needs on its own.
 */
export function isRuntimeFile(relativePath: string, isDirectory: boolean): boolean {
  const parts = relativePath.split(path.sep);
  if (parts.includes("node_modules")) return false;
  if (isDirectory) return !parts.some((p) => skippedDirs.has(p));
  if (parts.some((p) => skippedDirs.has(p))) return false;
  return !skippedFile.test(relativePath);
}
