// What every engine's inbound tables must do, run against SQLite (unit project) and PostgreSQL
// (postgres project). Each test opens fresh storage through the factory; `other` is a second
// instance on the same storage, as another process would have (PostgreSQL: its own pool).
import { describe, expect, it } from "vitest";
import type { InboundDeliveriesStore } from "./inbound-deliveries-table.js";
import { isInboundSecretShape } from "./inbound-hook-secret.js";
import type { InboundHooksStore } from "./inbound-hooks-table.js";
import type { InboundPostsStore } from "./inbound-posts-table.js";

export interface HooksFixture {
  hooks: InboundHooksStore;
  /** Another instance on the same storage and key; `changed` hears its GitHub secret changes. */
  other(changed?: (hookId: string) => void): Promise<InboundHooksStore>;
  /** Every column of every row, as stored. */
  rawRows(): Promise<Array<Record<string, unknown>>>;
}

export interface TablesFixture<T> {
  table: T;
  other(): Promise<T>;
}

const holds = (value: unknown, secret: string): boolean =>
  Buffer.isBuffer(value) ? value.includes(Buffer.from(secret)) : String(value).includes(secret);

export function inboundHooksContract(engine: string, open: (changed?: (hookId: string) => void) => Promise<HooksFixture>): void {
  describe(`InboundHooksStore on ${engine}`, () => {
    it("creates a 128-bit URL secret once and finds the hook by it; the store keeps only a hash", async () => {
      const { hooks, rawRows } = await open();
      const { hook, newSecret } = await hooks.ensure("!r:x", "ci", "@a:x", 1_000);
      expect(newSecret && isInboundSecretShape(newSecret)).toBe(true);
      expect(Buffer.from(newSecret!, "base64url")).toHaveLength(16);
      expect(hook).toEqual({ id: expect.stringMatching(/^ih_[0-9a-f]{16}$/), roomId: "!r:x", name: "ci", createdBy: "@a:x", createdAt: 1_000, hasGithubSecret: false });
      const again = await hooks.ensure("!r:x", "ci", "@b:x");
      expect(again.newSecret).toBeUndefined();
      expect(again.hook).toEqual(hook);
      expect((await hooks.bySecret(newSecret!))?.id).toBe(hook.id);
      expect(await hooks.bySecret("not-the-secret")).toBeNull();
      expect(await hooks.find("!r:x", "ci")).toEqual(hook);
      expect(await hooks.find("!other:x", "ci")).toBeNull();
      expect(await hooks.byId(hook.id)).toEqual(hook);
      const rows = await rawRows();
      expect(rows).toHaveLength(1);
      for (const value of Object.values(rows[0]!)) expect(holds(value, newSecret!)).toBe(false);
    });

    it("rotates (old secret dead), renames (same id; false when the name is taken) and removes", async () => {
      const { hooks } = await open();
      await hooks.ensure("!r:x", "ci", "@a:x");
      const { hook, newSecret: old } = await hooks.ensure("!r:x", "deploy", "@a:x");
      const fresh = await hooks.rotate(hook.id);
      expect(fresh).not.toBe(old);
      expect(await hooks.bySecret(old!)).toBeNull();
      expect((await hooks.bySecret(fresh))?.id).toBe(hook.id);
      expect(await hooks.rename(hook.id, "ci")).toBe(false);
      expect(await hooks.rename(hook.id, "release")).toBe(true);
      expect((await hooks.find("!r:x", "release"))?.id).toBe(hook.id);
      expect(await hooks.find("!r:x", "deploy")).toBeNull();
      await hooks.remove(hook.id);
      expect(await hooks.bySecret(fresh)).toBeNull();
      expect(await hooks.byId(hook.id)).toBeNull();
      await expect(hooks.rotate(hook.id)).rejects.toThrow(/No inbound hook/);
      await expect(hooks.rename(hook.id, "x")).rejects.toThrow(/No inbound hook/);
    });

    it("lists a room's hooks by name", async () => {
      const { hooks } = await open();
      for (const name of ["b", "a", "C"]) await hooks.ensure("!r:x", name, "@a:x");
      await hooks.ensure("!s:x", "z", "@a:x");
      expect((await hooks.forRoom("!r:x")).map((h) => h.name)).toEqual(["C", "a", "b"]);
      expect(await hooks.forRoom("!none:x")).toEqual([]);
    });

    it("keeps the GitHub secret sealed; another instance reads it", async () => {
      const { hooks, other, rawRows } = await open();
      const { hook } = await hooks.ensure("!r:x", "gh", "@a:x");
      expect(await hooks.githubSecret(hook.id)).toBeNull();
      await hooks.setGithubSecret(hook.id, "gh-secret-value");
      expect(await (await other()).githubSecret(hook.id)).toBe("gh-secret-value");
      for (const value of Object.values((await rawRows())[0]!)) expect(holds(value, "gh-secret-value")).toBe(false);
      expect((await hooks.byId(hook.id))?.hasGithubSecret).toBe(true);
      await hooks.setGithubSecret(hook.id, null);
      expect((await hooks.byId(hook.id))?.hasGithubSecret).toBe(false);
      expect(await (await other()).githubSecret(hook.id)).toBeNull();
    });

    it("announces a GitHub secret change, and another instance reads it again once told", async () => {
      const changed: string[] = [];
      const { hooks: a, other } = await open((id) => changed.push(id));
      const b = await other();
      const { hook } = await a.ensure("!r:x", "gh", "@u:x");
      expect(await b.githubSecret(hook.id)).toBeNull();
      await a.setGithubSecret(hook.id, "s3cret");
      expect(changed).toEqual([hook.id]);
      expect(await b.githubSecret(hook.id)).toBeNull();
      b.forgetCached(hook.id);
      expect(await b.githubSecret(hook.id)).toBe("s3cret");
      await a.setGithubSecret(hook.id, null);
      b.forgetAllCached();
      expect(await b.githubSecret(hook.id)).toBeNull();
    });

    it("a secret read that raced a change is not kept in memory", async () => {
      const { hooks: a, other } = await open();
      const b = await other();
      const { hook } = await a.ensure("!r:x", "gh", "@u:x");
      await a.setGithubSecret(hook.id, "old");
      const reading = b.githubSecret(hook.id);
      b.forgetCached(hook.id); // a change notice arriving while the read runs
      await reading;
      await a.setGithubSecret(hook.id, "new");
      expect(await b.githubSecret(hook.id)).toBe("new");
    });

    it("two instances creating the same hooks at once end with one hook each and one URL secret", async () => {
      const { hooks: a, other, rawRows } = await open();
      const b = await other();
      const names = Array.from({ length: 20 }, (_, i) => `hook-${i}`);
      const results = await Promise.all(names.flatMap((name) => [a.ensure("!r:x", name, "@a:x"), b.ensure("!r:x", name, "@b:x")]));
      for (let i = 0; i < names.length; i++) {
        const [x, y] = [results[2 * i]!, results[2 * i + 1]!];
        expect(x.hook.id).toBe(y.hook.id);
        expect([x.newSecret, y.newSecret].filter((s) => s !== undefined)).toHaveLength(1);
        expect((await a.bySecret((x.newSecret ?? y.newSecret)!))?.id).toBe(x.hook.id);
      }
      expect(await rawRows()).toHaveLength(names.length);
    });

    it("two instances renaming two hooks to one name at once: one wins, the other hears it is taken", async () => {
      const { hooks: a, other } = await open();
      const b = await other();
      const first = (await a.ensure("!r:x", "one", "@a:x")).hook;
      const second = (await a.ensure("!r:x", "two", "@a:x")).hook;
      const renamed = await Promise.all([a.rename(first.id, "same"), b.rename(second.id, "same")]);
      expect(renamed.filter(Boolean)).toHaveLength(1);
      expect((await a.forRoom("!r:x")).map((h) => h.name).sort()).toEqual(renamed[0] ? ["same", "two"] : ["one", "same"]);
    });
  });
}

