import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { openDatabase } from "./database.js";
import { isInboundSecretShape } from "./inbound-hook-secret.js";
import { InboundHooksTable } from "./inbound-hooks-table.js";

describe("InboundHooksTable", () => {
  const db = openDatabase(":memory:");
  const table = new InboundHooksTable(db, randomBytes(32));

  it("creates a 128-bit URL secret once and finds the hook by it; the store keeps only a hash", () => {
    const { hook, newSecret } = table.ensure("!r:x", "ci", "@a:x");
    expect(newSecret && isInboundSecretShape(newSecret)).toBe(true);
    expect(Buffer.from(newSecret!, "base64url")).toHaveLength(16);
    expect(hook.id).toMatch(/^ih_[0-9a-f]{16}$/);
    expect(table.ensure("!r:x", "ci", "@a:x").newSecret).toBeUndefined();
    expect(table.bySecret(newSecret!)?.id).toBe(hook.id);
    const dump = JSON.stringify(db.prepare("SELECT * FROM inbound_hooks").all());
    expect(dump).not.toContain(newSecret);
  });

  it("rotates (old secret dead), renames (same id) and removes", () => {
    const { hook, newSecret: old } = table.ensure("!r:x", "deploy", "@a:x");
    const fresh = table.rotate(hook.id);
    expect(table.bySecret(old!)).toBeNull();
    expect(table.bySecret(fresh)?.id).toBe(hook.id);
    expect(table.rename(hook.id, "ci")).toBe(false);
    expect(table.rename(hook.id, "release")).toBe(true);
    expect(table.find("!r:x", "release")?.id).toBe(hook.id);
    table.remove(hook.id);
    expect(table.bySecret(fresh)).toBeNull();
  });

  it("keeps the GitHub secret sealed", () => {
    const { hook } = table.ensure("!r:x", "gh", "@a:x");
    expect(table.githubSecret(hook.id)).toBeNull();
    table.setGithubSecret(hook.id, "gh-secret-value");
    expect(new InboundHooksTable(db, (table as unknown as { key: Buffer }).key).githubSecret(hook.id)).toBe("gh-secret-value");
    const raw = db.prepare("SELECT github_secret_enc FROM inbound_hooks WHERE id = ?").get(hook.id) as { github_secret_enc: Buffer };
    expect(raw.github_secret_enc.includes(Buffer.from("gh-secret-value"))).toBe(false);
    expect(table.byId(hook.id)?.hasGithubSecret).toBe(true);
  });
});

describe("InboundHooksTable shared by processes (bridge.role)", () => {
  it("announces a GitHub secret change, and another process reads it again once told", () => {
    const db = openDatabase(":memory:");
    const key = randomBytes(32);
    const changed: string[] = [];
    const a = new InboundHooksTable(db, key, (id) => changed.push(id));
    const b = new InboundHooksTable(db, key);
    const { hook } = a.ensure("!r:x", "gh", "@u:x");
    expect(b.githubSecret(hook.id)).toBeNull();
    a.setGithubSecret(hook.id, "s3cret");
    expect(changed).toEqual([hook.id]);
    expect(b.githubSecret(hook.id)).toBeNull();
    b.forgetCached(hook.id);
    expect(b.githubSecret(hook.id)).toBe("s3cret");
    a.setGithubSecret(hook.id, null);
    b.forgetAllCached();
    expect(b.githubSecret(hook.id)).toBeNull();
  });
});
