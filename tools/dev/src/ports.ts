import * as net from "node:net";
import type { PlannedPort } from "./stack-plan.js";

/**
 * Whether `port` can be bound on `host` right now. Binding (rather than
 * connecting) is what the service will do, so it sees every holder: a
 * listener on 0.0.0.0, on :: (dual stack) or on 127.0.0.1.
 */
export function isPortFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EADDRINUSE" || err.code === "EACCES") resolve(false);
      else reject(err);
    });
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** The planned ports that something else already holds, in plan order. */
export async function findBusyPorts(ports: readonly PlannedPort[]): Promise<PlannedPort[]> {
  const free = await Promise.all(ports.map((p) => isPortFree(p.port, p.host)));
  return ports.filter((_, i) => !free[i]);
}

/** One line that names the port, who needs it, and how to move it. */
export function portInUseMessage(p: PlannedPort): string {
  return (
    `error: port ${p.port} (${p.service} ${p.role}) is already in use; ` +
    `stop the process holding it, or set ${p.variable} (or BW_DEV_BASE_PORT to move them all)`
  );
}
