import { chmodSync, chownSync, copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { runCommand } from "./command.js";
import { sharedLibrariesOf } from "./shared-libraries.js";

/** The one account services run as: not root, owns nothing but the writable paths. */
export const serviceUser = { name: "breakwater", uid: 10001, gid: 10001 } as const;

/** `uid:gid` of {@link serviceUser}, for `buildah config --user`. */
export const serviceUserSpec = `${serviceUser.uid}:${serviceUser.gid}`;

/**
 * Copies a binary to `target` inside `rootDir` with every shared library and
 * the loader `ldd` names, at the same paths. With `strip` (binutils) on the
 * PATH and `strip` set, the copy leaves out debug information and symbols not
 * needed to run (Node's binary: 99 MB → 86 MB); otherwise it is copied as is.
 */
export async function installBinary(rootDir: string, binary: string, target: string, strip = false): Promise<void> {
  const into = (p: string): string => path.join(rootDir, p);
  mkdirSync(path.dirname(into(target)), { recursive: true });
  if (strip && (await hasStrip())) await runCommand("strip", ["--strip-unneeded", "-o", into(target), binary]);
  else copyFileSync(binary, into(target));
  chmodSync(into(target), 0o755);
  for (const library of await sharedLibrariesOf(binary)) {
    mkdirSync(path.dirname(into(library)), { recursive: true });
    copyFileSync(library, into(library));
  }
}

/** /etc/passwd and /etc/group with root and {@link serviceUser} (Node's os.userInfo, logs naming the user). */
export function writeAccounts(rootDir: string): void {
  const u = serviceUser;
  mkdirSync(path.join(rootDir, "etc"), { recursive: true });
  writeFileSync(
    path.join(rootDir, "etc/passwd"),
    `root:x:0:0:root:/root:/sbin/nologin\n${u.name}:x:${u.uid}:${u.gid}:${u.name}:/tmp:/sbin/nologin\n`,
  );
  writeFileSync(path.join(rootDir, "etc/group"), `root:x:0:\n${u.name}:x:${u.gid}:\n`);
}

/** A directory the service may write (a volume or tmpfs mounts over it under `--read-only`). */
export function makeWritableDir(rootDir: string, dir: string, mode = 0o700): void {
  const full = path.join(rootDir, dir);
  mkdirSync(full, { recursive: true });
  if (dir === "/tmp") return chmodSync(full, 0o1777);
  chownSync(full, serviceUser.uid, serviceUser.gid);
  chmodSync(full, mode);
}

let stripFound: Promise<boolean> | undefined;
function hasStrip(): Promise<boolean> {
  return (stripFound ??= runCommand("strip", ["--version"]).then(
    () => true,
    () => false,
  ));
}
