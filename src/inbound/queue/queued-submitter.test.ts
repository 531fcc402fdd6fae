import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ActiveInboundHook } from "../../connections/inbound-hook-registry.js";
import { DEFAULT_INBOUND_PERMISSIONS } from "../../connections/inbound-permissions.js";
import { createLogger } from "../../observability/logger.js";
import { openDatabase, type Db } from "../../store/database.js";
import { InboundPostsTable } from "../../store/inbound-posts-table.js";
import { StoreUnavailableError } from "../../store/store-unavailable.js";
import { InboundError } from "../errors.js";
import { InboundPostWorker, type InboundPostWorkerDeps } from "./post-worker.js";
import { QueuedSubmitter } from "./queued-submitter.js";

let dir: string;
let path: string;
let db: Db;
let table: InboundPostsTable;
const running: InboundPostWorker[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "mwb-iposts-"));
  path = join(dir, "bridge.db");
  db = openDatabase(path);
  table = new InboundPostsTable(db);
});
afterEach(async () => {
  for (const worker of running.splice(0)) await worker.stop();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const hook = (id: string): ActiveInboundHook => ({ id, roomId: `!${id}:x`, name: id, avatar: null, msgtype: "m.notice", expiresAt: null, permissions: DEFAULT_INBOUND_PERMISSIONS });
const down = () => Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:8008"), { code: "ECONNREFUSED" });
const badJson = () => ({ statusCode: 400, body: { errcode: "M_BAD_JSON", error: "Content not JSON" } });
const text = (body: string) => ({ msgtype: "m.notice", body });

/** A homeserver the test switches between up, down and refusing; records what it took, with transaction ids. */
function homeserver() {
  const hs = {
    failure: null as null | (() => unknown),
    sent: [] as Array<{ roomId: string; body: unknown; txnId: string }>,
    /** Synapse's deduplication: the same transaction id gives the first event id and posts nothing. */
    byTxn: new Map<string, string>(),
    async post(h: { roomId: string }, content: Record<string, unknown>, txnId: string): Promise<string> {
      await Promise.resolve();
      if (hs.failure) throw hs.failure();
      const seen = hs.byTxn.get(txnId);
      if (seen) return seen;
      hs.sent.push({ roomId: h.roomId, body: content.body, txnId });
      const eventId = `$e${hs.sent.length}`;
      hs.byTxn.set(txnId, eventId);
      return eventId;
    },
  };
  return hs;
}

function setup(opts: { waitMs?: number; hooks?: Map<string, ActiveInboundHook | "gone" | "held">; concurrency?: number; poster?: InboundPostWorkerDeps["poster"] } = {}) {
  const hs = homeserver();
  const told: string[] = [];
  const outcomes: string[] = [];
  const worker = new InboundPostWorker({
    table,
    poster: opts.poster ?? hs,
    hookOf: (id) => opts.hooks?.get(id) ?? hook(id),
    concurrency: opts.concurrency ?? 4,
    giveUpAfterMs: 3_600_000,
    tellRoom: (post, reason) => told.push(`${post.id}: ${reason}`),
    onOutcome: (o) => outcomes.push(o),
    log: createLogger("silent"),
  });
  running.push(worker);
  const submitter = new QueuedSubmitter({ table, worker, waitMs: opts.waitMs ?? 10_000, log: createLogger("silent") });
  return { hs, worker, submitter, told, outcomes };
}

describe("queued inbound posting: stored first, posted in order per hook", () => {
  it("answers the event ids when the homeserver takes the post within the wait, each part with a transaction id from the post", async () => {
    const { hs, submitter } = setup();
    const submitted = await submitter.submit(hook("h1"), [text("message"), text("file")], { deliveryKey: null });
    expect(submitted).toEqual({ kind: "posted", eventIds: ["$e1", "$e2"] });
    const id = hs.sent[0]!.txnId.replace(/\.0$/, "");
    expect(id).toMatch(/^ip_[A-Za-z0-9_-]{22}$/);
    expect(hs.sent).toEqual([
      { roomId: "!h1:x", body: "message", txnId: `${id}.0` },
      { roomId: "!h1:x", body: "file", txnId: `${id}.1` },
    ]);
    expect(await table.byId(id)).toMatchObject({ state: "posted", eventIds: ["$e1", "$e2"], parts: [] });
    expect(await table.pendingCount()).toBe(0);
  });

  it("answers queued with the post's id while the homeserver is down, and posts every post in order once it is back", async () => {
    const { hs, worker, submitter, outcomes } = setup({ waitMs: 30 });
    hs.failure = down;
    const first = await submitter.submit(hook("h1"), [text("one")], { deliveryKey: null });
    const second = await submitter.submit(hook("h1"), [text("two")], { deliveryKey: null });
    expect(first).toMatchObject({ kind: "queued" });
    expect(second).toMatchObject({ kind: "queued" });
    expect(await table.pendingCount()).toBe(2);
    expect(worker.isHeld("h1")).toBe(true);
    hs.failure = null;
    worker.wake("h1");
    await worker.idle();
    expect(hs.sent.map((s) => s.body)).toEqual(["one", "two"]);
    expect(await table.byId((first as { id: string }).id)).toMatchObject({ state: "posted", eventIds: ["$e1"] });
    expect(await table.pendingCount()).toBe(0);
    expect(outcomes).toEqual(["posted", "posted"]);
  });

  it("keeps the order: a post of a hook with older posts waiting is queued behind them even when the homeserver is up again", async () => {
    const { hs, worker, submitter } = setup({ waitMs: 30 });
    hs.failure = down;
    await submitter.submit(hook("h1"), [text("old")], { deliveryKey: null });
    hs.failure = null;
    // The new post wakes the hook: the old one goes first, then the new one, within the wait.
    const next = await submitter.submit(hook("h1"), [text("new")], { deliveryKey: null });
    await worker.idle();
    expect(next).toEqual({ kind: "posted", eventIds: ["$e2"] });
    expect(hs.sent.map((s) => s.body)).toEqual(["old", "new"]);
  });

  it("answers a refusal of the content at once (4xx) and does not retry it; the hook's next post goes on", async () => {
    const { hs, worker, submitter, told, outcomes } = setup();
    hs.failure = badJson;
    const refused = submitter.submit(hook("h1"), [text("bad")], { deliveryKey: "k1" });
    await expect(refused).rejects.toBeInstanceOf(InboundError);
    await expect(refused).rejects.toMatchObject({ status: 400, kind: "bad_request" });
    hs.failure = null;
    expect(await submitter.submit(hook("h1"), [text("good")], { deliveryKey: null })).toEqual({ kind: "posted", eventIds: ["$e1"] });
    await worker.idle();
    expect(hs.sent.map((s) => s.body)).toEqual(["good"]);
    // The sender heard it: the room is not told.
    expect(told).toEqual([]);
    expect(outcomes).toEqual(["refused", "posted"]);
    // A redelivery of the refused post gets the same refusal and posts nothing.
    await expect(submitter.submit(hook("h1"), [text("bad")], { deliveryKey: "k1" })).rejects.toMatchObject({ status: 400 });
    expect(hs.sent).toHaveLength(1);
  });

  it("tells the room once when a post answered 202 is refused later, and posts the hook's later posts", async () => {
    const { hs, worker, submitter, told } = setup({ waitMs: 20 });
    hs.failure = down;
    const queued = await submitter.submit(hook("h1"), [text("too big")], { deliveryKey: null });
    await submitter.submit(hook("h1"), [text("after")], { deliveryKey: null });
    let calls = 0;
    hs.failure = () => (++calls === 1 ? { statusCode: 413, body: { errcode: "M_TOO_LARGE", error: "event too large" } } : null);
    const realPost = hs.post.bind(hs);
    hs.post = async (h, c, t) => {
      const err = hs.failure?.();
      if (err) throw err;
      const saved = hs.failure;
      hs.failure = null;
      try {
        return await realPost(h, c, t);
      } finally {
        hs.failure = saved;
      }
    };
    worker.wake("h1");
    await worker.idle();
    expect(told).toHaveLength(1);
    expect(told[0]).toContain((queued as { id: string }).id);
    expect(told[0]).toContain("M_TOO_LARGE");
    expect(hs.sent.map((s) => s.body)).toEqual(["after"]);
    expect(await table.byId((queued as { id: string }).id)).toMatchObject({ state: "refused", errorKind: "too_large" });
  });

  it("deduplicates by the sender's delivery id: a redelivery of a queued post answers its id, of a posted one its event ids, posting once", async () => {
    const { hs, worker, submitter } = setup({ waitMs: 20 });
    hs.failure = down;
    const first = await submitter.submit(hook("h1"), [text("once")], { deliveryKey: "gh-1" });
    const again = await submitter.submit(hook("h1"), [text("once")], { deliveryKey: "gh-1" });
    expect(again).toEqual(first);
    // The same delivery id on another hook is another post.
    const other = await submitter.submit(hook("h2"), [text("elsewhere")], { deliveryKey: "gh-1" });
    expect(other).not.toEqual(first);
    hs.failure = null;
    worker.wake("h1");
    worker.wake("h2");
    await worker.idle();
    expect(await submitter.submit(hook("h1"), [text("once")], { deliveryKey: "gh-1" })).toEqual({ kind: "posted", eventIds: ["$e1"] });
    expect(hs.sent.filter((s) => s.body === "once")).toHaveLength(1);
  });

  it("shares one post between identical requests at the same time", async () => {
    const { hs, submitter } = setup();
    const [a, b] = await Promise.all([
      submitter.submit(hook("h1"), [text("same")], { deliveryKey: "k" }),
      submitter.submit(hook("h1"), [text("same")], { deliveryKey: "k" }),
    ]);
    expect(a).toEqual(b);
    expect(hs.sent).toHaveLength(1);
  });

  it("resumes after a crash from the store file: a part already sent is sent again with its transaction id and posts nothing twice", async () => {
    const { hs, worker, submitter } = setup({ waitMs: 20 });
    hs.failure = down;
    const queued = (await submitter.submit(hook("h1"), [text("a"), text("b")], { deliveryKey: null })) as { id: string };
    await submitter.submit(hook("h1"), [text("c")], { deliveryKey: null });
    await worker.stop();
    // The previous run sent part 0 and died before recording it.
    hs.failure = null;
    hs.byTxn.set(`${queued.id}.0`, "$sent-before-crash");
    hs.sent.push({ roomId: "!h1:x", body: "a", txnId: `${queued.id}.0` });
    db.close();
    db = openDatabase(path);
    table = new InboundPostsTable(db);
    const restarted = setup();
    restarted.hs.byTxn = hs.byTxn;
    restarted.hs.sent = hs.sent;
    restarted.worker.start();
    await restarted.worker.idle();
    expect(hs.sent.map((s) => s.body)).toEqual(["a", "b", "c"]);
    expect(await table.byId(queued.id)).toMatchObject({ state: "posted", eventIds: ["$sent-before-crash", "$e2"] });
  });

  it("drops the posts of a hook that was removed, and posts other hooks'", async () => {
    const hooks = new Map<string, ActiveInboundHook | "gone" | "held">();
    const { hs, worker, submitter, told, outcomes } = setup({ waitMs: 20, hooks });
    hs.failure = down;
    const gone = (await submitter.submit(hook("h1"), [text("lost hook")], { deliveryKey: null })) as { id: string };
    await submitter.submit(hook("h2"), [text("kept")], { deliveryKey: null });
    hooks.set("h1", "gone");
    hs.failure = null;
    worker.wake("h1");
    worker.wake("h2");
    await worker.idle();
    expect(hs.sent.map((s) => s.body)).toEqual(["kept"]);
    expect(await table.byId(gone.id)).toMatchObject({ state: "dropped" });
    expect(told).toEqual([]);
    expect(outcomes.sort()).toEqual(["dropped", "posted"]);
  });

  it("holds a hook that is stored but not loaded yet, and posts once it is", async () => {
    const hooks = new Map<string, ActiveInboundHook | "gone" | "held">([["h1", "held"]]);
    const { hs, worker, submitter } = setup({ waitMs: 20, hooks });
    expect(await submitter.submit(hook("h1"), [text("early")], { deliveryKey: null })).toMatchObject({ kind: "queued" });
    expect(worker.isHeld("h1")).toBe(true);
    hooks.delete("h1");
    worker.wake("h1");
    await worker.idle();
    expect(hs.sent.map((s) => s.body)).toEqual(["early"]);
  });

  it("posts for at most `concurrency` hooks at the same time", async () => {
    const releases: Array<() => void> = [];
    let inFlight = 0;
    let most = 0;
    let released = 0;
    const poster = {
      post: () =>
        new Promise<string>((resolve) => {
          most = Math.max(most, ++inFlight);
          releases.push(() => {
            inFlight--;
            resolve(`$e${++released}`);
          });
        }),
    };
    const { worker, submitter } = setup({ waitMs: 0, concurrency: 2, poster });
    for (const id of ["h1", "h2", "h3", "h4"]) await submitter.submit(hook(id), [text(id)], { deliveryKey: null });
    for (let i = 0; i < 100 && released < 4; i++) {
      await new Promise((r) => setImmediate(r));
      for (const release of releases.splice(0)) release();
    }
    await worker.idle();
    expect(most).toBe(2);
    expect(await table.pendingCount()).toBe(0);
  });
});

describe("queued inbound posting while the store cannot be read", () => {
  it("reads the pending hooks again a second later, once at a time, and posts what was stored", async () => {
    const hs = homeserver();
    let storeDown = true;
    let reads = 0;
    const flaky = {
      next: (hookId: string) => table.next(hookId),
      partPosted: (post: Parameters<InboundPostsTable["partPosted"]>[0], eventId: string) => table.partPosted(post, eventId),
      finish: (...args: Parameters<InboundPostsTable["finish"]>) => table.finish(...args),
      hooksWithPending: async (limit?: number) => {
        reads++;
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (storeDown) throw new StoreUnavailableError(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" }));
        return table.hooksWithPending(limit);
      },
    };
    const worker = new InboundPostWorker({
      table: flaky, poster: hs, hookOf: (id) => hook(id), concurrency: 4, giveUpAfterMs: 3_600_000,
      tellRoom: () => undefined, log: createLogger("silent"),
    });
    running.push(worker);
    const submitter = new QueuedSubmitter({ table, worker, waitMs: 50, log: createLogger("silent") });
    expect(await submitter.submit(hook("h1"), [text("one")], { deliveryKey: null })).toMatchObject({ kind: "queued" });
    expect(reads).toBe(1);
    storeDown = false;
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    await worker.idle();
    expect(hs.sent.map((s) => s.body)).toEqual(["one"]);
    // Down again; woken again and again (new posts): one read now, and one more for the wakes during it, not one per wake.
    storeDown = true;
    expect(await submitter.submit(hook("h1"), [text("two")], { deliveryKey: null })).toMatchObject({ kind: "queued" });
    const before = reads;
    for (let i = 0; i < 5; i++) worker.wake("h1");
    await worker.idle();
    expect(reads - before).toBe(2);
    // A new post does not wait for the retry's timer.
    storeDown = false;
    worker.wake("h1");
    await worker.idle();
    expect(hs.sent.map((s) => s.body)).toEqual(["one", "two"]);
    expect(await table.pendingCount()).toBe(0);
  });
});
