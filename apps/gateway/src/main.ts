import { createLogger, outgoingToken, presentToken, runService } from "@breakwater/server-kit";
import { build, loadGatewayConfig } from "./server.js";

await runService({
  loadConfig: () => loadGatewayConfig(process.env),
  start: async (config) => {
    const logger = createLogger({ service: "gateway", level: config.LOG_LEVEL });
    presentToken(outgoingToken(config)); // the gateway calls CacheService as itself (BW_TOKEN)
    return { server: build(config, { logger }), logger };
  },
});
