import { describe, expect, it } from "vitest";
import { createLogger } from "../observability/logger.js";
import { AcceptedHooksTable } from "../store/accepted-hooks-table.js";
import { openDatabase } from "../store/database.js";
import { RoomFollower } from "./room-follower.js";

const TYPE = "uk.half-shot.matrix-hookshot.outbound-hook";

function setup() {
  const db = openDatabase(":memory:");
  const followed: string[] = [];
  // The other process's writes, on the same file.
  const other = new AcceptedHooksTable(db);
  const follower = new RoomFollower({ accepted: new AcceptedHooksTable(db), followers: [{ followRoom: (roomId) => void followed.push(roomId) }], log: createLogger("silent") });
  return { other, follower, followed };
}

describe("RoomFollower", () => {
  it("follows at start every room with accepted hooks, and before routing only the rooms another process changed since", async () => {
    const { other, follower, followed } = setup();
    await other.accept("!a:x", TYPE, "ci", "$1", { name: "ci", url: "https://example.org" });
    await other.accept("!b:x", TYPE, "ci", "$2", { name: "ci", url: "https://example.org" });
    expect(await follower.loadAll()).toBe(2);
    expect(followed.sort()).toEqual(["!a:x", "!b:x"]);
    followed.length = 0;
    await follower.catchUp(["!a:x", "!b:x", "!none:x"]);
    expect(followed).toEqual([]);
    await other.accept("!b:x", TYPE, "ci", "$3", { name: "ci", url: "https://example.org/2" });
    await follower.catchUp(["!a:x", "!b:x"]);
    expect(followed).toEqual(["!b:x"]);
    // The same state again changes nothing (no new version).
    await other.accept("!b:x", TYPE, "ci", "$3", { name: "ci", url: "https://example.org/2" });
    await follower.catchUp(["!b:x"]);
    expect(followed).toEqual(["!b:x"]);
  });

  it("gives each room's version as last followed (0 for one never followed), for a store that checks them", async () => {
    const { other, follower } = setup();
    await other.accept("!a:x", TYPE, "ci", "$1", { name: "ci", url: "https://example.org" });
    await other.accept("!a:x", TYPE, "ci", "$2", { name: "ci", url: "https://example.org/2" });
    await follower.loadAll();
    // Changed by the other process since: the version stays the one followed until a catch-up.
    await other.accept("!a:x", TYPE, "ci", "$3", { name: "ci", url: "https://example.org/3" });
    expect(follower.versionsSeen(["!a:x", "!none:x", "!a:x"])).toEqual(new Map([["!a:x", 2], ["!none:x", 0]]));
    await follower.catchUp(["!a:x"]);
    expect(follower.versionsSeen(["!a:x"])).toEqual(new Map([["!a:x", 3]]));
  });

  it("does not follow what this process wrote itself, and after a resync follows a room whose hooks all went", async () => {
    const { other, follower, followed } = setup();
    await other.accept("!a:x", TYPE, "ci", "$1", { name: "ci", url: "https://example.org" });
    await follower.loadAll();
    followed.length = 0;
    await other.accept("!a:x", TYPE, "ci", "$2", { name: "ci", url: "https://example.org/2" });
    follower.noteOwnChange("!a:x", await other.version("!a:x"));
    await follower.catchUp(["!a:x"]);
    expect(followed).toEqual([]);
    await other.forgetRoom("!a:x");
    expect(await follower.loadAll()).toBe(0);
    expect(followed).toEqual(["!a:x"]);
  });

  it("at start, a room whose follow fails is logged and followed again later; the other rooms are followed all the same", async () => {
    const db = openDatabase(":memory:");
    const other = new AcceptedHooksTable(db);
    for (let i = 0; i < 30; i++) await other.accept(`!r${i}:x`, TYPE, "ci", `$${i}`, { name: "ci", url: "https://example.org" });
    const followed = new Set<string>();
    let storeDown = true;
    const follower = new RoomFollower({
      accepted: new AcceptedHooksTable(db),
      followers: [{
        followRoom: async (roomId) => {
          await new Promise((resolve) => setTimeout(resolve, 1));
          if (storeDown && roomId === "!r3:x") throw new Error("the store could not be used");
          followed.add(roomId);
        },
      }],
      log: createLogger("silent"),
    });
    expect(await follower.loadAll()).toBe(30);
    expect(followed.size).toBe(29);
    expect(followed.has("!r3:x")).toBe(false);
    storeDown = false;
    await follower.catchUp(["!r3:x", "!r4:x"]); // unseen, so followed now; !r4 was seen
    expect(followed.has("!r3:x")).toBe(true);
  });
});
