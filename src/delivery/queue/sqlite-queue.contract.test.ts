import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase, type Db } from "../../store/database.js";
import { describeQueueContract } from "./queue.contract.js";
import { SqliteDeliveryQueue } from "./sqlite-queue.js";

describeQueueContract("SQLite (real file)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "mwb-contract-"));
  const path = join(dir, "bridge.db");
  const open: Array<{ db: Db; queue: SqliteDeliveryQueue }> = [];
  const start = () => {
    const db = openDatabase(path);
    const queue = new SqliteDeliveryQueue(db);
    open.push({ db, queue });
    return queue;
  };
  return {
    queue: start(),
    async restart({ killed = false } = {}) {
      // One process per file: a killed process's leases vanish with it, so the file is simply reopened either way.
      const last = open[open.length - 1]!;
      if (!killed) {
        await last.queue.close();
        last.db.close();
      }
      return start();
    },
    async dispose() {
      for (const { db, queue } of open) {
        await queue.close().catch(() => undefined);
        if (db.open) db.close();
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
