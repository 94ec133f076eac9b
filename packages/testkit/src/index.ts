/** Starts an in-process S3 server (s3rver) on a free loopback port with the given buckets. */
export { startS3Server } from "./s3-server.js";
/** What `startS3Server` answers and takes. */
export type { S3Server, S3ServerOptions } from "./s3-server.js";
/** Starts an HTTP proxy that counts requests by method and path and can inject faults. */
export { startCountingProxy } from "./counting-proxy.js";
/** What `startCountingProxy` answers, and one counted request. */
export type { CountingProxy, ProxiedRequest } from "./counting-proxy.js";
/** A proxy's fault modes (pass, delay, status, reset, black-hole) and a ready S3-style 503. */
export { s3Unavailable, type ProxyMode } from "./proxy-mode.js";
/** A TCP port that was free a moment ago (also a port sure to refuse connections). */
export { freePort } from "./free-port.js";
/** Starts a built app (`apps/<name>/dist/main.js`) on free ports and reads them from its "listening" log line. */
export { startServiceProcess, runServiceToExit, repoRoot } from "./service-process.js";
/** A started app process and how to start one. */
export type { ServiceProcess, StartServiceOptions } from "./service-process.js";
/** A child process's memory (RSS, heap after a forced GC with `heapProbeEnv`) and descriptors, from /proc. */
export { MiB, rssBytes, openFds, samplePeak, heapProbeEnv, heapAfterGc } from "./process-memory.js";
/** Waits on a condition with a deadline: how tests synchronise, never with a sleep. */
export { eventually, type EventuallyOptions } from "./eventually.js";
/** Reads one sample from Prometheus text (or a service's `/metrics`). */
export { promSample, scrapeSample } from "./prometheus-sample.js";
/** An S3 client straight at the test's S3 server (seed objects, check what storage holds). */
export { directS3Client } from "./direct-s3-client.js";
/** A real etcd cluster on loopback ports (kill, restart, leader), and whether etcd is installed to run one. */
export { startEtcdCluster, etcdInstalled, ETCD_MISSING } from "./etcd-cluster.js";
/** A started etcd cluster and how to start one. */
export type { EtcdCluster, EtcdClusterOptions } from "./etcd-cluster.js";
/** A throwaway PKI made with openssl at run time: CA, service, client, foreign and expired certificates. */
export { makeTestPki, type TestPki, type TestCertificate } from "./test-pki.js";

export { writeTokensFile, bearer, type TestToken } from "./tokens-file.js";
/** An in-process OTLP/HTTP trace receiver that decodes the real protobuf exports (stands in for a collector). */
export { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "./otlp-receiver.js";
