import { findOrInstallCommand, versionLine } from "./debian-command.js";
import type { BenchSettings } from "./suite.js";

/** What a suite that measures with wrk needs first. */
export interface WrkSetup {
  /** The wrk program. */
  readonly path: string;
  /** Its version line, for the report's header. */
  readonly version: string;
  /** One round's length: wrk runs whole seconds. */
  readonly roundSeconds: number;
  /** Warm-up before each round, whole seconds (0: none). */
  readonly warmupSeconds: number;
}

/** Finds (or installs from Debian) wrk for `suite` and turns the settings into whole-second rounds. */
export async function setUpWrk(suite: string, settings: BenchSettings): Promise<WrkSetup> {
  const wrk = await findOrInstallCommand({ command: "wrk", debianPackage: "wrk", log: settings.log });
  if ("missing" in wrk) throw new Error(`the ${suite} suite needs wrk as its load generator: ${wrk.missing}`);
  return {
    path: wrk.path,
    version: (await versionLine(wrk.path, ["-v"])).replace(/\s*Copyright.*$/, ""),
    roundSeconds: Math.max(1, Math.round(settings.seconds / settings.rounds)),
    warmupSeconds: settings.warmupSeconds > 0 ? Math.max(1, Math.round(settings.warmupSeconds)) : 0,
  };
}
