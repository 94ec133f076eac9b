import { buildImage } from "./image-builder.js";
import { installBinary, makeWritableDir, serviceUserSpec, writeAccounts } from "./root-filesystem.js";

/** A one-node etcd as an image, for the stack test (production runs the etcd it already has). */
export const etcdImage = "localhost/breakwater-test/etcd:latest";

/**
 * Builds {@link etcdImage} from nothing: this machine's etcd binary (Debian's
 * etcd-server) and what it links, run as the service user, data in /tmp/etcd.
 * `advertiseHost` is the name the coordinators dial it by.
 */
export async function buildEtcdImage(etcdBinary: string, advertiseHost: string): Promise<string> {
  await buildImage({
    from: "scratch",
    names: [etcdImage],
    populate: async (rootDir) => {
      await installBinary(rootDir, etcdBinary, "/usr/bin/etcd");
      writeAccounts(rootDir);
      makeWritableDir(rootDir, "/tmp");
    },
    config: {
      user: serviceUserSpec,
      entrypoint: [
        "/usr/bin/etcd",
        ...["--data-dir", "/tmp/etcd", "--name", advertiseHost],
        ...["--listen-client-urls", "http://0.0.0.0:2379", "--advertise-client-urls", `http://${advertiseHost}:2379`],
        ...["--listen-peer-urls", "http://127.0.0.1:2380", "--initial-advertise-peer-urls", "http://127.0.0.1:2380"],
        ...["--initial-cluster", `${advertiseHost}=http://127.0.0.1:2380`],
      ],
      ports: [2379],
      volumes: ["/tmp"],
    },
  });
  return etcdImage;
}
