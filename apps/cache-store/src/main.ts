import { createLogger, outgoingToken, presentToken, runService } from "@breakwater/server-kit";
import { startTracing } from "@breakwater/tracing";
import { build, loadCacheStoreConfig } from "./server.js";

await runService({
  loadConfig: () => loadCacheStoreConfig(process.env),
  start: async (config) => {
    const logger = createLogger({ service: "cache-store", level: config.LOG_LEVEL });
    // Only when an OTEL_* variable asks for traces; flushed last on shutdown.
    const tracing = await startTracing({ env: process.env, serviceName: "cache-store", warn: (m) => logger.warn(m) });
    presentToken(outgoingToken(config)); // to peers (forwarding, invalidations) and the coordinator
    return { server: build(config, { logger }), logger, tracing };
  },
});
