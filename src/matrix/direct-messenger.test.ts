import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../store/database.js";
import { DmRoomsTable } from "../store/dm-rooms-table.js";
import { directMessengerContract } from "./direct-messenger.contract.js";

directMessengerContract("SQLite", async () => {
  const dir = mkdtempSync(join(tmpdir(), "mwb-dm-"));
  const path = join(dir, "bridge.db");
  const [a, b] = [openDatabase(path), openDatabase(path)];
  return {
    rooms: new DmRoomsTable(a),
    other: new DmRoomsTable(b),
    close: async () => {
      a.close();
      b.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
