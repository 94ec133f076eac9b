import { randomBytes } from "node:crypto";
import { podman } from "../podman-env.js";

/** One container to start on the run's network. */
export interface ContainerSpec {
  /** Its name on the network (a DNS alias, the host its certificate names). */
  readonly alias: string;
  readonly image: string;
  readonly env?: Readonly<Record<string, string>>;
  /** Container port → loopback host port. */
  readonly publish?: Readonly<Record<number, number>>;
  /** Host path → container path, mounted read-only. */
  readonly mounts?: Readonly<Record<string, string>>;
  /**
   * Run it in a pod of its own whose infra container (this image) holds the
   * address, as a Kubernetes pod does: a killed container's port then refuses
   * connections instead of its address vanishing from the network.
   */
  readonly podInfraImage?: string;
}

/**
 * A test's podman objects, all named after one random run id so that
 * `remove()` finds every one of them (containers, their anonymous volumes,
 * the network), whatever failed before.
 */
export class PodmanRun {
  readonly id = `bw-stack-${randomBytes(4).toString("hex")}`;
  readonly network = `${this.id}-net`;
  private readonly containers: string[] = [];
  private readonly pods: string[] = [];
  private networkCreated = false;

  /** The container's full name (unique on the host) from its alias. */
  nameOf(alias: string): string {
    return `${this.id}-${alias}`;
  }

  async createNetwork(): Promise<void> {
    await podman(["network", "create", "--label", `breakwater.test=${this.id}`, this.network]);
    this.networkCreated = true;
  }

  /**
   * Starts a container detached, with a read-only root (the images must run
   * so), no privilege to gain, no capabilities, on the run's network.
   */
  async start(spec: ContainerSpec): Promise<string> {
    const name = this.nameOf(spec.alias);
    this.containers.push(name);
    const args = ["run", "--detach", "--name", name, "--label", `breakwater.test=${this.id}`];
    const placement = ["--network", this.network, "--network-alias", spec.alias, "--hostname", spec.alias];
    for (const [inner, outer] of Object.entries(spec.publish ?? {}))
      placement.push("--publish", `127.0.0.1:${outer}:${inner}`);
    if (spec.podInfraImage === undefined) args.push(...placement);
    else {
      const pod = `${name}-pod`;
      this.pods.push(pod);
      const label = `breakwater.test=${this.id}`;
      await podman([
        "pod",
        "create",
        "--name",
        pod,
        "--label",
        label,
        ...placement,
        "--infra-image",
        spec.podInfraImage,
      ]);
      args.push("--pod", pod);
    }
    args.push("--read-only", "--security-opt", "no-new-privileges", "--cap-drop", "all");
    for (const [name, value] of Object.entries(spec.env ?? {})) args.push("--env", `${name}=${value}`);
    for (const [outer, inner] of Object.entries(spec.mounts ?? {})) args.push("--volume", `${outer}:${inner}:ro`);
    await podman([...args, spec.image]);
    return name;
  }

  /** What the container printed (stdout and stderr), for failure messages and log checks. */
  logs(alias: string): Promise<string> {
    return podman(["logs", this.nameOf(alias)]).catch((err: unknown) => `(no logs: ${String(err)})`);
  }

  /** `podman inspect` of one field, e.g. `{{.State.ExitCode}}`. */
  inspect(alias: string, format: string): Promise<string> {
    return podman(["container", "inspect", "--format", format, this.nameOf(alias)]);
  }

  /** Removes every container (with its anonymous volumes), pod and the network; answers what failed. */
  async remove(): Promise<string[]> {
    const problems: string[] = [];
    if (this.containers.length > 0)
      await podman(["rm", "--force", "--volumes", "--time", "0", "--ignore", ...this.containers]).catch(
        (err: unknown) => problems.push(String(err)),
      );
    if (this.pods.length > 0)
      await podman(["pod", "rm", "--force", "--time", "0", "--ignore", ...this.pods]).catch((err: unknown) =>
        problems.push(String(err)),
      );
    if (this.networkCreated)
      await podman(["network", "rm", "--force", this.network]).catch((err: unknown) => problems.push(String(err)));
    const left = await podman(["ps", "--all", "--quiet", "--filter", `label=breakwater.test=${this.id}`]).catch(
      (err: unknown) => String(err),
    );
    if (left !== "") problems.push(`containers left: ${left}`);
    return problems;
  }
}
