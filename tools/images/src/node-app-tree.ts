import { cpSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync } from "node:fs";
import * as path from "node:path";
import { productionPackages, type InstalledPackage } from "./production-packages.js";
import { isRuntimeFile } from "./runtime-files.js";

/** Where the repository's layout is rebuilt inside an image. */
export const appRoot = "/app";

/** Options of {@link copyNodeApp}. */
export interface NodeAppTreeOptions {
  readonly repoRoot: string;
  /** The package's folder relative to the repository (`apps/gateway`); none: only `extraDependencies`. */
  readonly packageDir?: string;
  /** Folders of that package to copy whole besides `dist` (`dashboard`). */
  readonly assetDirs?: readonly string[];
  /** Packages it needs besides its own `dependencies` (the root's, shared by every app). */
  readonly extraDependencies?: readonly string[];
}

/**
 * Copies a built package and its production dependencies into `rootDir`
 * under {@link appRoot}, in the repository's own layout so Node resolves
 * everything as it does in the work tree: `apps/<app>/dist`, each workspace
 * package's `package.json` + `dist`, `node_modules/@breakwater/*` as the same
 * relative symlinks, and each installed dependency without declarations,
 * maps and docs. Nothing from devDependencies. Answers how many packages.
 */
export function copyNodeApp(rootDir: string, options: NodeAppTreeOptions): number {
  const { repoRoot } = options;
  const source = (rel: string): string => path.join(repoRoot, rel);
  const target = (rel: string): string => path.join(rootDir, appRoot, rel);
  let fromApp: InstalledPackage[] = [];
  if (options.packageDir !== undefined) {
    const manifest = JSON.parse(readFileSync(source(path.join(options.packageDir, "package.json")), "utf8")) as {
      dependencies?: Record<string, string>;
    };
    copyWorkspacePackage(repoRoot, rootDir, options.packageDir, options.assetDirs ?? []);
    fromApp = productionPackages(repoRoot, source(options.packageDir), Object.keys(manifest.dependencies ?? {}));
  }
  const fromRoot = productionPackages(repoRoot, repoRoot, options.extraDependencies ?? []);
  const seen = new Set<string>();
  for (const pkg of [...fromApp, ...fromRoot]) {
    if (seen.has(pkg.dir)) continue;
    seen.add(pkg.dir);
    const rel = path.relative(repoRoot, pkg.dir);
    if (pkg.workspace) {
      mkdirSync(path.dirname(target(rel)), { recursive: true });
      if (!existsSync(target(rel))) symlinkSync(readlinkSync(pkg.dir), target(rel));
      copyWorkspacePackage(repoRoot, rootDir, path.relative(repoRoot, pkg.realDir), []);
    } else {
      cpSync(pkg.dir, target(rel), {
        recursive: true,
        filter: (from) => from === pkg.dir || isRuntimeFile(path.relative(pkg.dir, from), isDir(from)),
      });
    }
  }
  return seen.size;
}

function copyWorkspacePackage(
  repoRoot: string,
  rootDir: string,
  packageDir: string,
  assetDirs: readonly string[],
): void {
  const from = path.join(repoRoot, packageDir);
  const to = path.join(rootDir, appRoot, packageDir);
  if (existsSync(path.join(to, "package.json"))) return;
  const dist = path.join(from, "dist");
  if (!existsSync(dist)) throw new Error(`${packageDir} is not built (no dist/): run npm run build first`);
  mkdirSync(to, { recursive: true });
  cpSync(path.join(from, "package.json"), path.join(to, "package.json"));
  cpSync(dist, path.join(to, "dist"), {
    recursive: true,
    filter: (file) => file === dist || isRuntimeFile(path.relative(dist, file), isDir(file)),
  });
  for (const dir of assetDirs) cpSync(path.join(from, dir), path.join(to, dir), { recursive: true });
}

function isDir(file: string): boolean {
  return lstatSync(file).isDirectory();
}
