import { breakerV1 } from "@breakwater/proto";
import { service, unimplemented, type ServiceRegistration } from "@breakwater/server-kit";

/**
 * breakwater.breaker.v1.BreakerCoordinator. This first slice knows no
 * breakers yet: ListBreakers answers an empty list, and the RPCs that need
 * breaker state answer UNIMPLEMENTED until the breaker core lands.
 */
export function coordinatorService(): ServiceRegistration {
  return service(breakerV1.BreakerCoordinator, {
    async listBreakers() {
      return { breakers: [] };
    },
    async getBreaker() {
      throw unimplemented("GetBreaker");
    },
    async forceBreaker() {
      throw unimplemented("ForceBreaker");
    },
    async resetBreaker() {
      throw unimplemented("ResetBreaker");
    },
    async listInstances() {
      return { instances: [] };
    },
    // eslint-disable-next-line require-yield
    async *watchBreakers() {
      throw unimplemented("WatchBreakers");
    },
    // eslint-disable-next-line require-yield
    async *session() {
      throw unimplemented("Session");
    },
  });
}
