import { startServiceProcess, type ServiceProcess } from "@breakwater/testkit";

/**
 * App processes a suite started (testkit's startServiceProcess): stopped
 * (SIGTERM, SIGKILL after 5 s) at the end, SIGKILLed if the bench exits first.
 */
export class ServiceProcesses {
  private readonly all: ServiceProcess[] = [];
  private readonly killAll = (): void => {
    for (const p of this.all) {
      try {
        process.kill(p.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
  };
  constructor() {
    process.once("exit", this.killAll);
  }
  /** Starts `apps/<app>/dist/main.js` and logs its pid (the smoke tests check that every logged pid is gone). */
  async start(
    app: string,
    env: Record<string, string>,
    log: (line: string) => void,
    label: string,
  ): Promise<ServiceProcess> {
    const p = await startServiceProcess(app, { env });
    this.all.push(p);
    log(`  ${label}: pid ${p.pid}, ${p.grpcPort === undefined ? p.httpUrl : p.grpcAddress}`);
    return p;
  }
  /** Stops every process started so far. */
  async stopAll(): Promise<void> {
    await Promise.all(
      this.all.splice(0).map(async (p) => {
        const timer = setTimeout(() => p.child.kill("SIGKILL"), 5_000);
        await p.stop("SIGTERM");
        clearTimeout(timer);
      }),
    );
  }
  /** Stops every process; call once, at the end. */
  close(): Promise<void> {
    process.off("exit", this.killAll);
    return this.stopAll();
  }
}
