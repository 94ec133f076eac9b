import { createServer } from "node:net";

/**
 * A TCP port that was free a moment ago on `host`: for a process that must be
 * told its port up front (or for a port that is certain to refuse connections).
 * Prefer listening on port 0 where the server can report its own port: another
 * process may take this one before it is used.
 */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}
