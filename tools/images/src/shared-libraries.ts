import { runCommand } from "./command.js";

/**
 * The absolute paths `ldd` prints for a binary's shared libraries and its
 * loader (`libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)`,
 * `/lib64/ld-linux-x86-64.so.2 (0x…)`); the vDSO has no file and is left out.
 */
export function parseLddOutput(output: string): string[] {
  const paths: string[] = [];
  for (const line of output.split("\n")) {
    const match = /(?:=>\s*)?(\/\S+)\s+\(0x[0-9a-f]+\)/i.exec(line);
    if (match?.[1] !== undefined && !paths.includes(match[1])) paths.push(match[1]);
  }
  return paths;
}

/** The shared libraries (and loader) a dynamically linked binary needs, from `ldd`; none for a static one. */
export async function sharedLibrariesOf(binary: string): Promise<string[]> {
  try {
    return parseLddOutput(await runCommand("ldd", [binary]));
  } catch (err) {
    // ldd exits 1 with "not a dynamic executable" for a static binary (etcd).
    if (String(err).includes("not a dynamic executable")) return [];
    throw err;
  }
}
