import { createLogger, runService } from "@breakwater/server-kit";
import { build, loadCacheStoreConfig } from "./server.js";

await runService({
  loadConfig: () => loadCacheStoreConfig(process.env),
  start: async (config) => {
    const logger = createLogger({ service: "cache-store", level: config.LOG_LEVEL });
    return { server: build(config, { logger }), logger };
  },
});
