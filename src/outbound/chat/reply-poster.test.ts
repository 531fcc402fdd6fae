import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../../store/database.js";
import { RepliesTable } from "../../store/replies-table.js";
import { replyPosterContract } from "./reply-poster.contract.js";

replyPosterContract("SQLite", async () => {
  const dir = mkdtempSync(join(tmpdir(), "mwb-replies-"));
  const db = openDatabase(join(dir, "bridge.db"));
  return {
    table: new RepliesTable(db),
    givenUp: async () => (db.prepare("SELECT job_id AS jobId, error FROM replies WHERE error IS NOT NULL ORDER BY id").all() as Array<{ jobId: string; error: string }>),
    close: async () => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
