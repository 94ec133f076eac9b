import { mkdir, open, readFile, rename } from "node:fs/promises";
import { dirname } from "node:path";

/** What loading the snapshot found. */
export type LoadedState =
  | { readonly kind: "none" }
  | { readonly kind: "loaded"; readonly state: unknown }
  /** The file did not parse; it was moved to `setAside` so that the next start is clean. */
  | { readonly kind: "corrupt"; readonly setAside: string; readonly reason: string };

/**
 * The coordinator's state on disk: one JSON snapshot, replaced atomically
 * (write a temp file, fsync it, rename over the old one, fsync the folder),
 * so a crash at any point leaves the old or the new snapshot, never half.
 */
export class StateFile {
  #writing: Promise<void> = Promise.resolve();
  #seq = 0;

  constructor(readonly path: string) {}

  async load(): Promise<LoadedState> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return { kind: "none" };
      throw err;
    }
    try {
      return { kind: "loaded", state: JSON.parse(text) as unknown };
    } catch (err) {
      // A truncated or corrupt snapshot is set aside, never a crash loop.
      const setAside = `${this.path}.corrupt-${Date.now()}`;
      await rename(this.path, setAside);
      return { kind: "corrupt", setAside, reason: (err as Error).message };
    }
  }

  /** Writes a snapshot; writes are serialised, so the last one called wins. */
  save(state: unknown): Promise<void> {
    const text = JSON.stringify(state);
    const next = this.#writing.then(() => this.#write(text));
    this.#writing = next.catch(() => undefined);
    return next;
  }

  async #write(text: string): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const temp = `${this.path}.tmp-${process.pid}-${this.#seq++}`;
    const file = await open(temp, "w", 0o600);
    try {
      await file.writeFile(text);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, this.path);
    const folder = await open(dirname(this.path), "r");
    try {
      await folder.sync(); // makes the rename itself durable
    } finally {
      await folder.close();
    }
  }
}
