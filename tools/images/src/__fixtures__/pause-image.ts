import { nodeBaseImage } from "../base-image.js";
import { buildImage } from "../image-builder.js";
import { serviceUserSpec } from "../root-filesystem.js";

/** A pod's infra container for the stack test: holds the pod's network namespace and does nothing else. */
export const pauseImage = "localhost/breakwater-test/pause:latest";

/**
 * Builds {@link pauseImage} on the Node base (podman's own pause image would
 * need catatonit or a registry): a process that sleeps until SIGTERM.
 */
export async function buildPauseImage(): Promise<string> {
  await buildImage({
    from: nodeBaseImage,
    names: [pauseImage],
    populate: () => undefined,
    config: {
      user: serviceUserSpec,
      entrypoint: [
        "/usr/bin/node",
        "-e",
        "process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1 << 30)",
      ],
    },
  });
  return pauseImage;
}
