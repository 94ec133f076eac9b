/**
 * The error a BREAKER_CONFIG file fails with: every problem found, each with
 * its path, so an operator fixes the file in one go.
 */

const brand = Symbol.for("breakwater.breaker.config-error");

/** A breaker config file that does not hold; `problems` lists every reason. */
export class BreakerConfigError extends Error {
  readonly [brand] = true;
  override readonly name = "BreakerConfigError";
  /** One line per problem, e.g. `backends["s3:x"].failure_rate_threshold: must be between 0 and 1, got 2`. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    const count = `${problems.length} problem${problems.length === 1 ? "" : "s"}`;
    super(`invalid breaker config (${count}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.problems = Object.freeze([...problems]);
  }
}

/** True for a BreakerConfigError (of any copy of this package). */
export function isBreakerConfigError(e: unknown): e is BreakerConfigError {
  return typeof e === "object" && e !== null && brand in e;
}
