import { buildImage } from "./image-builder.js";
import { installBinary, makeWritableDir, serviceUserSpec, writeAccounts } from "./root-filesystem.js";

/** The base every Node image builds on: the name it is tagged with in local storage. */
export const nodeBaseImage = `localhost/breakwater/node-base:${process.versions.node}`;

/**
 * Builds {@link nodeBaseImage} from nothing (no registry, no distribution):
 * this machine's Node binary (`process.execPath`, symbols stripped) and
 * the libraries it links, accounts with the non-root service user, and /tmp.
 * Node carries its own CA roots and ICU data, so neither ca-certificates nor
 * locales are needed (S3 over TLS is checked against Node's roots plus
 * `S3_CA_FILE`; `NODE_EXTRA_CA_CERTS` adds more).
 */
export async function buildNodeBase(): Promise<string> {
  await buildImage({
    from: "scratch",
    names: [nodeBaseImage],
    populate: async (rootDir) => {
      await installBinary(rootDir, process.execPath, "/usr/bin/node", true);
      writeAccounts(rootDir);
      makeWritableDir(rootDir, "/tmp");
    },
    config: { user: serviceUserSpec, entrypoint: ["/usr/bin/node"], workingDir: "/app" },
  });
  return nodeBaseImage;
}
