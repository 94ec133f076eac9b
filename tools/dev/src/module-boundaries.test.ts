import { ESLint } from "eslint";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

// The import rules of design.md ("Layout") are only worth something if the
// lint actually rejects a breach. These lint made-up files at real places in
// the tree with the repository's own eslint.config.mjs; the files need not exist.
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
let eslint: ESLint;

beforeAll(() => {
  eslint = new ESLint({ cwd: repoRoot });
});

/** The rules that reported an error on `code` linted as `filePath`. */
async function errors(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${repoRoot}${filePath}` });
  return result!.messages.filter((m) => m.severity === 2).map((m) => `${m.ruleId}: ${m.message}`);
}

const awsImport = 'import { S3Client } from "@aws-sdk/client-s3";\nexport const client = S3Client;\n';

describe("module boundaries", () => {
  it("forbids an app to import another app", async () => {
    const found = await errors(
      'import { build } from "@breakwater/cache-store";\nexport const b = build;\n',
      "apps/gateway/src/__boundary_fixture__.ts",
    );
    expect(found).toEqual([expect.stringMatching(/^@nx\/enforce-module-boundaries: /)]);
  });

  it("lets an app import a library (so the rule above is not rejecting everything)", async () => {
    const found = await errors(
      'import { createLogger } from "@breakwater/server-kit";\nexport const c = createLogger;\n',
      "apps/gateway/src/__boundary_fixture__.ts",
    );
    expect(found).toEqual([]);
  });

  it("forbids node:http in the pure core of cache", async () => {
    const found = await errors(
      'import * as http from "node:http";\nexport const h = http;\n',
      "packages/cache/src/__fixture__.ts",
    );
    expect(found).toEqual([expect.stringMatching(/^no-restricted-imports: 'node:http'/)]);
  });

  it("forbids the AWS SDK in the pure core of breaker", async () => {
    const found = await errors(awsImport, "packages/breaker/src/__fixture__.ts");
    expect(found).toEqual([expect.stringMatching(/^no-restricted-imports: '@aws-sdk\/client-s3'/)]);
  });

  it("forbids breaker (its session edge included) to import server-kit", async () => {
    const found = await errors(
      'import { createGrpcClient } from "@breakwater/server-kit";\nexport const c = createGrpcClient;\n',
      "packages/breaker/src/session/__fixture__.ts",
    );
    expect(found).toEqual([expect.stringMatching(/^@nx\/enforce-module-boundaries: /)]);
  });

  it("lets breaker's session edge import the generated protobuf code", async () => {
    const found = await errors(
      'import { breakerV1 } from "@breakwater/proto";\nexport const b = breakerV1;\n',
      "packages/breaker/src/session/__fixture__.ts",
    );
    expect(found).toEqual([]);
  });

  it("lets the S3 edge of cache import the AWS SDK", async () => {
    expect(await errors(awsImport, "packages/cache/src/s3/__fixture__.ts")).toEqual([]);
  });
});
