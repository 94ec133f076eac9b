/** What differs between the three services' images. */
export interface ServiceImageSpec {
  /** The app's folder under apps/ and its image's name (`localhost/breakwater/<app>`). */
  readonly app: "gateway" | "cache-store" | "breaker-coordinator";
  readonly description: string;
  /** Ports it listens on by default (README "Configuration"). */
  readonly ports: readonly number[];
  /**
   * Defaults that only make sense in a container: bind every interface (a
   * non-loopback address still needs a credential, protected mode holds) and
   * keep state on the declared volume.
   */
  readonly env: Readonly<Record<string, string>>;
  /** Writable paths besides /tmp: declared volumes. */
  readonly volumes: readonly string[];
  /** Folders of the app read at run time besides `dist` (the coordinator's fleet page). */
  readonly assetDirs: readonly string[];
}

/** The coordinator's state folder in its image (a volume). */
export const coordinatorStateDir = "/var/lib/breakwater";

/** The three services, one image each. */
export const serviceImages: readonly ServiceImageSpec[] = [
  {
    app: "gateway",
    description: "breakwater gateway: the HTTP/1.1 object API in front of the cache-stores",
    ports: [8080],
    env: { GATEWAY_HOST: "0.0.0.0" },
    volumes: [],
    assetDirs: [],
  },
  {
    app: "cache-store",
    description: "breakwater cache-store: the gRPC cache in front of S3-compatible storage",
    ports: [50051, 9451],
    env: { CACHE_STORE_HOST: "0.0.0.0" },
    volumes: [],
    assetDirs: [],
  },
  {
    app: "breaker-coordinator",
    description: "breakwater breaker-coordinator: the fleet's circuit breakers, sessions and fleet page",
    ports: [50052, 9452],
    env: { COORDINATOR_HOST: "0.0.0.0", COORDINATOR_STATE_FILE: `${coordinatorStateDir}/coordinator-state.json` },
    volumes: [coordinatorStateDir],
    assetDirs: ["dashboard"],
  },
];

/** `localhost/breakwater/<app>` (podman's name for an image that never came from a registry). */
export function imageRepository(app: string): string {
  return `localhost/breakwater/${app}`;
}