type NewPost = Parameters<InboundPostsStore["store"]>[0];
const post = (hookId: string, deliveryKey: string | null = null, parts: NewPost["parts"] = [{ body: "text" }]): NewPost => ({ hookId, roomId: "!r:x", deliveryKey, parts });

export function inboundPostsContract(engine: string, open: () => Promise<TablesFixture<InboundPostsStore>>): void {
  describe(`InboundPostsStore on ${engine}`, () => {
    it("stores a post once per delivery id: a redelivery, from this instance or another, gets the stored one", async () => {
      const { table, other } = await open();
      const first = await table.store(post("ih_1", "gh-1", [{ body: "a" }, { body: "b" }]), 5_000);
      expect(first.created).toBe(true);
      expect(first.post).toEqual({
        seq: expect.any(Number), id: expect.stringMatching(/^ip_[A-Za-z0-9_-]{22}$/), hookId: "ih_1", roomId: "!r:x", deliveryKey: "gh-1",
        parts: [{ body: "a" }, { body: "b" }], posted: 0, eventIds: [], state: "queued", error: null, errorKind: null, createdAt: 5_000,
      });
      const again = await (await other()).store(post("ih_1", "gh-1", [{ body: "changed" }]));
      expect(again).toEqual({ post: first.post, created: false });
      // Another hook's delivery id, and posts without one, are their own.
      expect((await table.store(post("ih_2", "gh-1"))).created).toBe(true);
      const bare = [await table.store(post("ih_1")), await table.store(post("ih_1"))];
      expect(bare.every((b) => b.created)).toBe(true);
      expect(bare[0]!.post.id).not.toBe(bare[1]!.post.id);
      expect(await table.byId(first.post.id)).toEqual(first.post);
      expect(await table.byId("ip_unknown")).toBeNull();
    });

    it("two instances storing the same delivery at once store one post", async () => {
      const { table, other } = await open();
      const b = await other();
      const keys = Array.from({ length: 20 }, (_, i) => `key-${i}`);
      const results = await Promise.all(keys.flatMap((key) => [table.store(post("ih_1", key)), b.store(post("ih_1", key))]));
      for (let i = 0; i < keys.length; i++) {
        const [x, y] = [results[2 * i]!, results[2 * i + 1]!];
        expect(x.post.id).toBe(y.post.id);
        expect([x.created, y.created].filter(Boolean)).toHaveLength(1);
      }
      expect(await table.pendingCount()).toBe(keys.length);
    });

    it("gives each hook's pending posts in the order stored, and the hooks waiting longest first", async () => {
      const { table, other } = await open();
      const a1 = (await table.store(post("ih_a"))).post;
      const b1 = (await table.store(post("ih_b"))).post;
      const a2 = (await table.store(post("ih_a"))).post;
      expect(a1.seq < b1.seq && b1.seq < a2.seq).toBe(true);
      expect(await table.hooksWithPending()).toEqual(["ih_a", "ih_b"]);
      expect(await table.hooksWithPending(1)).toEqual(["ih_a"]);
      expect((await table.next("ih_a"))?.id).toBe(a1.id);
      await table.finish(a1, "posted");
      expect((await (await other()).next("ih_a"))?.id).toBe(a2.id);
      expect(await table.hooksWithPending()).toEqual(["ih_b", "ih_a"]);
      await table.finish(a2, "dropped");
      await table.finish(b1, "expired");
      expect(await table.hooksWithPending()).toEqual([]);
      expect(await table.next("ih_a")).toBeNull();
    });

    it("records each part posted and the end, which empties the parts and keeps the reason (at most 1000 characters)", async () => {
      const { table, other } = await open();
      const { post: stored } = await table.store(post("ih_1", null, [{ body: "one" }, { body: "two" }]));
      await table.partPosted(stored, "$one");
      expect(stored).toMatchObject({ posted: 1, eventIds: ["$one"] });
      expect(await (await other()).byId(stored.id)).toMatchObject({ posted: 1, eventIds: ["$one"], state: "queued", parts: [{ body: "one" }, { body: "two" }] });
      await table.finish(stored, "refused", { kind: "bad_request", reason: "x".repeat(1200) }, 9_000);
      expect(stored).toMatchObject({ state: "refused", errorKind: "bad_request", error: "x".repeat(1000) });
      expect(await table.byId(stored.id)).toMatchObject({ posted: 1, eventIds: ["$one"], state: "refused", errorKind: "bad_request", error: "x".repeat(1000), parts: [] });
      const { post: done } = await table.store(post("ih_1"));
      await table.finish(done, "posted");
      expect(await table.byId(done.id)).toMatchObject({ state: "posted", error: null, errorKind: null });
    });

    it("postedWith gives the event ids of the hook's post whose first part is the event, else none", async () => {
      const { table } = await open();
      const { post: stored } = await table.store(post("ih_1", null, [{ body: "text" }, { body: "file" }]));
      await table.partPosted(stored, "$text");
      await table.partPosted(stored, "$file");
      await table.finish(stored, "posted");
      expect(await table.postedWith("ih_1", "$text")).toEqual(["$text", "$file"]);
      expect(await table.postedWith("ih_2", "$text")).toEqual([]);
      // Only a post's first part names it; an id that is a prefix of another names nothing.
      expect(await table.postedWith("ih_1", "$file")).toEqual([]);
      expect(await table.postedWith("ih_1", "$tex")).toEqual([]);
      expect(await table.postedWith("ih_1", '$text","$file')).toEqual([]);
      expect(await table.postedWith("ih_1", "%")).toEqual([]);
    });

    it("counts the posts not done, and prunes only done posts older than the cutoff", async () => {
      const { table } = await open();
      const old = (await table.store(post("ih_1"), 1_000)).post;
      const recent = (await table.store(post("ih_1"), 1_000)).post;
      const pending = (await table.store(post("ih_1"), 1_000)).post;
      expect(await table.pendingCount()).toBe(3);
      await table.finish(old, "posted", null, 2_000);
      await table.finish(recent, "posted", null, 4_000);
      expect(await table.pendingCount()).toBe(1);
      expect(await table.prune(3_000)).toBe(1);
      expect(await table.byId(old.id)).toBeNull();
      expect(await table.byId(recent.id)).not.toBeNull();
      expect(await table.byId(pending.id)).not.toBeNull();
      expect(await table.prune(3_000)).toBe(0);
    });
  });
}

export function inboundDeliveriesContract(engine: string, open: () => Promise<TablesFixture<InboundDeliveriesStore>>): void {
  describe(`InboundDeliveriesStore on ${engine}`, () => {
    it("remembers a delivery's first event per hook, for every instance, and prunes by age", async () => {
      const { table, other } = await open();
      expect(await table.eventFor("ih_1", "gh-1")).toBeNull();
      await table.remember("ih_1", "gh-1", "$first", 1_000);
      await table.remember("ih_1", "gh-1", "$second", 1_500);
      await table.remember("ih_1", "gh-2", "$later", 5_000);
      const b = await other();
      expect(await b.eventFor("ih_1", "gh-1")).toBe("$first");
      expect(await b.eventFor("ih_2", "gh-1")).toBeNull();
      expect(await table.prune(2_000)).toBe(1);
      expect(await table.eventFor("ih_1", "gh-1")).toBeNull();
      expect(await table.eventFor("ih_1", "gh-2")).toBe("$later");
    });
  });
}
