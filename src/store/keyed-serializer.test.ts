import { describe, expect, it } from "vitest";
import { KeyedSerializer } from "./keyed-serializer.js";

describe("KeyedSerializer", () => {
  it("runs a room's steps one at a time in order, other rooms' beside them; a failed step does not stop the next; an idle room is forgotten", async () => {
    const rooms = new KeyedSerializer();
    const log: string[] = [];
    let releaseFirst!: () => void;
    const first = rooms.run("!a", async () => {
      log.push("a1 start");
      await new Promise<void>((resolve) => (releaseFirst = resolve));
      log.push("a1 end");
      throw new Error("a1 failed");
    });
    const second = rooms.run("!a", () => void log.push("a2"));
    const other = rooms.run("!b", () => void log.push("b1"));
    await other;
    expect(log).toEqual(["a1 start", "b1"]);
    expect(rooms.busy("!a")).toBe(true);
    releaseFirst();
    await expect(first).rejects.toThrow("a1 failed");
    await second;
    expect(log).toEqual(["a1 start", "b1", "a1 end", "a2"]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(rooms.size).toBe(0);
  });
});
