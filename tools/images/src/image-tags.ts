import { runCommand } from "./command.js";

/** Where an image's files came from: the commit, and whether the work tree differed from it. */
export interface SourceRevision {
  /** The full commit id (org.opencontainers.image.revision). */
  readonly commit: string;
  /** Uncommitted changes were in the tree the image was built from. */
  readonly dirty: boolean;
}

/** The commit of `repoDir` and whether its tree is dirty, from git. */
export async function sourceRevision(repoDir: string): Promise<SourceRevision> {
  const commit = await runCommand("git", ["-C", repoDir, "rev-parse", "HEAD"]);
  const status = await runCommand("git", ["-C", repoDir, "status", "--porcelain", "--untracked-files=normal"]);
  return { commit, dirty: status !== "" };
}

/**
 * The tags an image gets: the short commit (`-dirty` appended when the tree
 * had changes, so such a build never passes for the commit) and `latest`.
 */
export function imageTags(revision: SourceRevision): string[] {
  const short = revision.commit.slice(0, 12);
  return [revision.dirty ? `${short}-dirty` : short, "latest"];
}
