import { describe, expect, it } from "vitest";
import { openDatabase } from "./database.js";
import { RoomSnapshotsTable } from "./room-snapshots-table.js";

describe("RoomSnapshotsTable", () => {
  it("saves, replaces, lists and forgets a room's state; a row that does not parse is dropped", () => {
    const db = openDatabase(":memory:");
    const table = new RoomSnapshotsTable(db);
    const event = { type: "m.room.create", state_key: "", sender: "@a:x", content: {} };
    table.save("!a:x", [event]);
    table.save("!b:x", []);
    table.save("!b:x", [event, event]);
    expect(table.get("!b:x")).toEqual([event, event]);
    expect([...table.roomIds()].sort()).toEqual(["!a:x", "!b:x"]);
    db.prepare("UPDATE room_snapshots SET state = 'not json' WHERE room_id = ?").run("!a:x");
    expect(table.get("!a:x")).toBeNull();
    expect([...table.roomIds()]).toEqual(["!b:x"]);
    table.remove("!b:x");
    expect(table.get("!b:x")).toBeNull();
    db.close();
  });
});
