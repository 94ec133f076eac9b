import { describe, expect, it } from "vitest";
import { createPersister } from "./persister.js";

/** A state file whose saves wait until the test settles them; records what each save got. */
function manualFile() {
  const saves: { state: unknown; settle: (err?: Error) => void }[] = [];
  return {
    saves,
    save(state: unknown): Promise<void> {
      return new Promise((resolve, reject) => saves.push({ state, settle: (err) => (err ? reject(err) : resolve()) }));
    },
  };
}

const flush = () => new Promise<void>((r) => setImmediate(r));

describe("createPersister", () => {
  it("coalesces: 100 changes during one write make one more write, with the latest state", async () => {
    const file = manualFile();
    let version = 0;
    const p = createPersister(file, () => ({ version }), { onError: () => undefined });
    const first = p.persist();
    const later: Promise<void>[] = [];
    for (let i = 0; i < 100; i++) {
      version++;
      later.push(p.persist());
    }
    await flush();
    expect(file.saves).toHaveLength(1);
    expect(file.saves[0]!.state).toEqual({ version: 0 });
    file.saves[0]!.settle();
    await first;
    await flush();
    expect(file.saves).toHaveLength(2); // every later caller shares this one
    expect(file.saves[1]!.state).toEqual({ version: 100 });
    file.saves[1]!.settle();
    await Promise.all(later);
    await flush();
    expect(file.saves).toHaveLength(2);
  });

  it("reports a failed write, rejects its callers, counts failures in a row, recovers on a good write", async () => {
    const file = manualFile();
    const errors: [string, number][] = [];
    const recovered: number[] = [];
    const p = createPersister(file, () => ({}), {
      onError: (err, inARow) => errors.push([(err as Error).message, inARow]),
      onRecovered: (failed) => recovered.push(failed),
    });
    expect(p.failing).toBe(false);
    for (const n of [1, 2]) {
      const attempt = p.persist();
      await flush();
      file.saves.at(-1)!.settle(Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" }));
      await expect(attempt).rejects.toThrow("ENOSPC");
      expect(p.failing).toBe(true);
      expect(errors.at(-1)).toEqual(["ENOSPC: no space left on device", n]);
    }
    const retry = p.persist();
    await flush();
    file.saves.at(-1)!.settle();
    await retry;
    expect(p.failing).toBe(false);
    expect(recovered).toEqual([2]);
    expect(file.saves).toHaveLength(3);
  });

  it("a failed write does not stop the one queued behind it", async () => {
    const file = manualFile();
    const p = createPersister(file, () => ({}), { onError: () => undefined });
    const first = p.persist().catch((e: unknown) => e);
    const second = p.persist();
    await flush();
    file.saves[0]!.settle(new Error("EIO"));
    expect(await first).toEqual(new Error("EIO"));
    await flush();
    expect(file.saves).toHaveLength(2);
    file.saves[1]!.settle();
    await second;
    expect(p.failing).toBe(false);
  });
});
