import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { freePort } from "./free-port.js";
import { startS3Server } from "./s3-server.js";

describe("startS3Server", () => {
  it("serves the listed buckets on loopback and removes its directory on close", async () => {
    const s3 = await startS3Server({ buckets: ["default", "second"] });
    expect(s3.endpoint).toBe(`http://127.0.0.1:${s3.port}`);
    expect([s3.accessKeyId, s3.secretAccessKey]).toEqual(["S3RVER", "S3RVER"]);
    expect((await fetch(`${s3.endpoint}/default`)).status).toBe(200);
    expect((await fetch(`${s3.endpoint}/second`)).status).toBe(200);
    const missing = await fetch(`${s3.endpoint}/third`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain("NoSuchBucket");
    expect(existsSync(s3.directory)).toBe(true);

    await Promise.all([s3.close(), s3.close()]);
    expect(existsSync(s3.directory)).toBe(false);
    await expect(fetch(`${s3.endpoint}/default`)).rejects.toThrow();
  });

  it('creates "default" unless told otherwise', async () => {
    const s3 = await startS3Server();
    try {
      expect((await fetch(`${s3.endpoint}/default`)).status).toBe(200);
    } finally {
      await s3.close();
    }
  });

  it("refuses bucket names s3rver would reject later", async () => {
    await expect(startS3Server({ buckets: ["ab"] })).rejects.toThrow(RangeError);
  });
});

describe("freePort", () => {
  it("answers a port nobody listens on", async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
  });
});
