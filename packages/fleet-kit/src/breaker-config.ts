import { readFileSync } from "node:fs";
/**
 * BREAKER_CONFIG in a service's config: the variable, and the file read at
 * start with every problem listed as a ConfigError (the process exits 2).
 */
import { ConfigError, env } from "@breakwater/server-kit";
import {
  BreakerConfigError,
  isBreakerConfigError,
  parseBreakerConfigFile,
  type BreakerConfigSet,
} from "@breakwater/breaker";

/**
 * Reads BREAKER_CONFIG, the YAML of per-backend breaker settings that the
 * coordinator and every instance share (empty path: design.md's defaults).
 * Throws a BreakerConfigError listing every problem, an unreadable file included.
 */
export function readBreakerConfigFile(path: string): BreakerConfigSet {
  if (path === "") return parseBreakerConfigFile("");
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new BreakerConfigError([`cannot read ${path}: ${(err as Error).message}`]);
  }
  return parseBreakerConfigFile(text);
}

/** The BREAKER_CONFIG variable, for a service's config schema. */
export const breakerConfigEnv = {
  BREAKER_CONFIG: env.string(
    "",
    "YAML file of per-backend breaker settings, shared by the coordinator and every instance; empty: defaults",
  ),
};

/** Reads BREAKER_CONFIG at start; a bad file is a ConfigError naming every problem (so the process exits 2). */
export function loadBreakerConfig(path: string): BreakerConfigSet {
  try {
    return readBreakerConfigFile(path);
  } catch (err) {
    if (isBreakerConfigError(err)) throw new ConfigError(err.problems.map((p) => `BREAKER_CONFIG (${path}): ${p}`));
    throw err;
  }
}
