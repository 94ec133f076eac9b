export { PERMISSIONS, allows, type Permission, type Grant, type Requirement } from "./permissions.js";
export { parseTokenFile, TokenFileError, type TokenEntry } from "./token-file.js";
export { createAccess, hashToken, type Access, type AccessOptions, type Caller, type Verdict } from "./access.js";
export { presentToken, presentedAuthorization } from "./caller-token.js";
export { guardService, callerOf, type GuardOptions, type MethodRequirement } from "./guard-service.js";
export { securityConfig, loadAccess, outgoingToken, protectedModeProblem, isLoopback } from "./security-config.js";
