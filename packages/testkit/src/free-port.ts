import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/**
 * A TCP port that was free a moment ago on `host`: for a process that must be
 * told its port up front (or for a port that is certain to refuse connections).
 * Prefer listening on port 0 where the server can report its own port: another
 * process may take this one before it is used.
 *
 * The port is drawn at random from below the kernel's ephemeral range: the
 * ports that port-0 listeners and outgoing connections get come from that
 * range, so on a busy machine (a whole suite of servers and clients) one of
 * them would soon take a port handed out from it before its process binds.
 */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  const [low, high] = portsBelowEphemeral();
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (await bindable(port, host)) return port;
  }
  throw new Error(`freePort: no free port found in ${low}-${high} on ${host} after 50 tries`);
}

/** Ports 20000 up to the start of the ephemeral range (Linux: /proc/sys/net/ipv4/ip_local_port_range). */
function portsBelowEphemeral(): [number, number] {
  let ephemeralStart = 32_768;
  try {
    const [start] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
    if (start !== undefined && Number.isInteger(start) && start > 21_000) ephemeralStart = start;
  } catch {
    // Not Linux: the IANA dynamic range starts at 49152, and Linux's default at 32768.
  }
  return [20_000, ephemeralStart - 1];
}

function bindable(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}
