import { afterEach, describe, expect, it } from "vitest";
import { leftInSqliteQueue } from "./open-queue.js";
import { closeQueueOnFile, ok, openQueueOnFile, TS, type QueueOnFile } from "./queue-test-fixtures.js";

let opened: QueueOnFile | null = null;
afterEach(async () => {
  if (opened) await closeQueueOnFile(opened);
  opened = null;
});

describe("work left in the SQLite queue when the engine is switched to postgres", () => {
  it("counts pending deliveries and follow-ups, and nothing once they are done", async () => {
    opened = openQueueOnFile("mwb-left-");
    const { db, queue } = opened;
    expect(leftInSqliteQueue(db)).toEqual({ deliveries: 0, followUps: 0 });
    const command = { eventId: "$c1", event: JSON.stringify({ event_id: "$c1", type: "m.room.message", content: { body: "!hooks help" } }) };
    await queue.storeTransaction({ txnId: "t1", eventIds: ["$e1", "$c1"], messages: [{ eventId: "$e1", originTs: TS, roomId: "!r:x", body: '{"event_id":"$e1"}', hookIds: ["ep_a", "ep_b"] }], followUps: [command] });
    expect(leftInSqliteQueue(db)).toEqual({ deliveries: 2, followUps: 1 });
    for (const job of await queue.claimDue(10, { now: Date.now(), leaseMs: 1000 })) queue.complete(job, ok);
    await queue.followUpDone("$c1");
    await queue.flush();
    expect(leftInSqliteQueue(db)).toEqual({ deliveries: 0, followUps: 0 });
  });
});
