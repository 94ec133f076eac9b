import type { cacheV1 } from "@breakwater/proto";

/** Answers the breakers a replica applies, for GetStats (empty until breakers are wired in). */
export type BreakerStatusSource = () => cacheV1.BreakerStatus[];
