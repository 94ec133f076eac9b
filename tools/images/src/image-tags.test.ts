import { describe, expect, it } from "vitest";
import { imageTags } from "./image-tags.js";

const commit = "e9c0ef0a1b2c3d4e5f60718293a4b5c6d7e8f901";

describe("imageTags", () => {
  it("tags a clean tree's build with the short commit and latest", () => {
    expect(imageTags({ commit, dirty: false })).toEqual(["e9c0ef0a1b2c", "latest"]);
  });

  it("marks a build from a dirty tree", () => {
    expect(imageTags({ commit, dirty: true })).toEqual(["e9c0ef0a1b2c-dirty", "latest"]);
  });
});
