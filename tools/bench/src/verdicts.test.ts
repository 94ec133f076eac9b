import { describe, expect, it } from "vitest";
import { missedSummary, missedTargets, tee } from "./verdicts.js";

describe("verdicts", () => {
  it("reads the MISSED verdict lines of a report, and nothing else", () => {
    const report = [
      "title",
      "",
      "a  MISSED in a cell",
      "met     s: fine",
      "MISSED  s: kit 0.75× of bare (target ≥ 0.80×)",
      "note    MISSED is a word",
    ].join("\n");
    expect(missedTargets(report)).toEqual(["s: kit 0.75× of bare (target ≥ 0.80×)"]);
    expect(missedTargets("met     s: fine\n")).toEqual([]);
    expect(missedSummary(["a", "b"])).toBe("MISSED 2 targets: a; b");
    expect(missedSummary(["a"])).toBe("MISSED 1 target: a");
  });

  it("copies what is written to a stream while a function runs, and still writes it", async () => {
    const written: string[] = [];
    const stream = { write: (chunk: string) => (written.push(chunk), true) } as unknown as NodeJS.WriteStream;
    const original = stream.write;
    const { result, text } = await tee(stream, async () => {
      stream.write("one\n");
      stream.write(Buffer.from("two\n") as never);
      return 7;
    });
    expect([result, text]).toEqual([7, "one\ntwo\n"]);
    expect(written).toHaveLength(2);
    expect(stream.write).toBe(original);
    await expect(tee(stream, () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(stream.write).toBe(original);
  });
});
