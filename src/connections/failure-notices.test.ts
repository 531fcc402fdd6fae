import { NO_FILTER } from "../outbound/hook-filter.js";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { classifyFailure } from "../delivery/failure-category.js";
import type { AttemptFailure } from "../delivery/targets.js";
import { DirectMessenger } from "../matrix/direct-messenger.js";
import type { MatrixPort } from "../matrix/port.js";
import { RoomNotifier } from "../matrix/room-notifier.js";
import { createLogger } from "../observability/logger.js";
import { BridgeMetrics } from "../observability/metrics.js";
import { openDatabase, type Db } from "../store/database.js";
import { DmRoomsTable } from "../store/dm-rooms-table.js";
import { OutboundHooksTable } from "../store/outbound-hooks-table.js";
import { SigningKeysTable } from "../store/signing-keys-table.js";
import type { FailureNoticeSettings } from "./failure-notices.js";
import { OutboundDeliveryTargets } from "./outbound-delivery-targets.js";
import { OutboundHookRegistry } from "./outbound-hook-registry.js";
import { HookTls } from "./hook-tls.js";
import { LastFailures } from "./last-failures.js";
import { HookTlsTable } from "../store/hook-tls-table.js";

const log = createLogger("silent");
const key = randomBytes(32);
const ROOM = "!room:x";
const URL_WITH_SECRET = "https://ci.example:8443/hooks/build?token=s3cr3t";
const refused: AttemptFailure = {
  category: classifyFailure({ result: { kind: "network", error: "connect ECONNREFUSED" }, error: "ECONNREFUSED: connect ECONNREFUSED 10.1.2.3:8443", code: "ECONNREFUSED" }),
  attempt: 1,
  url: URL_WITH_SECRET,
};
const nthAttempt = (attempt: number): AttemptFailure => ({ ...refused, attempt });

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** What the bridge would have sent: room notices and DMs, in order. */
interface Sent {
  roomId: string;
  text: string;
}

/** A bridge's delivery targets over a real SQLite file; Matrix is a recorder. */
function bridgeOn(path: string, settings: FailureNoticeSettings = { afterAttempts: 3, toOwner: true }, shared?: { changed: (hookId: string) => void }) {
  const db: Db = openDatabase(path);
  const sent: Sent[] = [];
  let dmRooms = 0;
  const matrix = {
    botUserId: "@bot:x",
    sendNotice: async (roomId: string, text: string) => {
      sent.push({ roomId, text });
      return `$${sent.length}`;
    },
    createDirectRoom: async () => `!dm${++dmRooms}:x`,
    membership: async () => "join",
  } as unknown as MatrixPort;
  const hooks = new OutboundHooksTable(db, key, shared?.changed, shared !== undefined);
  const { hook } = hooks.ensure(ROOM, "ci", "@owner:x", 1);
  const registry = new OutboundHookRegistry();
  registry.set({ kind: "hook", id: hook.id, roomId: ROOM, name: "ci", url: URL_WITH_SECRET, urls: [URL_WITH_SECRET], method: "PUT", ordering: "none", format: null, filter: NO_FILTER, contentType: "form", callback: null, tlsProfile: null, batch: null });
  const metrics = new BridgeMetrics({ defaultMetrics: false });
  const targets = new OutboundDeliveryTargets(registry, hooks, new SigningKeysTable(db, key), new RoomNotifier(matrix, log), log, {
    metrics,
    messenger: new DirectMessenger(matrix, new DmRoomsTable(db), log),
    failureNotices: settings,
    tls: new HookTls(new HookTlsTable(db, key), new Map()),
    lastFailures: new LastFailures(),
  });
  // Notices made while one was on its way share a message (CoalescingSender): one entry per notice.
  const notices = async (inRoom: boolean) => {
    await settle();
    return sent.filter((s) => (s.roomId === ROOM) === inRoom).flatMap((s) => s.text.split("\n\n"));
  };
  const roomNotices = () => notices(true);
  const dms = () => notices(false);
  return { db, hooks, targets, hookId: hook.id, sent, roomNotices, dms, metrics, close: () => db.close() };
}

function storePath(): string {
  const dir = mkdtempSync(join(tmpdir(), "mwb-notices-"));
  dirs.push(dir);
  return join(dir, "bridge.db");
}

