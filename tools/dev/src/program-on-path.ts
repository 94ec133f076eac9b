import { accessSync, constants } from "node:fs";
import * as path from "node:path";

/** The first executable named `program` on `searchPath` (a PATH value), or undefined. */
export function programOnPath(program: string, searchPath = process.env["PATH"] ?? ""): string | undefined {
  for (const dir of searchPath.split(path.delimiter)) {
    if (dir === "") continue;
    const candidate = path.join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
