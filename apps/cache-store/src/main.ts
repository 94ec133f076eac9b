import { createLogger, outgoingToken, presentToken, runService } from "@breakwater/server-kit";
import { build, loadCacheStoreConfig } from "./server.js";

await runService({
  loadConfig: () => loadCacheStoreConfig(process.env),
  start: async (config) => {
    const logger = createLogger({ service: "cache-store", level: config.LOG_LEVEL });
    presentToken(outgoingToken(config)); // to peers (forwarding, invalidations) and the coordinator
    return { server: build(config, { logger }), logger };
  },
});
