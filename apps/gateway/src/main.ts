import { createLogger, outgoingToken, presentToken, runService } from "@breakwater/server-kit";
import { startTracing } from "@breakwater/tracing";
import { build, loadGatewayConfig } from "./server.js";

await runService({
  loadConfig: () => loadGatewayConfig(process.env),
  start: async (config) => {
    const logger = createLogger({ service: "gateway", level: config.LOG_LEVEL });
    // Only when an OTEL_* variable asks for traces; flushed last on shutdown.
    const tracing = await startTracing({ env: process.env, serviceName: "gateway", warn: (m) => logger.warn(m) });
    presentToken(outgoingToken(config)); // the gateway calls CacheService as itself (BW_TOKEN)
    return { server: build(config, { logger }), logger, tracing };
  },
});
