import { readFileSync } from "node:fs";
import {
  circuitBreaker,
  ConsecutiveBreaker,
  ExponentialBackoff,
  handleWhen,
  retry,
  type IBackoff,
  type IDefaultPolicyContext,
  type IPolicy,
} from "cockatiel";
import { Etcd3, isRecoverableError, type IOptions } from "etcd3";
import { prefixEnd, type FleetStore, type KeptLease, type StoreEvent, type StoredValue } from "./fleet-store.js";

/** How to reach etcd. */
export interface EtcdConnectionOptions {
  /** Endpoint URLs (`http://` or `https://`); the client picks among them in random order. */
  readonly endpoints: readonly string[];
  /** Deadline of every unary call (ms): without one, a call to a killed leader hangs for seconds. */
  readonly callTimeoutMs: number;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  /** CA bundle to verify etcd's TLS certificate with (https endpoints). */
  readonly caFile?: string | undefined;
  /** Client certificate and key presented to etcd (etcd's `--client-cert-auth`). */
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
}

/** FleetStore on the npm `etcd3` client (grpc-js). */
export function createEtcd3FleetStore(options: EtcdConnectionOptions): FleetStore {
  const clientOptions: IOptions = {
    hosts: [...options.endpoints],
    dialTimeout: options.callTimeoutMs * 2,
    // Streams (watch, keepalive) live on; every unary call gets the deadline.
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + options.callTimeoutMs }),
    faultHandling: {
      // The client's default holds a host off for 5 s after 3 failures: during a 1 s leader election every host
      // fails, so that turned an election into 5 s without etcd. Half a second keeps the cut short.
      host: (): IPolicy<IDefaultPolicyContext> =>
        circuitBreaker(handleWhen(isRecoverableError), {
          halfOpenAfter: options.callTimeoutMs,
          breaker: new ConsecutiveBreaker(3),
        }),
      // One more try, on another host (random order), within the caller's patience.
      global: retry(handleWhen(isRecoverableError), { maxAttempts: 1 }),
      // A broken watch comes back within 2 s of etcd (the default backoff grows to 30 s). etcd3 uses the value as a
      // factory (WatchManager takes an IBackoffFactory, its own default is one); its option is typed IBackoff.
      watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 2_000 }) as unknown as IBackoff<unknown>,
    },
  };
  if (options.username) clientOptions.auth = { username: options.username, password: options.password ?? "" };
  if (options.caFile || options.certFile) {
    // etcd3 takes the three together: the system's roots when no CA is given.
    clientOptions.credentials = {
      rootCertificate: options.caFile ? readFileSync(options.caFile) : (undefined as unknown as Buffer),
      ...(options.certFile && options.keyFile
        ? { certChain: readFileSync(options.certFile), privateKey: readFileSync(options.keyFile) }
        : {}),
    };
  }
  const client = new Etcd3(clientOptions);
  const decode = (kv: { key: Buffer; value: Buffer; mod_revision: string; create_revision: string }): StoredValue => ({
    key: kv.key.toString(),
    value: kv.value.toString(),
    modRevision: Number(kv.mod_revision),
    createRevision: Number(kv.create_revision),
  });

  return {
    async range(prefix) {
      const key = Buffer.from(prefix);
      const res = await client.kv.range({ key, range_end: prefixEnd(key) });
      return { values: res.kvs.map(decode), revision: Number(res.header.revision) };
    },

    async commit(guards, writes) {
      const res = await client.kv.txn({
        compare: guards.map((g) =>
          "absent" in g
            ? { key: Buffer.from(g.key), target: "Create", result: "Equal", create_revision: 0 }
            : { key: Buffer.from(g.key), target: "Mod", result: "Equal", mod_revision: g.modRevision },
        ),
        success: writes.map((w) => {
          if ("put" in w)
            return { request_put: { key: Buffer.from(w.put), value: Buffer.from(w.value), lease: w.lease } };
          if ("delete" in w) return { request_delete_range: { key: Buffer.from(w.delete) } };
          const key = Buffer.from(w.deletePrefix);
          return { request_delete_range: { key, range_end: prefixEnd(key) } };
        }),
        failure: [],
      });
      return res.succeeded;
    },

    async grantLease(ttlSeconds) {
      const res = await client.leaseClient.leaseGrant({ TTL: ttlSeconds });
      return res.ID;
    },

    async keepLease(ttlSeconds, onLost): Promise<KeptLease> {
      const lease = client.lease(ttlSeconds, { autoKeepAlive: true });
      lease.on("lost", onLost);
      const id = await lease.grant();
      return {
        id,
        revoke: () => lease.revoke(),
      };
    },

    async watch(prefix, fromRevision, onEvents, onBroken, onEnded) {
      const watcher = await client.watch().prefix(prefix).startRevision(String(fromRevision)).create();
      watcher.on("data", (res) => {
        const events: StoreEvent[] = res.events.map((e) => ({
          kind: e.type === "Delete" ? "delete" : "put",
          key: e.kv.key.toString(),
          value: e.kv.value.toString(),
          modRevision: Number(e.kv.mod_revision),
        }));
        if (events.length > 0) onEvents(events);
      });
      watcher.on("disconnected", onBroken);
      // etcd3 emits "error" when etcd cancelled the watch (e.g. compacted revision); it does not come back.
      watcher.on("error", onEnded);
      return { cancel: () => watcher.cancel() };
    },

    close: () => client.close(),
  };
}
