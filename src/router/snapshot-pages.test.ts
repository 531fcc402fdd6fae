import { describe, expect, it } from "vitest";
import type { StateEvent } from "../matrix/port.js";
import { SnapshotPages } from "./snapshot-pages.js";

const state = (roomId: string): StateEvent[] => [{ type: "m.room.create", state_key: "", sender: roomId, content: {} }];

describe("SnapshotPages", () => {
  it("reads the rooms a page at a time in load order, hands each room's state out once, and reads a room asked for early with its page", async () => {
    const reads: string[][] = [];
    const rooms = ["!a", "!b", "!c", "!d", "!e"];
    const pages = new SnapshotPages(rooms, async (ids) => {
      reads.push([...ids]);
      return new Map(ids.filter((id) => id !== "!b").map((id) => [id, state(id)]));
    }, 2);
    expect(await Promise.all([pages.saved("!a"), pages.saved("!b")])).toEqual([state("!a"), null]);
    expect(await pages.saved("!e")).toEqual(state("!e")); // out of order: its own page
    expect(await pages.saved("!c")).toEqual(state("!c"));
    expect(await pages.saved("!d")).toEqual(state("!d"));
    expect(reads).toEqual([["!a", "!b"], ["!e"], ["!c", "!d"]]);
    expect(await pages.saved("!a")).toBeNull(); // handed out already: the homeserver is read
    expect(await pages.saved("!unknown")).toBeNull();
    expect(reads).toHaveLength(3);
  });

  it("a page that cannot be read fails the rooms that asked for it", async () => {
    const pages = new SnapshotPages(["!a", "!b"], () => Promise.reject(new Error("the store could not be used")), 2);
    await expect(pages.saved("!a")).rejects.toThrow(/could not be used/);
    await expect(pages.saved("!b")).rejects.toThrow(/could not be used/);
  });
});
