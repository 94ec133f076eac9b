import { describe, expect, it } from "vitest";
import { parseLddOutput } from "./shared-libraries.js";

describe("parseLddOutput", () => {
  it("lists each library's path and the loader, not the vDSO", () => {
    const output = [
      "\tlinux-vdso.so.1 (0x00007ffd5a1f2000)",
      "\tlibdl.so.2 => /lib/x86_64-linux-gnu/libdl.so.2 (0x00007f34bcb2f000)",
      "\tlibstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007f34bc800000)",
      "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f34bc61e000)",
      "\t/lib64/ld-linux-x86-64.so.2 (0x00007f34bcb48000)",
    ].join("\n");
    expect(parseLddOutput(output)).toEqual([
      "/lib/x86_64-linux-gnu/libdl.so.2",
      "/lib/x86_64-linux-gnu/libstdc++.so.6",
      "/lib/x86_64-linux-gnu/libc.so.6",
      "/lib64/ld-linux-x86-64.so.2",
    ]);
  });

  it("answers nothing for a static binary", () => {
    expect(parseLddOutput("\tnot a dynamic executable")).toEqual([]);
  });
});
