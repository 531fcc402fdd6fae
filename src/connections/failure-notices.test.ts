import { mkdtempSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { classifyFailure } from "../delivery/failure-category.js";
import { openDatabase } from "../store/database.js";
import { DmRoomsTable } from "../store/dm-rooms-table.js";
import { openOutboundHookRecords } from "../store/outbound-hook-records.js";
import type { FailureNoticeSettings } from "./failure-notices.js";
import { nthAttempt, refused, ROOM, settle, targetsOver } from "./failure-notices.fixture.js";

// The notices of one process on the SQLite engine; those of several processes sharing a hook are
// in failure-notices.pg.test.ts.

const key = randomBytes(32);
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A bridge's delivery targets over a real SQLite file. */
async function bridgeOn(path: string, settings?: FailureNoticeSettings) {
  const db = openDatabase(path);
  const records = await openOutboundHookRecords({ db, pool: null }, key, () => undefined);
  return { ...(await targetsOver(records, new DmRoomsTable(db), settings)), db, close: () => db.close() };
}

function storePath(): string {
  const dir = mkdtempSync(join(tmpdir(), "mwb-notices-"));
  dirs.push(dir);
  return join(dir, "bridge.db");
}

describe("failure notices", () => {
  it("tells the room once, after the threshold, naming the cause and the host only", async () => {
    const bridge = await bridgeOn(storePath());
    await bridge.fail(1000, nthAttempt(1));
    await bridge.fail(2000, nthAttempt(2));
    expect((await bridge.roomNotices())).toEqual([]);
    await bridge.fail(3000, nthAttempt(3));
    for (let i = 0; i < 20; i++) await bridge.fail(4000 + i, nthAttempt(1));
    // An outage outlasts any notice period: still the one notice.
    for (const later of [11 * 60_000, 3_600_000, 86_400_000]) await bridge.fail(later, nthAttempt(1));
    const notices = (await bridge.roomNotices());
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/^Outbound hook "ci" cannot deliver: connection refused \(ECONNREFUSED\) at https:\/\/ci\.example:8443\. The receiver's host answered/);
    expect(notices[0]).toContain("3 attempts in a row failed");
    expect(notices[0]).not.toMatch(/hooks\/build|s3cr3t/);
    bridge.close();
  });

  it("tells the room once more when a delivery gets through, with how many waited", async () => {
    const bridge = await bridgeOn(storePath());
    await bridge.fail(1000, nthAttempt(1));
    await bridge.fail(2000, nthAttempt(1));
    await bridge.fail(3000, nthAttempt(2));
    await bridge.fail(4000, nthAttempt(3));
    await bridge.succeed();
    await bridge.succeed();
    const notices = (await bridge.roomNotices());
    expect(notices).toHaveLength(2);
    expect(notices[1]).toMatch(/^Outbound hook "ci" delivers again to https:\/\/ci\.example:8443 after \d+ (s|minutes?|hours?|days?); 2 deliveries waited \(4 failed attempts\)\.$/);
    bridge.close();
  });

  it("says nothing about failures below the threshold, nor about their end", async () => {
    const bridge = await bridgeOn(storePath());
    for (let round = 0; round < 5; round++) {
      await bridge.fail(1000 + round, nthAttempt(1));
      await bridge.fail(2000 + round, nthAttempt(2));
      await bridge.succeed();
    }
    expect((await bridge.roomNotices())).toEqual([]);
    bridge.close();
  });

  it("starts a new episode after a recovery (once the notifier's period is over)", async () => {
    const bridge = await bridgeOn(storePath());
    const period = 10 * 60_000;
    for (const start of [0, period + 1]) {
      for (let i = 1; i <= 3; i++) await bridge.fail(start + i, nthAttempt(i));
      await bridge.succeed();
    }
    expect((await bridge.roomNotices()).map((t) => t.split(":")[0])).toEqual([
      'Outbound hook "ci" cannot deliver',
      'Outbound hook "ci" delivers again to https',
      'Outbound hook "ci" cannot deliver',
      'Outbound hook "ci" delivers again to https',
    ]);
    bridge.close();
  });

  it("holds back a flapping hook's second failure notice within the period, and then its recovery notice too", async () => {
    const bridge = await bridgeOn(storePath());
    for (const start of [0, 60_000]) {
      for (let i = 1; i <= 3; i++) await bridge.fail(start + i, nthAttempt(i));
      await bridge.succeed();
    }
    expect((await bridge.roomNotices())).toHaveLength(2);
    bridge.close();
  });

  it("keeps the episode across a restart: no second notice, and the recovery is still told", async () => {
    const path = storePath();
    const first = await bridgeOn(path);
    for (let i = 1; i <= 4; i++) await first.fail(i * 1000, nthAttempt(i));
    expect(await first.roomNotices()).toHaveLength(1);
    first.close();

    const second = await bridgeOn(path);
    for (let i = 1; i <= 5; i++) await second.fail(10_000 + i, nthAttempt(i));
    expect(await second.roomNotices()).toEqual([]);
    await second.succeed();
    expect(await second.roomNotices()).toHaveLength(1);
    expect((await second.roomNotices())[0]).toMatch(/delivers again .*; 2 deliveries waited \(9 failed attempts\)\.$/);
    second.close();

    // And the recovery is not told twice: the next start finds the hook healthy.
    const third = await bridgeOn(path);
    await third.succeed();
    expect(await third.roomNotices()).toEqual([]);
    third.close();
  });

  it("counts failures below the threshold across a restart", async () => {
    const path = storePath();
    const first = await bridgeOn(path);
    await first.fail(1000, nthAttempt(1));
    await first.fail(2500, nthAttempt(2));
    first.close();
    const second = await bridgeOn(path);
    await second.fail(3000, nthAttempt(3));
    expect(await second.roomNotices()).toHaveLength(1);
    second.close();
  });

  it("writes the counts to the file at most once a second, the start and the notice at once", async () => {
    const bridge = await bridgeOn(storePath(), { afterAttempts: 4, toOwner: false });
    const stored = () => bridge.db.prepare("SELECT consecutive_failures AS n, failure_notice_at AS noticedAt FROM outbound_hooks").get();
    await bridge.fail(1000, nthAttempt(1));
    await bridge.fail(1001, nthAttempt(1));
    await bridge.fail(1002, nthAttempt(1));
    expect(stored()).toEqual({ n: 1, noticedAt: null });
    await bridge.fail(1003, nthAttempt(1));
    expect(stored()).toEqual({ n: 4, noticedAt: 1003 });
    await bridge.fail(1500, nthAttempt(1));
    expect(stored()).toEqual({ n: 4, noticedAt: 1003 });
    await bridge.fail(2100, nthAttempt(1));
    expect(stored()).toEqual({ n: 6, noticedAt: 1003 });
    await bridge.succeed();
    expect(stored()).toEqual({ n: 0, noticedAt: null });
    expect((await bridge.roomNotices())[1]).toMatch(/6 deliveries waited \(6 failed attempts\)/);
    bridge.close();
  });

  it("also tells the user who added the hook, by DM, naming the room", async () => {
    const bridge = await bridgeOn(storePath());
    for (let i = 1; i <= 3; i++) await bridge.fail(i, nthAttempt(i));
    await bridge.succeed();
    await settle();
    expect((await bridge.dms())).toEqual((await bridge.roomNotices()).map((text) => `In ${ROOM}: ${text}`));
    expect(bridge.sent.filter((s) => s.roomId !== ROOM).map((s) => s.roomId)).toEqual(["!dm1:x", "!dm1:x"]);
    bridge.close();
  });

  it("sends no DM when the config says so", async () => {
    const bridge = await bridgeOn(storePath(), { afterAttempts: 1, toOwner: false });
    await bridge.fail(1, nthAttempt(1));
    await settle();
    expect((await bridge.roomNotices())).toHaveLength(1);
    expect((await bridge.dms())).toEqual([]);
    bridge.close();
  });

  it("sends none at all with a threshold of 0, and writes nothing per failure", async () => {
    const bridge = await bridgeOn(storePath(), { afterAttempts: 0, toOwner: true });
    for (let i = 1; i <= 10; i++) await bridge.fail(i, nthAttempt(i));
    await bridge.succeed();
    expect(bridge.sent).toEqual([]);
    expect(bridge.db.prepare("SELECT consecutive_failures FROM outbound_hooks").get()).toEqual({ consecutive_failures: 0 });
    bridge.close();
  });

  it("counts failed attempts by category and malformed replies", async () => {
    const bridge = await bridgeOn(storePath());
    await bridge.fail(1, nthAttempt(1));
    await bridge.fail(2, { ...refused, category: classifyFailure({ result: { kind: "response", status: 503 }, error: null }) });
    await bridge.fail(3, { ...refused, category: classifyFailure({ result: { kind: "timeout" }, error: "no answer within 10000 ms" }) });
    await bridge.fail(4, nthAttempt(2));
    const text = await bridge.metrics.registry.metrics();
    expect(text).toContain('webhook_bridge_delivery_failures_total{category="connection-refused"} 2');
    expect(text).toContain('webhook_bridge_delivery_failures_total{category="http-status"} 1');
    expect(text).toContain('webhook_bridge_delivery_failures_total{category="timeout"} 1');
    bridge.close();
  });
});

describe("malformed replies", () => {
  it("are counted each time and told to the room once per period", async () => {
    const bridge = await bridgeOn(storePath());
    bridge.targets.malformedReply(bridge.hookId, "the answer is not JSON (at https://ci.example/x?token=s3cr3t)");
    bridge.targets.malformedReply(bridge.hookId, "text is not a string");
    expect((await bridge.roomNotices())).toEqual([
      'Outbound hook "ci" got a reply it could not use from https://ci.example:8443 (response not parseable): the receiver\'s answer could not be used: ' +
        "the answer is not JSON (at https://ci.example). Nothing was posted for it; the delivery counts as delivered.",
    ]);
    expect(await bridge.metrics.registry.metrics()).toContain("webhook_bridge_reply_malformed_total 2");
    // A malformed reply is still a delivery: it starts no failure episode.
    await bridge.succeed();
    expect((await bridge.roomNotices())).toHaveLength(1);
    bridge.close();
  });
});
