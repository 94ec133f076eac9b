import type { SourceRevision } from "./image-tags.js";

/** What the labels describe. */
export interface ImageDescription {
  /** e.g. `breakwater gateway`. */
  readonly title: string;
  readonly description: string;
  /** The project's version (root package.json). */
  readonly version: string;
  /** SPDX expression (root package.json's `license`). */
  readonly licenses: string;
  /** The repository's URL (git remote), when known. */
  readonly source: string | undefined;
  readonly revision: SourceRevision;
  /** Build time. */
  readonly created: Date;
}

/**
 * The pre-defined OCI annotation keys (image-spec annotations.md), set both as
 * labels (podman inspect, `podman images --filter label=…`) and annotations.
 */
export function ociLabels(image: ImageDescription): Record<string, string> {
  const labels: Record<string, string> = {
    "org.opencontainers.image.title": image.title,
    "org.opencontainers.image.description": image.description,
    "org.opencontainers.image.version": image.version,
    "org.opencontainers.image.licenses": image.licenses,
    "org.opencontainers.image.revision": image.revision.dirty
      ? `${image.revision.commit}-dirty`
      : image.revision.commit,
    "org.opencontainers.image.created": image.created.toISOString(),
    "org.opencontainers.image.vendor": "breakwater",
  };
  if (image.source !== undefined) labels["org.opencontainers.image.source"] = image.source;
  return labels;
}
