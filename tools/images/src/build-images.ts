import { buildNodeBase } from "./base-image.js";
import { runCommand } from "./command.js";
import { imageSize } from "./image-builder.js";
import { sourceRevision } from "./image-tags.js";
import { repoRoot } from "./podman-env.js";
import { buildServiceImage, type BuiltImage } from "./service-image.js";
import { serviceImages } from "./service-images.js";

/** A built service image and its size in local storage. */
export interface SizedImage extends BuiltImage {
  readonly sizeBytes: number;
}

/**
 * Builds the Node base and the three service images into local podman
 * storage from the built work tree (`npm run build` first), tagged with the
 * commit and `latest`. Pulls nothing.
 */
export async function buildServiceImages(): Promise<SizedImage[]> {
  const revision = await sourceRevision(repoRoot);
  const origin = await runCommand("git", ["-C", repoRoot, "remote", "get-url", "origin"]).catch(() => "");
  // org.opencontainers.image.source is a URL: a clone of a local folder has none to give.
  const sourceUrl = /^https?:\/\//.test(origin) ? origin : undefined;
  const context = { repoRoot, revision, sourceUrl, created: new Date() };
  await buildNodeBase();
  const built: SizedImage[] = [];
  for (const spec of serviceImages) {
    const image = await buildServiceImage(spec, context);
    built.push({ ...image, sizeBytes: await imageSize(image.id) });
  }
  return built;
}
