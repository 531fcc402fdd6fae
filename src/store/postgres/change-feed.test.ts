import { describe, expect, it } from "vitest";
import { decodeChange, encodeChange } from "./change-feed.js";

describe("change notices on the wire", () => {
  it("carry what changed, heard by the other processes only", () => {
    for (const change of [{ kind: "room", id: "!abc:example.org" }, { kind: "hook", id: "ep_0123" }, { kind: "replies" }] as const) {
      const wire = encodeChange("p1", change);
      expect(decodeChange("p2", wire)).toEqual(change);
      expect(decodeChange("p1", wire)).toBeNull();
    }
  });

  it("ignores what this bridge does not send", () => {
    for (const payload of ["", "p1", "p1 room", "p1 hook ", "p1 room !a:x extra", "p1 replies now", "p1 resync", "p1 __proto__ x"]) {
      expect(decodeChange("p2", payload)).toBeNull();
    }
  });
});
