import { describe, expect, it } from "vitest";
import { OUTBOUND_HOOK_EVENT_TYPE } from "../connections/outbound-hook-state.js";
import type { StateEvent } from "../matrix/port.js";
import { createLogger } from "../observability/logger.js";
import { openDatabase } from "../store/database.js";
import { RoomSnapshotsTable } from "../store/room-snapshots-table.js";
import { RoomSnapshots } from "./room-snapshots.js";

const hook = (url: string, id: string): StateEvent => ({ type: OUTBOUND_HOOK_EVENT_TYPE, state_key: "h", sender: "@a:x", content: { name: "h", url }, event_id: id });

function freshSnapshots() {
  const db = openDatabase(":memory:");
  return { db, snapshots: new RoomSnapshots(new RoomSnapshotsTable(db), createLogger("silent")) };
}

describe("RoomSnapshots", () => {
  it("keeps a live state event in a saved room, and ignores rooms it has not saved and types it does not keep", async () => {
    const { db, snapshots } = freshSnapshots();
    await snapshots.save("!a:x", [hook("http://old", "$1"), { type: "m.room.topic", state_key: "", sender: "@a:x", content: {} }]);
    await snapshots.noteLive("!a:x", hook("http://new", "$2"));
    await snapshots.noteLive("!b:x", hook("http://new", "$3"));
    expect(await snapshots.saved("!a:x")).toEqual([hook("http://new", "$2")]);
    expect(await snapshots.saved("!b:x")).toBeNull();
    db.close();
  });

  it("applies what the homeserver shows when it differs, but not when a live state event came while it read", async () => {
    const { db, snapshots } = freshSnapshots();
    for (const room of ["!same:x", "!stale:x", "!raced:x"]) await snapshots.save(room, [hook("http://saved", "$1")]);
    const applied: string[] = [];
    const differed = await snapshots.check(["!same:x", "!stale:x", "!raced:x"], async (roomId) => {
      if (roomId === "!same:x") return [hook("http://saved", "$1")];
      // A live change lands while this room is being read: what was read is older than it.
      if (roomId === "!raced:x") await snapshots.noteLive(roomId, hook("http://live", "$3"));
      return [hook("http://homeserver", "$2")];
    }, async (roomId) => void applied.push(roomId));
    expect(applied).toEqual(["!stale:x"]);
    expect(differed).toBe(1);
    expect(await snapshots.saved("!raced:x")).toEqual([hook("http://live", "$3")]);
    db.close();
  });

  it("leaves a room as saved when it cannot be read, and stops when asked", async () => {
    const { db, snapshots } = freshSnapshots();
    await snapshots.save("!a:x", [hook("http://saved", "$1")]);
    expect(await snapshots.check(["!a:x"], () => Promise.reject(new Error("503")), () => Promise.resolve())).toBe(0);
    snapshots.stop();
    let reads = 0;
    await snapshots.check(["!a:x"], async () => (reads++, []), () => Promise.resolve());
    expect(reads).toBe(0);
    db.close();
  });

  it("reads a room again when a live change comes while the check applies what it read, and saves only state no live change is newer than", async () => {
    const { db, snapshots } = freshSnapshots();
    await snapshots.save("!a:x", [hook("http://saved", "$1")]);
    let reads = 0;
    const applied: string[] = [];
    const differed = await snapshots.check(["!a:x"], async () => (++reads === 1 ? [hook("http://first-read", "$2")] : [hook("http://live", "$3")]), async (_roomId, state) => {
      applied.push(String(state[0]!.content.url));
      if (applied.length === 1) await snapshots.noteLive("!a:x", hook("http://live", "$3"));
    });
    // The second read matches what the live event saved: nothing more to apply.
    expect(applied).toEqual(["http://first-read"]);
    expect(reads).toBe(2);
    expect(differed).toBe(0);
    expect(await snapshots.saved("!a:x")).toEqual([hook("http://live", "$3")]);
    db.close();
  });

  it("drops a room's saved state when a state event it holds is redacted, and a saved row that is not state events", async () => {
    const { db, snapshots } = freshSnapshots();
    await snapshots.save("!a:x", [hook("http://saved", "$1")]);
    await snapshots.noteRedaction("!a:x", "$unrelated");
    expect(await snapshots.saved("!a:x")).not.toBeNull();
    await snapshots.noteRedaction("!a:x", "$1");
    expect(await snapshots.saved("!a:x")).toBeNull();
    db.prepare("INSERT INTO room_snapshots (room_id, state, saved_at) VALUES (?, ?, 0)").run("!b:x", "[null]");
    expect(await snapshots.saved("!b:x")).toBeNull();
    expect((await snapshots.savedRooms()).has("!b:x")).toBe(false);
    db.close();
  });

  it("gives up on a room whose state keeps changing after a few reads, leaving the newest live state applied", async () => {
    const { db, snapshots } = freshSnapshots();
    await snapshots.save("!a:x", [hook("http://saved", "$1")]);
    let n = 0;
    const applied: string[] = [];
    const differed = await snapshots.check(["!a:x"], async () => [hook(`http://read-${++n}`, `$r${n}`)], async (_roomId, state) => {
      applied.push(String(state[0]!.content.url));
      if (applied.length <= 3) await snapshots.noteLive("!a:x", hook(`http://live-${applied.length}`, `$l${applied.length}`));
    });
    expect(differed).toBe(0);
    expect(applied).toEqual(["http://read-1", "http://read-2", "http://read-3", "http://live-3"]);
    expect(await snapshots.saved("!a:x")).toEqual([hook("http://live-3", "$l3")]);
    db.close();
  });
});
