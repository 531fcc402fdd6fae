// The replies' store and their poster, the same on both engines: reply-poster.test.ts runs this
// on a SQLite file, src/store/postgres/pg-replies-table.pg.test.ts on a real PostgreSQL.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { InboundPoster } from "../../inbound/poster.js";
import { createLogger } from "../../observability/logger.js";
import type { RepliesStore } from "../../store/replies-table.js";
import { ReplyPoster } from "./reply-poster.js";

export interface OpenedReplies {
  table: RepliesStore;
  /** The replies given up, by their delivery, with the reason kept. */
  givenUp(): Promise<Array<{ jobId: string; error: string }>>;
  close(): Promise<void>;
}

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

export function replyPosterContract(engine: string, open: () => Promise<OpenedReplies>): void {
  describe(`replies on ${engine}: stored once per delivery, posted once in order`, () => {
    let opened: OpenedReplies;
    let table: RepliesStore;
    beforeEach(async () => {
      opened = await open();
      table = opened.table;
    });
    afterEach(async () => opened.close());

    it("stores a second answer to the same delivery not again", async () => {
      expect(await table.insertIfNew(reply("msg_1"))).toBe(true);
      expect(await table.insertIfNew(reply("msg_1", [{ body: "other" }]))).toBe(false);
      const pending = await table.pending();
      expect(pending).toHaveLength(1);
      expect(pending[0]).toMatchObject({ jobId: "msg_1", hookId: "ep_1", roomId: "!r:x", eventId: "$e", posted: 0, parts: [{ body: "a" }, { body: "b" }] });
    });

    it("lists pending replies oldest first, up to the limit", async () => {
      for (const id of ["msg_c", "msg_a", "msg_b"]) await table.insertIfNew(reply(id));
      expect((await table.pending(2)).map((r) => r.jobId)).toEqual(["msg_c", "msg_a"]);
    });

    it("posts each part in order in the reply's room, with a transaction id from the delivery, and marks it done", async () => {
      await table.insertIfNew(reply("msg_1"));
      const { poster, sent } = fakePoster();
      const replies = new ReplyPoster({ table, poster, ghostOf: () => hook, log: createLogger("silent") });
      replies.kick();
      await replies.idle();
      expect(sent).toEqual([
        { roomId: "!r:x", content: { body: "a" }, txnId: "msg_1.0" },
        { roomId: "!r:x", content: { body: "b" }, txnId: "msg_1.1" },
      ]);
      expect(await table.pending()).toEqual([]);
    });

    it("keeps a reply while the homeserver is down and resumes at the part it stopped at", async () => {
      await table.insertIfNew(reply("msg_1"));
      const down = Object.assign(new Error("down"), { statusCode: 502 });
      const { poster, sent } = fakePoster((n) => (n === 2 ? down : null));
      const replies = new ReplyPoster({ table, poster, ghostOf: () => hook, log: createLogger("silent") });
      replies.kick();
      await replies.idle();
      expect((await table.pending())[0]).toMatchObject({ posted: 1 });
      replies.kick();
      await replies.idle();
      await replies.stop();
      expect(sent.map((s) => s.txnId)).toEqual(["msg_1.0", "msg_1.1"]);
      expect(await table.pending()).toEqual([]);
    });

    it("gives up a reply the room refuses, and one whose hook is gone, without blocking the next", async () => {
      await table.insertIfNew(reply("msg_1"));
      await table.insertIfNew({ ...reply("msg_2"), hookId: "ep_gone" });
      await table.insertIfNew(reply("msg_3", [{ body: "c" }]));
      const forbidden = Object.assign(new Error("no\0"), { statusCode: 403, errcode: "M_FORBIDDEN" });
      const { poster, sent } = fakePoster((n) => (n === 1 ? forbidden : null));
      const replies = new ReplyPoster({ table, poster, ghostOf: (id) => (id === "ep_1" ? hook : null), log: createLogger("silent") });
      replies.kick();
      await replies.idle();
      expect(sent.map((s) => s.txnId)).toEqual(["msg_3.0"]);
      expect(await table.pending()).toEqual([]);
      const errors = await opened.givenUp();
      expect(errors.map((e) => e.jobId)).toEqual(["msg_1", "msg_2"]);
      expect(errors[1]!.error).toMatch(/hook was removed/);
    });

    it("prunes replies done before the cutoff, never pending ones", async () => {
      await table.insertIfNew(reply("msg_done"), 1_000);
      await table.insertIfNew(reply("msg_open"), 1_000);
      const [done] = await table.pending();
      await table.partPosted(done!.id, 2, true, 2_000);
      expect(await table.prune(1_500)).toBe(0);
      expect(await table.prune(2_500)).toBe(1);
      expect((await table.pending()).map((r) => r.jobId)).toEqual(["msg_open"]);
    });

    it("a store that fails is logged and tried again later; the reply is not lost", async () => {
      await table.insertIfNew(reply("msg_1", [{ body: "a" }]));
      let failures = 1;
      const flaky: RepliesStore = {
        insertIfNew: (r, now) => table.insertIfNew(r, now),
        pending: async (limit) => {
          if (failures-- > 0) throw new Error("connection terminated");
          return table.pending(limit);
        },
        partPosted: (id, posted, done, now) => table.partPosted(id, posted, done, now),
        giveUp: (id, error, now) => table.giveUp(id, error, now),
        prune: (cutoff) => table.prune(cutoff),
      };
      const logged: string[] = [];
      const log = createLogger("silent");
      const errorLog = log.error.bind(log);
      log.error = ((obj: unknown, msg?: string) => {
        logged.push(String(msg));
        return errorLog(obj as object, msg);
      }) as typeof log.error;
      const { poster, sent } = fakePoster();
      const replies = new ReplyPoster({ table: flaky, poster, ghostOf: () => hook, log });
      replies.kick();
      await replies.idle();
      expect(logged).toEqual(["could not read or update the stored replies; trying again later"]);
      expect(sent).toEqual([]);
      replies.kick(); // the retry timer would do this after 1 s
      await replies.idle();
      await replies.stop();
      expect(sent.map((s) => s.txnId)).toEqual(["msg_1.0"]);
    });
  });
}
