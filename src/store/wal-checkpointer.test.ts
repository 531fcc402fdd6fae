import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase } from "./database.js";
import { WalCheckpointer } from "./wal-checkpointer.js";

describe("WalCheckpointer (real SQLite file, real worker thread)", () => {
  const dir = mkdtempSync(join(tmpdir(), "mwb-wal-"));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("copies committed pages into the database file while the writer only commits", async () => {
    const path = join(dir, "bridge.db");
    const db = openDatabase(path);
    const errors: string[] = [];
    const checkpointer = WalCheckpointer.start(db, { intervalMs: 20, onError: (m) => errors.push(m) });
    try {
      expect(db.pragma("wal_autocheckpoint", { simple: true })).toBe(20_000);
      const before = statSync(path).size;
      db.exec("CREATE TABLE filler (data BLOB)");
      const insert = db.prepare("INSERT INTO filler VALUES (randomblob(4000))");
      db.transaction(() => {
        for (let i = 0; i < 500; i++) insert.run();
      })();
      // Without a checkpoint the rows live only in the WAL; the database file grows once one ran.
      let size = before;
      for (let i = 0; i < 100 && size < before + 1_000_000; i++) {
        await new Promise((r) => setTimeout(r, 50));
        size = statSync(path).size;
      }
      expect(size).toBeGreaterThan(before + 1_000_000);
      expect(errors).toEqual([]);
    } finally {
      await checkpointer.stop();
      db.close();
    }
  });
});
