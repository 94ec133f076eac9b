import { describe, expect, it } from "vitest";
import { repoRoot } from "./podman-env.js";
import { productionPackages } from "./production-packages.js";

// The walk over this repository's own node_modules (npm ci first): what an image would get.
const rootDependencies = ["@grpc/grpc-js", "@aws-sdk/client-s3", "pino"];
const names = (from: string, seeds: string[]): string[] =>
  productionPackages(repoRoot, `${repoRoot}/${from}`, seeds).map((p) => p.name);

describe("productionPackages", () => {
  it("follows dependencies through the workspace packages to what they install", () => {
    const gateway = names("apps/gateway", ["@breakwater/server-kit", "@breakwater/fleet-kit", ...rootDependencies]);
    expect(gateway).toEqual(
      expect.arrayContaining([
        "@breakwater/server-kit",
        "@breakwater/proto",
        "yaml",
        "@smithy/types",
        "pino-std-serializers",
      ]),
    );
  });

  it("never reaches a devDependency (build and test tools stay out of the images)", () => {
    const all = names("apps/breaker-coordinator", ["@breakwater/fleet-kit", "etcd3", ...rootDependencies]);
    for (const tool of ["vitest", "typescript", "nx", "eslint", "prettier", "s3rver", "@breakwater/testkit"])
      expect(all, tool).not.toContain(tool);
    expect(all).toContain("etcd3");
  });

  it("marks workspace packages, whose dist ships instead of their sources", () => {
    const found = productionPackages(repoRoot, `${repoRoot}/apps/gateway`, ["@breakwater/cache", "lru-cache"]);
    expect(found.find((p) => p.name === "@breakwater/cache")?.workspace).toBe(true);
    expect(found.find((p) => p.name === "lru-cache")?.workspace).toBe(false);
  });

  it("names who needs a package that is not installed", () => {
    expect(() => productionPackages(repoRoot, repoRoot, ["no-such-package-here"])).toThrow(
      /no-such-package-here \(needed by the root package\) is not installed/,
    );
  });
});
