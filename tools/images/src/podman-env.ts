import { fileURLToPath } from "node:url";
import { runCommand, type RunCommandOptions } from "./command.js";

/** The repository's root (tools/images/{src,dist}/ → ../../..). */
export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

/**
 * The containers.conf the project ships (runc, ulimits root may set, netavark).
 * Every podman and buildah call here goes through it.
 */
export const containersConf = fileURLToPath(new URL("../../../deploy/podman/containers.conf", import.meta.url));

/** This process's environment with CONTAINERS_CONF pointing at {@link containersConf}. */
export function podmanEnv(): NodeJS.ProcessEnv {
  return { ...process.env, CONTAINERS_CONF: containersConf };
}

/** Runs `podman <args>` with the project's containers.conf; answers stdout. */
export function podman(args: readonly string[], options: Omit<RunCommandOptions, "env"> = {}): Promise<string> {
  return runCommand("podman", args, { ...options, env: podmanEnv() });
}

/** Runs `buildah <args>` with the project's containers.conf; answers stdout. */
export function buildah(args: readonly string[], options: Omit<RunCommandOptions, "env"> = {}): Promise<string> {
  return runCommand("buildah", args, { ...options, env: podmanEnv() });
}

/** Why podman cannot run here (not installed, `podman info` failing), or undefined when it can. */
export async function podmanUnavailable(): Promise<string | undefined> {
  try {
    await podman(["info", "--format", "{{.Host.OCIRuntime.Name}}"], { timeoutMs: 60_000 });
    return undefined;
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === "ENOENT" ? "podman is not installed" : String(err);
    return `${why} (Debian: apt-get install podman buildah runc uidmap netavark aardvark-dns iptables)`;
  }
}
