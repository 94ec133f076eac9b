import { readFileSync } from "node:fs";
import * as path from "node:path";
import { nodeBaseImage } from "./base-image.js";
import { buildImage } from "./image-builder.js";
import { imageTags, type SourceRevision } from "./image-tags.js";
import { appRoot, copyNodeApp } from "./node-app-tree.js";
import { ociLabels } from "./oci-labels.js";
import { makeWritableDir, serviceUserSpec } from "./root-filesystem.js";
import { imageRepository, type ServiceImageSpec } from "./service-images.js";

/** What the build of all images shares. */
export interface BuildContext {
  readonly repoRoot: string;
  readonly revision: SourceRevision;
  /** The repository's URL for org.opencontainers.image.source, when git knows one. */
  readonly sourceUrl: string | undefined;
  readonly created: Date;
}

/** A built image. */
export interface BuiltImage {
  readonly app: string;
  /** Every name it was tagged with, the commit's first. */
  readonly names: readonly string[];
  readonly id: string;
}

/**
 * Builds one service's image on {@link nodeBaseImage}: the built app and its
 * production dependencies under /app, run as the non-root service user with
 * `node` as PID 1 (the apps handle SIGTERM themselves: server-kit's
 * runService), every path but the declared volumes and /tmp read-only to it.
 */
export async function buildServiceImage(spec: ServiceImageSpec, context: BuildContext): Promise<BuiltImage> {
  const root = JSON.parse(readFileSync(path.join(context.repoRoot, "package.json"), "utf8")) as {
    version: string;
    license: string;
    dependencies?: Record<string, string>;
  };
  const packageDir = `apps/${spec.app}`;
  const names = imageTags(context.revision).map((tag) => `${imageRepository(spec.app)}:${tag}`);
  const id = await buildImage({
    from: nodeBaseImage,
    names,
    populate: (rootDir) => {
      copyNodeApp(rootDir, {
        repoRoot: context.repoRoot,
        packageDir,
        assetDirs: spec.assetDirs,
        // The root package.json holds the runtime libraries every app shares (grpc-js, pino, the AWS SDK…).
        extraDependencies: Object.keys(root.dependencies ?? {}),
      });
      for (const volume of spec.volumes) makeWritableDir(rootDir, volume);
    },
    config: {
      user: serviceUserSpec,
      entrypoint: ["/usr/bin/node", `${appRoot}/${packageDir}/dist/main.js`],
      workingDir: appRoot,
      env: { NODE_ENV: "production", ...spec.env },
      ports: spec.ports,
      volumes: ["/tmp", ...spec.volumes],
      labels: ociLabels({
        title: `breakwater ${spec.app}`,
        description: spec.description,
        version: root.version,
        licenses: root.license,
        source: context.sourceUrl,
        revision: context.revision,
        created: context.created,
      }),
    },
  });
  return { app: spec.app, names, id };
}
