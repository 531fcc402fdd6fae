// Opening the PostgreSQL queue over a SQLite file that a bridge on store.engine sqlite left work in.
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../observability/logger.js";
import { freshDatabase, postgresBridgeConfig } from "../../store/postgres/pg-test-fixtures.js";
import { MOVED_TABLES } from "../../store/postgres/sqlite-import.js";
import { openDeliveryQueue } from "./open-queue.js";
import { closeQueueOnFile, ok, openQueueOnFile, TS, type QueueOnFile } from "./queue-test-fixtures.js";

let opened: QueueOnFile | null = null;
afterEach(async () => {
  if (opened) await closeQueueOnFile(opened);
  opened = null;
});

async function importedTables(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ n: number }>("SELECT count(*)::int AS n FROM imported_tables")).rows[0]!.n;
  } finally {
    await client.end();
  }
}

describe("openDeliveryQueue on PostgreSQL with work left in the SQLite file", () => {
  it("refuses, with the counts, before copying anything; starts once the file's queue is done", async () => {
    opened = openQueueOnFile("mwb-switch-");
    const { db, queue } = opened;
    db.prepare("INSERT INTO dm_rooms (user_id, room_id) VALUES ('@admin:example.org', '!dm:example.org')").run();
    await queue.storeTransaction({ txnId: "t1", eventIds: ["$e1"], messages: [{ eventId: "$e1", originTs: TS, roomId: "!r:x", body: '{"event_id":"$e1"}', hookIds: ["ep_a"] }], followUps: [] });
    const url = await freshDatabase("switch");
    const config = postgresBridgeConfig(url);

    await expect(openDeliveryQueue(config, db, createLogger("silent"))).rejects.toThrow(/still has 1 pending deliveries and 0 commands .* Start with store\.engine: sqlite until they are done/);
    expect(await importedTables(url)).toBe(0);

    for (const job of await queue.claimDue(10, { now: Date.now(), leaseMs: 1000 })) queue.complete(job, ok);
    await queue.flush();
    const started = await openDeliveryQueue(config, db, createLogger("silent"));
    try {
      expect(await importedTables(url)).toBe(MOVED_TABLES.length);
      expect((await started.pool!.query("SELECT room_id FROM dm_rooms")).rows).toEqual([{ room_id: "!dm:example.org" }]);
    } finally {
      await started.close();
    }
  });
});
