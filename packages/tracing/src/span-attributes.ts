/**
 * The attribute names breakwater's spans carry. HTTP and URL names are the
 * stable semantic conventions (imported); the RPC ones are still
 * "development" in the conventions, whose docs ask to copy such names rather
 * than import the incubating entry point: they are here, in one place.
 */
export {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_PATH,
} from "@opentelemetry/semantic-conventions";

/** "grpc". */
export const ATTR_RPC_SYSTEM = "rpc.system";
/** The full service name, e.g. "breakwater.cache.v1.CacheService". */
export const ATTR_RPC_SERVICE = "rpc.service";
/** The method, e.g. "GetObject". */
export const ATTR_RPC_METHOD = "rpc.method";
/** The call's gRPC status code (0 = OK). */
export const ATTR_RPC_GRPC_STATUS_CODE = "rpc.grpc.status_code";

/** The bucket and key an object call is about (breakwater's own). */
export const ATTR_OBJECT_BUCKET = "breakwater.bucket";
export const ATTR_OBJECT_KEY = "breakwater.key";
/** The storage backend of a storage span ("s3"), and its operation ("get", "head", "put", "delete"). */
export const ATTR_STORAGE_BACKEND = "breakwater.storage.backend";
export const ATTR_STORAGE_OPERATION = "breakwater.storage.operation";
/** How the call ended: "ok", "not_modified", or the cache error's kind ("not_found", "unavailable", …). */
export const ATTR_STORAGE_OUTCOME = "breakwater.storage.outcome";
