/** Test and benchmark helpers of the server kit (a trivial service of each method kind). */
export { echoService, type EchoProbe } from "./echo-service.js";
export { createReflectionClient } from "./reflection-client.js";
