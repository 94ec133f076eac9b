// `npm run images`: the three service images, built into local podman storage, sizes printed.
import { buildServiceImages } from "./build-images.js";
import { containersConf, podmanUnavailable } from "./podman-env.js";

const unavailable = await podmanUnavailable();
if (unavailable !== undefined) {
  console.error(`npm run images: cannot build: ${unavailable}`);
  process.exit(1);
}
const started = performance.now();
try {
  const images = await buildServiceImages();
  console.log(`built with CONTAINERS_CONF=${containersConf}`);
  for (const image of images)
    console.log(`${(image.sizeBytes / 1e6).toFixed(1).padStart(7)} MB  ${image.names.join("  ")}`);
  console.log(`${images.length} images in ${((performance.now() - started) / 1000).toFixed(1)} s`);
} catch (err) {
  console.error(`npm run images: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
