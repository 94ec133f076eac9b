import { buildah, podman } from "./podman-env.js";

/** How a container from the image runs (buildah config). */
export interface ImageRunConfig {
  /** `uid:gid`; never root for a service. */
  readonly user: string;
  readonly entrypoint: readonly string[];
  readonly workingDir?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** Ports the process listens on (documentation for `podman run -P` and readers). */
  readonly ports?: readonly number[];
  /** Paths the process writes: mount a volume or tmpfs there under `--read-only`. */
  readonly volumes?: readonly string[];
  /** OCI labels, set as annotations too. */
  readonly labels?: Readonly<Record<string, string>>;
  /** SIGTERM unless set: what `podman stop` sends. */
  readonly stopSignal?: string;
}

/** Options of {@link buildImage}. */
export interface BuildImageOptions {
  /** `scratch` or an image in local storage. */
  readonly from: string;
  /** Names the image gets, e.g. `localhost/breakwater/gateway:latest`. */
  readonly names: readonly string[];
  /** Fills the image's root filesystem (mounted at `rootDir`, written as root). */
  readonly populate: (rootDir: string) => Promise<void> | void;
  readonly config: ImageRunConfig;
}

/**
 * Builds an image without a Containerfile or a registry: a buildah working
 * container from `from`, its root mounted and filled by `populate`, configured
 * and committed as one new layer. The working container is removed even when a
 * step fails. An image the new one took every name from is removed, so that
 * rebuilding (every `npm test`) does not pile up untagged images. Answers the
 * image id.
 */
export async function buildImage(options: BuildImageOptions): Promise<string> {
  const [first, ...more] = options.names;
  if (first === undefined) throw new RangeError("buildImage needs at least one image name");
  const container = await buildah(["from", "--quiet", "--pull=never", options.from]);
  try {
    const rootDir = await buildah(["mount", container]);
    try {
      await options.populate(rootDir);
    } finally {
      await buildah(["unmount", container]);
    }
    await buildah(["config", ...configArgs(options.config), container]);
    const replaced = await Promise.all(options.names.map(imageIdOf));
    const id = await buildah(["commit", "--quiet", "--rm", container, first]);
    for (const name of more) await podman(["tag", id, name]);
    for (const old of new Set(replaced)) if (old !== undefined && old !== id) await removeIfUntagged(old);
    return id;
  } catch (err) {
    await buildah(["rm", container]).catch(() => undefined);
    throw err;
  }
}

function configArgs(config: ImageRunConfig): string[] {
  const args = ["--user", config.user, "--entrypoint", JSON.stringify(config.entrypoint), "--cmd", ""];
  args.push("--stop-signal", config.stopSignal ?? "SIGTERM");
  if (config.workingDir !== undefined) args.push("--workingdir", config.workingDir);
  for (const [name, value] of Object.entries(config.env ?? {})) args.push("--env", `${name}=${value}`);
  for (const port of config.ports ?? []) args.push("--port", `${port}/tcp`);
  for (const volume of config.volumes ?? []) args.push("--volume", volume);
  for (const [name, value] of Object.entries(config.labels ?? {}))
    args.push("--label", `${name}=${value}`, "--annotation", `${name}=${value}`);
  return args;
}

/** An image's size in local storage (all its layers), in bytes. */
export async function imageSize(name: string): Promise<number> {
  return Number(await podman(["image", "inspect", "--format", "{{.Size}}", name]));
}

async function imageIdOf(name: string): Promise<string | undefined> {
  return podman(["image", "inspect", "--format", "{{.Id}}", name]).catch(() => undefined);
}

/** Removes an image left with no name; one still named, or under a container or another image, stays. */
async function removeIfUntagged(id: string): Promise<void> {
  const names = await podman(["image", "inspect", "--format", "{{len .RepoTags}}", id]).catch(() => undefined);
  if (names === "0") await podman(["rmi", id]).catch(() => undefined);
}
