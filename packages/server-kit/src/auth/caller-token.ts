/**
 * The token this process presents when it calls another service (BW_TOKEN):
 * one process-wide setting, like the certificate it would present under
 * mTLS, read by every grpc-js client `createGrpcClient` makes.
 */
let presented: string | undefined;

/** Sets the bearer token every outgoing call carries (empty: none). Called once by main.ts. */
export function presentToken(token: string): void {
  presented = token === "" ? undefined : token;
}

/** The `authorization` value outgoing calls carry, if any. */
export function presentedAuthorization(): string | undefined {
  return presented === undefined ? undefined : `Bearer ${presented}`;
}
