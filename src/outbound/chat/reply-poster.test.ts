import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { InboundPoster } from "../../inbound/poster.js";
import { createLogger } from "../../observability/logger.js";
import { openDatabase, type Db } from "../../store/database.js";
import { RepliesTable } from "../../store/replies-table.js";
import { ReplyPoster } from "./reply-poster.js";

let dir: string;
let db: Db;
let table: RepliesTable;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "mwb-replies-"));
  db = openDatabase(join(dir, "bridge.db"));
  table = new RepliesTable(db);
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const hook = { id: "ep_1", roomId: "!home:x", name: "ci", avatar: null };
const reply = (jobId: string, parts = [{ body: "a" }, { body: "b" }]) => ({ jobId, hookId: "ep_1", roomId: "!r:x", eventId: "$e", parts });

/** Records what would be sent; `fail` decides per call whether the homeserver refuses. */
function fakePoster(fail: (n: number) => unknown = () => null) {
  const sent: Array<{ roomId: string; content: Record<string, unknown>; txnId: string | undefined }> = [];
  let calls = 0;
  const poster = {
    async post(h: { roomId: string }, content: Record<string, unknown>, txnId?: string) {
      const err = fail(++calls);
      if (err) throw err;
      sent.push({ roomId: h.roomId, content, txnId });
      return `$sent${calls}`;
    },
  } as unknown as InboundPoster;
  return { poster, sent };
}

describe("replies: stored once per delivery, posted once in order", () => {
  it("stores a second answer to the same delivery not again", () => {
    expect(table.insertIfNew(reply("msg_1"))).toBe(true);
    expect(table.insertIfNew(reply("msg_1", [{ body: "other" }]))).toBe(false);
    expect(table.pending()).toHaveLength(1);
    expect(table.pending()[0]!.parts).toEqual([{ body: "a" }, { body: "b" }]);
  });

  it("posts each part in order in the reply's room, with a transaction id from the delivery, and marks it done", async () => {
    table.insertIfNew(reply("msg_1"));
    const { poster, sent } = fakePoster();
    const replies = new ReplyPoster({ table, poster, ghostOf: () => hook, log: createLogger("silent") });
    replies.kick();
    await replies.idle();
    expect(sent).toEqual([
      { roomId: "!r:x", content: { body: "a" }, txnId: "msg_1.0" },
      { roomId: "!r:x", content: { body: "b" }, txnId: "msg_1.1" },
    ]);
    expect(table.pending()).toEqual([]);
  });

  it("keeps a reply while the homeserver is down and resumes at the part it stopped at", async () => {
    table.insertIfNew(reply("msg_1"));
    const down = Object.assign(new Error("down"), { statusCode: 502 });
    const { poster, sent } = fakePoster((n) => (n === 2 ? down : null));
    const replies = new ReplyPoster({ table, poster, ghostOf: () => hook, log: createLogger("silent") });
    replies.kick();
    await replies.idle();
    expect(table.pending()[0]).toMatchObject({ posted: 1 });
    replies.kick();
    await replies.idle();
    await replies.stop();
    expect(sent.map((s) => s.txnId)).toEqual(["msg_1.0", "msg_1.1"]);
    expect(table.pending()).toEqual([]);
  });

  it("gives up a reply the room refuses, and one whose hook is gone, without blocking the next", async () => {
    table.insertIfNew(reply("msg_1"));
    table.insertIfNew({ ...reply("msg_2"), hookId: "ep_gone" });
    table.insertIfNew(reply("msg_3", [{ body: "c" }]));
    const forbidden = Object.assign(new Error("no"), { statusCode: 403, errcode: "M_FORBIDDEN" });
    const { poster, sent } = fakePoster((n) => (n === 1 ? forbidden : null));
    const replies = new ReplyPoster({ table, poster, ghostOf: (id) => (id === "ep_1" ? hook : null), log: createLogger("silent") });
    replies.kick();
    await replies.idle();
    expect(sent.map((s) => s.txnId)).toEqual(["msg_3.0"]);
    expect(table.pending()).toEqual([]);
    const errors = db.prepare("SELECT job_id, error FROM replies WHERE error IS NOT NULL ORDER BY id").all() as Array<{ job_id: string; error: string }>;
    expect(errors.map((e) => e.job_id)).toEqual(["msg_1", "msg_2"]);
    expect(errors[1]!.error).toMatch(/hook was removed/);
  });
});
