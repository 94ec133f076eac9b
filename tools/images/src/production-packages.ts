import { existsSync, readFileSync, realpathSync } from "node:fs";
import * as path from "node:path";

/** One package a service loads at run time, as npm installed it. */
export interface InstalledPackage {
  readonly name: string;
  /** Where Node finds it (under a node_modules folder, maybe a workspace symlink). */
  readonly dir: string;
  /** The directory behind `dir` (a workspace's own folder for a symlink). */
  readonly realDir: string;
  /** A workspace package (its built `dist` is what ships, not its sources). */
  readonly workspace: boolean;
}

interface Manifest {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

/**
 * Every package reached from `names` through `dependencies`,
 * `optionalDependencies` and (installed) `peerDependencies`, found the way
 * Node resolves them: `node_modules/<name>` in `fromDir` and each parent up to
 * `repoRoot`. devDependencies are never followed, so this is what a service
 * needs installed and nothing a build or a test needs. A dependency that is
 * not installed throws, naming who needs it (an optional one is skipped).
 */
export function productionPackages(repoRoot: string, fromDir: string, names: readonly string[]): InstalledPackage[] {
  const found = new Map<string, InstalledPackage>();
  const visit = (name: string, from: string, optional: boolean, neededBy: string): void => {
    const dir = findInstalled(repoRoot, from, name);
    if (dir === undefined) {
      if (optional) return;
      throw new Error(`${name} (needed by ${neededBy}) is not installed under ${repoRoot}: run npm ci`);
    }
    if (found.has(dir)) return;
    const realDir = realpathSync(dir);
    const workspace = !realDir.split(path.sep).includes("node_modules");
    found.set(dir, { name, dir, realDir, workspace });
    const manifest = JSON.parse(readFileSync(path.join(realDir, "package.json"), "utf8")) as Manifest;
    for (const dep of Object.keys(manifest.dependencies ?? {})) visit(dep, realDir, false, name);
    for (const dep of Object.keys(manifest.optionalDependencies ?? {})) visit(dep, realDir, true, name);
    for (const dep of Object.keys(manifest.peerDependencies ?? {})) visit(dep, realDir, true, name);
  };
  for (const name of names) visit(name, fromDir, false, path.relative(repoRoot, fromDir) || "the root package");
  return [...found.values()].sort((a, b) => a.dir.localeCompare(b.dir));
}

function findInstalled(repoRoot: string, from: string, name: string): string | undefined {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "node_modules", name);
    if (existsSync(path.join(candidate, "package.json"))) return candidate;
    if (dir === repoRoot || path.dirname(dir) === dir || !dir.startsWith(repoRoot)) return undefined;
  }
}