/** DMs go out after a homeserver round trip (the DM room is looked up first). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe("failure notices", () => {
  it("tells the room once, after the threshold, naming the cause and the host only", async () => {
    const bridge = bridgeOn(storePath());
    bridge.targets.recordFailure(bridge.hookId, 1000, nthAttempt(1));
    bridge.targets.recordFailure(bridge.hookId, 2000, nthAttempt(2));
    expect((await bridge.roomNotices())).toEqual([]);
    bridge.targets.recordFailure(bridge.hookId, 3000, nthAttempt(3));
    for (let i = 0; i < 20; i++) bridge.targets.recordFailure(bridge.hookId, 4000 + i, nthAttempt(1));
    // An outage outlasts any notice period: still the one notice.
    for (const later of [11 * 60_000, 3_600_000, 86_400_000]) bridge.targets.recordFailure(bridge.hookId, later, nthAttempt(1));
    const notices = (await bridge.roomNotices());
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/^Outbound hook "ci" cannot deliver: connection refused \(ECONNREFUSED\) at https:\/\/ci\.example:8443\. The receiver's host answered/);
    expect(notices[0]).toContain("3 attempts in a row failed");
    expect(notices[0]).not.toMatch(/hooks\/build|s3cr3t/);
    bridge.close();
  });

  it("tells the room once more when a delivery gets through, with how many waited", async () => {
    const bridge = bridgeOn(storePath());
    bridge.targets.recordFailure(bridge.hookId, 1000, nthAttempt(1));
    bridge.targets.recordFailure(bridge.hookId, 2000, nthAttempt(1));
    bridge.targets.recordFailure(bridge.hookId, 3000, nthAttempt(2));
    bridge.targets.recordFailure(bridge.hookId, 4000, nthAttempt(3));
    bridge.targets.recordSuccess(bridge.hookId);
    bridge.targets.recordSuccess(bridge.hookId);
    const notices = (await bridge.roomNotices());
    expect(notices).toHaveLength(2);
    expect(notices[1]).toMatch(/^Outbound hook "ci" delivers again to https:\/\/ci\.example:8443 after \d+ (s|minutes?|hours?|days?); 2 deliveries waited \(4 failed attempts\)\.$/);
    bridge.close();
  });

  it("says nothing about failures below the threshold, nor about their end", async () => {
    const bridge = bridgeOn(storePath());
    for (let round = 0; round < 5; round++) {
      bridge.targets.recordFailure(bridge.hookId, 1000 + round, nthAttempt(1));
      bridge.targets.recordFailure(bridge.hookId, 2000 + round, nthAttempt(2));
      bridge.targets.recordSuccess(bridge.hookId);
    }
    expect((await bridge.roomNotices())).toEqual([]);
    bridge.close();
  });

  it("starts a new episode after a recovery (once the notifier's period is over)", async () => {
    const bridge = bridgeOn(storePath());
    const period = 10 * 60_000;
    for (const start of [0, period + 1]) {
      for (let i = 1; i <= 3; i++) bridge.targets.recordFailure(bridge.hookId, start + i, nthAttempt(i));
      bridge.targets.recordSuccess(bridge.hookId);
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
    const bridge = bridgeOn(storePath());
    for (const start of [0, 60_000]) {
      for (let i = 1; i <= 3; i++) bridge.targets.recordFailure(bridge.hookId, start + i, nthAttempt(i));
      bridge.targets.recordSuccess(bridge.hookId);
    }
    expect((await bridge.roomNotices())).toHaveLength(2);
    bridge.close();
  });

  it("keeps the episode across a restart: no second notice, and the recovery is still told", async () => {
    const path = storePath();
    const first = bridgeOn(path);
    for (let i = 1; i <= 4; i++) first.targets.recordFailure(first.hookId, i * 1000, nthAttempt(i));
    expect(await first.roomNotices()).toHaveLength(1);
    first.close();

    const second = bridgeOn(path);
    for (let i = 1; i <= 5; i++) second.targets.recordFailure(second.hookId, 10_000 + i, nthAttempt(i));
    expect(await second.roomNotices()).toEqual([]);
    second.targets.recordSuccess(second.hookId);
    expect(await second.roomNotices()).toHaveLength(1);
    expect((await second.roomNotices())[0]).toMatch(/delivers again .*; 2 deliveries waited \(9 failed attempts\)\.$/);
    second.close();

    // And the recovery is not told twice: the next start finds the hook healthy.
    const third = bridgeOn(path);
    third.targets.recordSuccess(third.hookId);
    expect(await third.roomNotices()).toEqual([]);
    third.close();
  });

  it("tells the room once when two processes deliver for the hook (bridge.role), and its recovery once", async () => {
    const path = storePath();
    // Each process's "changed" reaches the other, as the change feed does.
    let a: ReturnType<typeof bridgeOn> | null = null;
    let b: ReturnType<typeof bridgeOn> | null = null;
    a = bridgeOn(path, undefined, { changed: (id) => b?.hooks.forgetCached(id) });
    b = bridgeOn(path, undefined, { changed: (id) => a?.hooks.forgetCached(id) });
    for (let i = 1; i <= 5; i++) {
      a.targets.recordFailure(a.hookId, i * 1000, nthAttempt(i));
      b.targets.recordFailure(b.hookId, i * 1000 + 500, nthAttempt(i));
    }
    const failing = [...(await a.roomNotices()), ...(await b.roomNotices())];
    expect(failing).toHaveLength(1);
    expect(failing[0]).toMatch(/^Outbound hook "ci" cannot deliver/);
    expect([...(await a.dms()), ...(await b.dms())]).toHaveLength(1);
    // Both get through again: one recovery notice between them.
    b.targets.recordSuccess(b.hookId);
    a.targets.recordSuccess(a.hookId);
    const all = [...(await a.roomNotices()), ...(await b.roomNotices())];
    expect(all.filter((t) => /delivers again/.test(t))).toHaveLength(1);
    // A new outage after the recovery is told again (once).
    for (let i = 1; i <= 3; i++) {
      a.targets.recordFailure(a.hookId, 20 * 60_000 + i, nthAttempt(i));
      b.targets.recordFailure(b.hookId, 20 * 60_000 + i, nthAttempt(i));
    }
    const later = [...(await a.roomNotices()), ...(await b.roomNotices())];
    expect(later.filter((t) => /cannot deliver/.test(t))).toHaveLength(2);
    a.close();
    b.close();
  });

  it("shared: a notice the notifier holds back (within its period) claims nothing in the file and tells no other process", async () => {
    const announced: string[] = [];
    const a = bridgeOn(storePath(), undefined, { changed: (id) => announced.push(id) });
    const noticeAt = () => (a.db.prepare("SELECT failure_notice_at AS at FROM outbound_hooks").get() as { at: number | null }).at;
    for (let i = 1; i <= 3; i++) a.targets.recordFailure(a.hookId, 1000 + i, nthAttempt(i));
    expect(noticeAt()).toBe(1003);
    a.targets.recordSuccess(a.hookId);
    expect(noticeAt()).toBeNull();
    expect(announced).toHaveLength(2); // told, ended
    // Failing again a minute later: held back, so the file stays untold and nobody is told of a change.
    for (let i = 1; i <= 5; i++) a.targets.recordFailure(a.hookId, 61_000 + i, nthAttempt(i));
    expect(noticeAt()).toBeNull();
    expect(announced).toHaveLength(2);
    expect((await a.roomNotices()).filter((t) => /cannot deliver/.test(t))).toHaveLength(1);
    a.close();
  });

  it("counts failures below the threshold across a restart", async () => {
    const path = storePath();
    const first = bridgeOn(path);
    first.targets.recordFailure(first.hookId, 1000, nthAttempt(1));
    first.targets.recordFailure(first.hookId, 2500, nthAttempt(2));
    first.close();
    const second = bridgeOn(path);
    second.targets.recordFailure(second.hookId, 3000, nthAttempt(3));
    expect(await second.roomNotices()).toHaveLength(1);
    second.close();
  });

  it("writes the counts to the file at most once a second, the start and the notice at once", async () => {
    const bridge = bridgeOn(storePath(), { afterAttempts: 4, toOwner: false });
    const stored = () => bridge.db.prepare("SELECT consecutive_failures AS n, failure_notice_at AS noticedAt FROM outbound_hooks").get();
    bridge.targets.recordFailure(bridge.hookId, 1000, nthAttempt(1));
    bridge.targets.recordFailure(bridge.hookId, 1001, nthAttempt(1));
    bridge.targets.recordFailure(bridge.hookId, 1002, nthAttempt(1));
    expect(stored()).toEqual({ n: 1, noticedAt: null });
    bridge.targets.recordFailure(bridge.hookId, 1003, nthAttempt(1));
    expect(stored()).toEqual({ n: 4, noticedAt: 1003 });
    bridge.targets.recordFailure(bridge.hookId, 1500, nthAttempt(1));
    expect(stored()).toEqual({ n: 4, noticedAt: 1003 });
    bridge.targets.recordFailure(bridge.hookId, 2100, nthAttempt(1));
    expect(stored()).toEqual({ n: 6, noticedAt: 1003 });
    bridge.targets.recordSuccess(bridge.hookId);
    expect(stored()).toEqual({ n: 0, noticedAt: null });
    expect((await bridge.roomNotices())[1]).toMatch(/6 deliveries waited \(6 failed attempts\)/);
    bridge.close();
  });

  it("also tells the user who added the hook, by DM, naming the room", async () => {
    const bridge = bridgeOn(storePath());
    for (let i = 1; i <= 3; i++) bridge.targets.recordFailure(bridge.hookId, i, nthAttempt(i));
    bridge.targets.recordSuccess(bridge.hookId);
    await settle();
    expect((await bridge.dms())).toEqual((await bridge.roomNotices()).map((text) => `In ${ROOM}: ${text}`));
    expect(bridge.sent.filter((s) => s.roomId !== ROOM).map((s) => s.roomId)).toEqual(["!dm1:x", "!dm1:x"]);
    bridge.close();
  });

  it("sends no DM when the config says so", async () => {
    const bridge = bridgeOn(storePath(), { afterAttempts: 1, toOwner: false });
    bridge.targets.recordFailure(bridge.hookId, 1, nthAttempt(1));
    await settle();
    expect((await bridge.roomNotices())).toHaveLength(1);
    expect((await bridge.dms())).toEqual([]);
    bridge.close();
  });

  it("sends none at all with a threshold of 0, and writes nothing per failure", async () => {
    const bridge = bridgeOn(storePath(), { afterAttempts: 0, toOwner: true });
    for (let i = 1; i <= 10; i++) bridge.targets.recordFailure(bridge.hookId, i, nthAttempt(i));
    bridge.targets.recordSuccess(bridge.hookId);
    expect(bridge.sent).toEqual([]);
    expect(bridge.db.prepare("SELECT consecutive_failures FROM outbound_hooks").get()).toEqual({ consecutive_failures: 0 });
    bridge.close();
  });

  it("counts failed attempts by category and malformed replies", async () => {
    const bridge = bridgeOn(storePath());
    bridge.targets.recordFailure(bridge.hookId, 1, nthAttempt(1));
    bridge.targets.recordFailure(bridge.hookId, 2, { ...refused, category: classifyFailure({ result: { kind: "response", status: 503 }, error: null }) });
    bridge.targets.recordFailure(bridge.hookId, 3, { ...refused, category: classifyFailure({ result: { kind: "timeout" }, error: "no answer within 10000 ms" }) });
    bridge.targets.recordFailure(bridge.hookId, 4, nthAttempt(2));
    const text = await bridge.metrics.registry.metrics();
    expect(text).toContain('webhook_bridge_delivery_failures_total{category="connection-refused"} 2');
    expect(text).toContain('webhook_bridge_delivery_failures_total{category="http-status"} 1');
    expect(text).toContain('webhook_bridge_delivery_failures_total{category="timeout"} 1');
    bridge.close();
  });
});

describe("malformed replies", () => {
  it("are counted each time and told to the room once per period", async () => {
    const bridge = bridgeOn(storePath());
    bridge.targets.malformedReply(bridge.hookId, "the answer is not JSON (at https://ci.example/x?token=s3cr3t)");
    bridge.targets.malformedReply(bridge.hookId, "text is not a string");
    expect((await bridge.roomNotices())).toEqual([
      'Outbound hook "ci" got a reply it could not use from https://ci.example:8443 (response not parseable): the receiver\'s answer could not be used: ' +
        "the answer is not JSON (at https://ci.example). Nothing was posted for it; the delivery counts as delivered.",
    ]);
    expect(await bridge.metrics.registry.metrics()).toContain("webhook_bridge_reply_malformed_total 2");
    // A malformed reply is still a delivery: it starts no failure episode.
    bridge.targets.recordSuccess(bridge.hookId);
    expect((await bridge.roomNotices())).toHaveLength(1);
    bridge.close();
  });
});
