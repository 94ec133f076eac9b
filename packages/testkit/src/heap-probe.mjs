// Preloaded into a service process by leak tests, through
// NODE_OPTIONS="--expose-gc --import <this file>" (see process-memory.ts):
// on SIGUSR2 it collects garbage and writes process.memoryUsage() to
// <tmpdir>/breakwater-heap-<pid>.json, so a test can tell live memory from
// garbage and allocator slack, which RSS alone cannot.
import { renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

process.on("SIGUSR2", () => {
  globalThis.gc?.();
  globalThis.gc?.();
  const file = join(tmpdir(), `breakwater-heap-${process.pid}.json`);
  writeFileSync(`${file}.tmp`, JSON.stringify(process.memoryUsage()));
  renameSync(`${file}.tmp`, file);
});
