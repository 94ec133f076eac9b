import type { Suite } from "../suite.js";
import { breakerAdmissionSuite } from "./breaker-admission.js";
import { cacheSuite } from "./cache.js";
import { coherenceSuite } from "./coherence.js";
import { coordinatorReplicasSuite } from "./coordinator-replicas.js";
import { coordinatorSuite } from "./coordinator.js";
import { fleetConvergenceSuite } from "./fleet-convergence.js";
import { fleetSuite } from "./fleet.js";
import { gatewaySuite } from "./gateway.js";
import { serverKitSuite } from "./server-kit.js";
import { sessionSuite } from "./session.js";
import { tlsSuite } from "./tls.js";
import { tracingSuite } from "./tracing.js";

/** Every suite, in the order `npm run bench` (no names) runs them. Add new suites here. */
export const suites: readonly Suite[] = [
  serverKitSuite,
  coordinatorSuite,
  breakerAdmissionSuite,
  cacheSuite,
  fleetConvergenceSuite,
  gatewaySuite,
  coherenceSuite,
  fleetSuite,
  sessionSuite,
  tlsSuite,
  coordinatorReplicasSuite,
  tracingSuite,
];
