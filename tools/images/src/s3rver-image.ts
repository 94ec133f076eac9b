import { nodeBaseImage } from "./base-image.js";
import { buildImage } from "./image-builder.js";
import { appRoot, copyNodeApp } from "./node-app-tree.js";
import { repoRoot } from "./podman-env.js";
import { serviceUserSpec } from "./root-filesystem.js";

/** s3rver (the root devDependency tests use as S3) as an image, for the stack test; never shipped. */
export const s3rverImage = "localhost/breakwater-test/s3rver:latest";

/**
 * Builds {@link s3rverImage} on the Node base: s3rver from node_modules, on
 * port 9000 of every interface, keeping objects in /tmp/s3, with `buckets`
 * made at start. Its keys are the fixed S3RVER/S3RVER.
 */
export async function buildS3rverImage(buckets: readonly string[]): Promise<string> {
  await buildImage({
    from: nodeBaseImage,
    names: [s3rverImage],
    populate: (rootDir) => {
      copyNodeApp(rootDir, { repoRoot, extraDependencies: ["s3rver"] });
    },
    config: {
      user: serviceUserSpec,
      entrypoint: [
        "/usr/bin/node",
        `${appRoot}/node_modules/s3rver/bin/s3rver.js`,
        ...["--address", "0.0.0.0", "--port", "9000", "--directory", "/tmp/s3"],
        ...buckets.flatMap((b) => ["--configure-bucket", b]),
      ],
      workingDir: appRoot,
      ports: [9000],
      volumes: ["/tmp"],
    },
  });
  return s3rverImage;
}
