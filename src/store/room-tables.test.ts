// The room tables' contract on SQLite: a second instance on the same file is another process.
import { openDatabase } from "./database.js";
import { AcceptedHooksTable } from "./accepted-hooks-table.js";
import { RoomSnapshotsTable } from "./room-snapshots-table.js";
import { acceptedHooksContract, roomSnapshotsContract } from "./room-tables.contract.js";

acceptedHooksContract("SQLite", async (changed) => {
  const db = openDatabase(":memory:");
  return {
    table: new AcceptedHooksTable(db, changed),
    other: async (otherChanged) => new AcceptedHooksTable(db, otherChanged),
    writeRawContent: async (roomId, eventType, stateKey, content) =>
      void db.prepare("INSERT INTO accepted_hook_state (room_id, event_type, state_key, event_id, content) VALUES (?, ?, ?, NULL, ?)").run(roomId, eventType, stateKey, content),
  };
});

roomSnapshotsContract("SQLite", async () => {
  const db = openDatabase(":memory:");
  return {
    table: new RoomSnapshotsTable(db),
    other: async () => new RoomSnapshotsTable(db),
    writeRawState: async (roomId, state) =>
      void db.prepare("INSERT INTO room_snapshots (room_id, state, saved_at) VALUES (?, ?, 0) ON CONFLICT (room_id) DO UPDATE SET state = excluded.state").run(roomId, state),
  };
});
