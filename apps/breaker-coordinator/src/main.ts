import { createLogger, runService } from "@breakwater/server-kit";
import { build, loadCoordinatorConfig } from "./server.js";

await runService({
  loadConfig: () => loadCoordinatorConfig(process.env),
  start: async (config) => {
    const logger = createLogger({ service: "breaker-coordinator", level: config.LOG_LEVEL });
    return { server: await build(config, { logger }), logger };
  },
});
