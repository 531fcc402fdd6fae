// What every engine's outbound hook records (hooks, signing keys, TLS material) must do, run
// against SQLite (unit project) and PostgreSQL (postgres project). Each test opens fresh storage
// through the factory; `other` is a second instance on the same storage, as another process (or,
// on SQLite, this one after a restart) would have.
import { describe, expect, it } from "vitest";
import type { OutboundHookRecords } from "./outbound-hook-records.js";

export interface RecordsFixture {
  records: OutboundHookRecords;
  /** Another instance on the same storage and key. */
  other(): Promise<OutboundHookRecords>;
  /** Every column of every row of the table, as stored. */
  rawRows(table: "outbound_hooks" | "signing_keys" | "hook_tls"): Promise<Array<Record<string, unknown>>>;
  /** The hook ids this instance said it changed (SQLite: none, as no other process shares the file). */
  announced: string[];
}

const holds = (value: unknown, secret: string): boolean => Buffer.isBuffer(value) && value.includes(Buffer.from(secret));
const PEM = "-----BEGIN PRIVATE KEY-----\nsecret-bytes\n-----END PRIVATE KEY-----\n";

export function outboundHookRecordsContract(engine: string, open: () => Promise<RecordsFixture>): void {
  describe(`OutboundHooksStore on ${engine}`, () => {
    it("creates a hook's id and token once, per kind, and finds it by name and id; the token is sealed", async () => {
      const { records: { hooks }, rawRows } = await open();
      const made = await hooks.ensure("!r:x", "ci", "@a:x", 1_000);
      expect(made.hook).toEqual({
        id: expect.stringMatching(/^ep_[0-9a-f]{24}$/), roomId: "!r:x", kind: "hook", name: "ci", createdBy: "@a:x", createdAt: 1_000,
        suspendedAt: null, suspendedReason: null, failingSince: null,
      });
      expect(made.newToken).toMatch(/.{20,}/);
      const again = await hooks.ensure("!r:x", "ci", "@b:x");
      expect(again).toEqual({ hook: made.hook });
      const bot = await hooks.ensure("!r:x", "ci", "@a:x", 2_000, "bot");
      expect(bot.hook.id).toMatch(/^bt_/);
      expect(await hooks.find("!r:x", "ci")).toEqual(made.hook);
      expect((await hooks.find("!r:x", "ci", "bot"))?.id).toBe(bot.hook.id);
      expect(await hooks.find("!other:x", "ci")).toBeNull();
      expect(await hooks.byId(made.hook.id)).toEqual(made.hook);
      expect(await hooks.byId("ep_missing")).toBeNull();
      expect(hooks.token(made.hook.id)).toBe(made.newToken);
      for (const row of await rawRows("outbound_hooks")) expect(holds(row.token_enc, made.newToken!)).toBe(false);
    });

    it("another instance serves the tokens stored before it opened, and a refreshed one after reading the hook again", async () => {
      const { records: { hooks }, other, announced } = await open();
      const { hook, newToken } = await hooks.ensure("!r:x", "ci", "@a:x");
      const b = (await other()).hooks;
      expect(b.token(hook.id)).toBe(newToken);
      const fresh = await hooks.refreshToken(hook.id);
      expect(fresh).not.toBe(newToken);
      expect(hooks.token(hook.id)).toBe(fresh);
      await b.reload(hook.id);
      expect(b.token(hook.id)).toBe(fresh);
      if (announced.length > 0) expect(announced).toContain(hook.id);
      await expect(hooks.refreshToken("ep_missing")).rejects.toThrow(/No outbound hook/);
    });

    it("a hook found by another instance has its token at once", async () => {
      const { records: { hooks }, other } = await open();
      const b = (await other()).hooks;
      const { hook, newToken } = await hooks.ensure("!r:x", "late", "@a:x");
      expect((await b.find("!r:x", "late"))?.id).toBe(hook.id);
      expect(b.token(hook.id)).toBe(newToken);
    });

    it("suspends once (the first reason wins), resumes, and another instance sees both after reading again", async () => {
      const { records: { hooks }, other } = await open();
      const { hook } = await hooks.ensure("!r:x", "s", "@u:x");
      const b = (await other()).hooks;
      expect(await hooks.suspend(hook.id, "paused by @u:x", 5)).toBe(true);
      expect(await hooks.suspend(hook.id, "later reason", 6)).toBe(false);
      expect(await hooks.byId(hook.id)).toMatchObject({ suspendedAt: 5, suspendedReason: "paused by @u:x" });
      expect(hooks.suspendedIds().has(hook.id)).toBe(true);
      await b.reload(hook.id);
      expect(b.suspendedIds().has(hook.id)).toBe(true);
      await hooks.markFailing(hook.id, 7);
      expect(await hooks.resume(hook.id)).toBe(true);
      expect(await hooks.resume(hook.id)).toBe(false);
      expect(await hooks.byId(hook.id)).toMatchObject({ suspendedAt: null, suspendedReason: null, failingSince: null });
      await b.reload(hook.id);
      expect(b.suspendedIds().has(hook.id)).toBe(false);
      // Opened later: the suspended hooks are known from the start.
      await hooks.suspend(hook.id, "disabled: gone", 8);
      expect((await other()).hooks.suspendedIds().has(hook.id)).toBe(true);
    });

    it("tracks since when a hook fails: the first failure counts, a success ends it", async () => {
      const { records: { hooks } } = await open();
      const { hook } = await hooks.ensure("!r:x", "f", "@u:x");
      expect(await hooks.markHealthy(hook.id)).toBeNull();
      expect(await hooks.markFailing(hook.id, 100)).toBe(100);
      expect(await hooks.markFailing(hook.id, 200)).toBe(100);
      expect((await hooks.byId(hook.id))?.failingSince).toBe(100);
      expect(await hooks.markHealthy(hook.id)).toBe(100);
      expect(await hooks.markHealthy(hook.id)).toBeNull();
      expect(await hooks.markFailing(hook.id, 300)).toBe(300);
    });

    it("keeps a failure episode: counts, the notice, and its end, which is reported once", async () => {
      const { records: { hooks }, other } = await open();
      const { hook } = await hooks.ensure("!r:x", "e", "@u:x");
      expect(await hooks.failureEpisode(hook.id)).toEqual({ failedAttempts: 0, failedDeliveries: 0, noticedAt: null });
      expect(await hooks.endFailureEpisode(hook.id)).toBeNull();
      await hooks.saveFailureEpisode(hook.id, { failedAttempts: 3, failedDeliveries: 1, noticedAt: null });
      expect(await hooks.claimFailureNotice(hook.id, 50)).toBe(true);
      await hooks.saveFailureEpisode(hook.id, { failedAttempts: 4, failedDeliveries: 1, noticedAt: 50 });
      hooks.cacheFailureEpisode(hook.id, { failedAttempts: 5, failedDeliveries: 1, noticedAt: 50 });
      expect(await hooks.failureEpisode(hook.id)).toEqual({ failedAttempts: 5, failedDeliveries: 1, noticedAt: 50 });
      // What was written (not what was only cached) is what a restart, or another process, finds.
      expect(await (await other()).hooks.failureEpisode(hook.id)).toEqual({ failedAttempts: 4, failedDeliveries: 1, noticedAt: 50 });
      expect(await hooks.endFailureEpisode(hook.id)).toEqual({ failedAttempts: 5, failedDeliveries: 1, noticedAt: 50 });
      expect(await hooks.endFailureEpisode(hook.id)).toBeNull();
      expect(await (await other()).hooks.failureEpisode(hook.id)).toEqual({ failedAttempts: 0, failedDeliveries: 0, noticedAt: null });
    });

    it("removes a hook with its signing keys and TLS material; another instance drops it on reading again", async () => {
      const { records, other, rawRows } = await open();
      const { hook, newToken } = await records.hooks.ensure("!r:x", "gone", "@u:x");
      await records.signingKeys.rotate(hook.id, "whsec_x", 1000);
      await records.tls.set(hook.id, "cert", "c", "@u:x");
      const b = await other();
      expect(b.hooks.token(hook.id)).toBe(newToken);
      await records.hooks.remove(hook.id);
      records.tls.forget(hook.id);
      expect(records.hooks.token(hook.id)).toBeNull();
      expect(await records.hooks.find("!r:x", "gone")).toBeNull();
      expect(await rawRows("signing_keys")).toEqual([]);
      expect(await rawRows("hook_tls")).toEqual([]);
      await Promise.all([b.hooks.reload(hook.id), b.signingKeys.reload(hook.id), b.tls.reload(hook.id)]);
      expect(b.hooks.token(hook.id)).toBeNull();
      expect(b.signingKeys.active(hook.id)).toEqual([]);
      expect(b.tls.parts(hook.id).cert).toBeNull();
      // Made again under the same name: a new id and token.
      const again = await records.hooks.ensure("!r:x", "gone", "@u:x");
      expect(again.hook.id).not.toBe(hook.id);
      expect((await b.hooks.find("!r:x", "gone"))?.id).toBe(again.hook.id);
      expect(b.hooks.token(again.hook.id)).toBe(again.newToken);
    });

    it("reads every hook again at once (after the listener was away)", async () => {
      const { records: { hooks }, other } = await open();
      const [x, y] = [await hooks.ensure("!r:x", "x", "@u:x"), await hooks.ensure("!r:x", "y", "@u:x")];
      const b = (await other()).hooks;
      const fresh = await hooks.refreshToken(x.hook.id);
      await hooks.suspend(y.hook.id, "paused by @u:x");
      await b.reload();
      expect(b.token(x.hook.id)).toBe(fresh);
      expect(b.suspendedIds().has(y.hook.id)).toBe(true);
    });
  });

  describe(`SigningKeysStore on ${engine}`, () => {
    it("keeps the old secret signing during the grace period, newest first, and clears them all", async () => {
      const { records: { hooks, signingKeys } } = await open();
      const { hook } = await hooks.ensure("!r:x", "a", "@u:x");
      await signingKeys.rotate(hook.id, "whsec_old", 1000, 0);
      await signingKeys.rotate(hook.id, "whsec_new", 1000, 10);
      expect(signingKeys.active(hook.id, 20)).toEqual(["whsec_new", "whsec_old"]);
      expect(signingKeys.active(hook.id, 1010)).toEqual(["whsec_new"]);
      // Made at the same ms: the one made last is the newest.
      await signingKeys.rotate(hook.id, "whsec_newer", 1000, 10);
      expect(signingKeys.active(hook.id, 20)).toEqual(["whsec_newer", "whsec_new", "whsec_old"]);
      expect(await signingKeys.clear(hook.id)).toBe(3);
      expect(await signingKeys.clear(hook.id)).toBe(0);
      expect(signingKeys.active(hook.id, 20)).toEqual([]);
    });

    it("with no grace, the previous secret stops signing at once and goes at the rotation", async () => {
      const { records: { hooks, signingKeys } } = await open();
      const { hook } = await hooks.ensure("!r:x", "g", "@u:x");
      await signingKeys.rotate(hook.id, "whsec_1", 0, 100);
      await signingKeys.rotate(hook.id, "whsec_2", 0, 200);
      expect(signingKeys.active(hook.id, 200)).toEqual(["whsec_2"]);
      expect(await signingKeys.clear(hook.id)).toBe(1);
    });

    it("stores secrets sealed; another instance signs with them, and with a rotation after reading again", async () => {
      const { records: { hooks, signingKeys }, other, rawRows } = await open();
      const { hook } = await hooks.ensure("!r:x", "b", "@u:x");
      await signingKeys.rotate(hook.id, "whsec_visible?", 1000, 0);
      for (const row of await rawRows("signing_keys")) expect(holds(row.secret_enc, "whsec_visible?")).toBe(false);
      const b = (await other()).signingKeys;
      expect(b.active(hook.id, 1)).toEqual(["whsec_visible?"]);
      await signingKeys.rotate(hook.id, "whsec_next", 1000, 5);
      await b.reload(hook.id);
      expect(b.active(hook.id, 6)).toEqual(["whsec_next", "whsec_visible?"]);
      await signingKeys.clear(hook.id);
      await b.reload();
      expect(b.active(hook.id, 6)).toEqual([]);
    });
  });

  describe(`HookTlsStore on ${engine}`, () => {
    it("keeps each part sealed, replaces it, and clears them all; another instance reads them", async () => {
      const { records: { hooks, tls }, other, rawRows } = await open();
      const { hook } = await hooks.ensure("!r:x", "a", "@u:x");
      await tls.set(hook.id, "key", PEM, "@u:x");
      await tls.set(hook.id, "ca", "ca-1", "@u:x");
      await tls.set(hook.id, "ca", "ca-2", "@u:x");
      expect(tls.parts(hook.id)).toEqual({ ca: "ca-2", cert: null, key: PEM, passphrase: null });
      const raw = await rawRows("hook_tls");
      expect(raw).toHaveLength(2);
      for (const row of raw) expect(holds(row.pem_enc, "secret-bytes")).toBe(false);
      const b = (await other()).tls;
      expect(b.parts(hook.id).ca).toBe("ca-2");
      await tls.set(hook.id, "cert", "c-1", "@u:x");
      await b.reload(hook.id);
      expect(b.parts(hook.id).cert).toBe("c-1");
      expect(await tls.clear(hook.id)).toBe(3);
      expect(await tls.clear(hook.id)).toBe(0);
      expect(tls.parts(hook.id)).toEqual({ ca: null, cert: null, key: null, passphrase: null });
      await b.reload();
      expect(b.parts(hook.id).ca).toBeNull();
    });
  });
}
