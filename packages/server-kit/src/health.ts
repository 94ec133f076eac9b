import { healthV1 } from "@breakwater/proto";
import { Code, ConnectError } from "@connectrpc/connect";
import { service, type ServiceRegistration } from "./service-impl.js";

const { HealthCheckResponse_ServingStatus: ServingStatus } = healthV1;
type ServingStatus = healthV1.HealthCheckResponse_ServingStatus;

/** Serving status per service name ("" is the whole server), as grpc.health.v1 reports it. */
export class HealthStatus {
  readonly #status = new Map<string, ServingStatus>();
  readonly #watchers = new Set<(service: string, status: ServingStatus) => void>();
  #closed = false;

  constructor(services: readonly string[]) {
    for (const s of ["", ...services]) this.#status.set(s, ServingStatus.SERVING);
  }

  get(serviceName: string): ServingStatus | undefined {
    return this.#status.get(serviceName);
  }

  /** Sets one service's status, or every service's when `serviceName` is omitted. */
  set(status: ServingStatus, serviceName?: string): void {
    const names = serviceName === undefined ? [...this.#status.keys()] : [serviceName];
    for (const name of names) {
      if (this.#status.get(name) === status) continue;
      this.#status.set(name, status);
      for (const w of this.#watchers) w(name, status);
    }
  }

  /** Every service's status. */
  entries(): [string, ServingStatus][] {
    return [...this.#status.entries()];
  }

  /** True while the whole server ("") is SERVING. */
  get serving(): boolean {
    return this.#status.get("") === ServingStatus.SERVING;
  }

  /** True after close(): Watch streams have ended, so a graceful shutdown need not wait for them. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Ends every Watch stream (after the final status went out). */
  close(): void {
    this.#closed = true;
    for (const w of this.#watchers) w("", this.#status.get("") ?? ServingStatus.NOT_SERVING);
  }

  watch(listener: (service: string, status: ServingStatus) => void): () => void {
    this.#watchers.add(listener);
    return () => this.#watchers.delete(listener);
  }
}

/** grpc.health.v1.Health: Check, List, and Watch that streams every change. */
export function healthService(health: HealthStatus): ServiceRegistration {
  return service(healthV1.Health, {
    async check(req) {
      const status = health.get(req.service);
      if (status === undefined) throw new ConnectError(`unknown service ${req.service}`, Code.NotFound);
      return { status };
    },
    async list() {
      return { statuses: Object.fromEntries(health.entries().map(([name, status]) => [name, { status }])) };
    },
    async *watch(req, ctx) {
      // Per the health spec, an unknown service is SERVICE_UNKNOWN, not an error.
      const queue: ServingStatus[] = [health.get(req.service) ?? ServingStatus.SERVICE_UNKNOWN];
      let wake: (() => void) | undefined;
      const unwatch = health.watch((name, status) => {
        if (health.closed) return wake?.();
        if (name !== req.service) return;
        queue.push(status);
        wake?.();
      });
      const onAbort = (): void => wake?.();
      ctx.signal.addEventListener("abort", onAbort);
      try {
        while (!ctx.signal.aborted) {
          if (health.closed && queue.length === 0) return;
          const next = queue.shift();
          if (next !== undefined) yield { status: next };
          else await new Promise<void>((resolve) => (wake = resolve));
        }
      } finally {
        unwatch();
        ctx.signal.removeEventListener("abort", onAbort);
      }
    },
  });
}
