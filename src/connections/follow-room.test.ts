// Two processes on one store file: one applies a room's hook state (it owns the records and tells
// the room), the other follows the room's state read-only (bridge.role worker or inbound).
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { DeliveryQueue } from "../delivery/queue/queue.js";
import { SsrfGuard } from "../egress/ssrf.js";
import type { DirectMessenger } from "../matrix/direct-messenger.js";
import type { MatrixPort, StateEvent } from "../matrix/port.js";
import { createLogger } from "../observability/logger.js";
import { openDatabase, type Db } from "../store/database.js";
import { HookTlsTable } from "../store/hook-tls-table.js";
import { InboundHooksTable } from "../store/inbound-hooks-table.js";
import { OutboundHooksTable } from "../store/outbound-hooks-table.js";
import { SigningKeysTable } from "../store/signing-keys-table.js";
import { HookTls } from "./hook-tls.js";
import { INBOUND_HOOK_EVENT_TYPE } from "./inbound-hook-state.js";
import { InboundHooks } from "./inbound-hooks.js";
import { LastFailures } from "./last-failures.js";
import { OUTBOUND_HOOK_EVENT_TYPE } from "./outbound-hook-state.js";
import { OutboundHooks } from "./outbound-hooks.js";

const BOT = "@webhooks:x";
const ROOM = "!r:x";
const ADMIN = "@admin:x";

/** One process's view: what it writes to the shared file, and what it says in rooms and DMs. */
function processOn(db: Db, key: Buffer) {
  const said: string[] = [];
  const cancelled: string[] = [];
  const matrix = {
    botUserId: BOT,
    roomAuthority: async () => ({ powerLevels: { users: { [ADMIN]: 100 }, state_default: 50 }, privilegedCreators: [] }),
    sendNotice: async (_room: string, text: string) => void said.push(text),
  } as unknown as MatrixPort;
  const messenger = { send: async (_user: string, text: string) => void said.push(`DM: ${text}`) } as unknown as DirectMessenger;
  const log = createLogger("silent");
  const outbound = new OutboundHooks({
    matrix, messenger, log,
    table: new OutboundHooksTable(db, key),
    signingKeys: new SigningKeysTable(db, key),
    queue: { cancelHook: async (lane: string) => (cancelled.push(lane), 0) } as unknown as DeliveryQueue,
    signingKeyGraceMs: 0,
    guard: new SsrfGuard(["127.0.0.1/32"]),
    configuredMinimumLevel: null,
    tls: new HookTls(new HookTlsTable(db, key), new Map()),
    lastFailures: new LastFailures(),
  });
  const inbound = new InboundHooks({
    matrix, messenger, log,
    table: new InboundHooksTable(db, key),
    configuredMinimumLevel: null,
    hookUrl: (secret) => `https://hooks.example/webhook/${secret}`,
    ghostUserId: (id) => `@webhook_${id}:x`,
    importAvatar: async () => "mxc://x/avatar",
    retireGhost: async () => undefined,
  });
  return { outbound, inbound, said, cancelled };
}

const POWER: StateEvent = { type: "m.room.power_levels", state_key: "", sender: ADMIN, content: { users: { [ADMIN]: 100 }, state_default: 50 } };
const hookState = (name: string, content: Record<string, unknown>, sender = ADMIN): StateEvent => ({ type: OUTBOUND_HOOK_EVENT_TYPE, state_key: name, sender, content, event_id: `$${name}${Object.keys(content).length}` });
const inboundState = (name: string, content: Record<string, unknown>): StateEvent => ({ type: INBOUND_HOOK_EVENT_TYPE, state_key: name, sender: ADMIN, content, event_id: `$in${name}` });
const rows = (db: Db) => (db.prepare("SELECT count(*) AS n FROM outbound_hooks").get() as { n: number }).n;

describe("following a room's hooks applied by another process", () => {
  it("takes the hooks the other process accepted, with the same ids, writing and saying nothing", async () => {
    const db = openDatabase(":memory:");
    const key = randomBytes(32);
    const owner = processOn(db, key);
    const follower = processOn(db, key);
    const ci = hookState("ci", { name: "ci", url: "http://127.0.0.1:9/ci", ordering: "strict" });
    await owner.outbound.applyState(ROOM, ci, "live");
    await owner.inbound.applyState(ROOM, inboundState("in", { name: "in" }), "live");
    const written = rows(db);
    await follower.outbound.followRoom(ROOM, [POWER, ci]);
    await follower.inbound.followRoom(ROOM, [POWER, inboundState("in", { name: "in" })]);
    expect(follower.outbound.registry.get(ROOM, "ci")).toMatchObject({ id: owner.outbound.registry.get(ROOM, "ci")!.id, urls: ["http://127.0.0.1:9/ci"], ordering: "strict" });
    expect(follower.inbound.registry.get(ROOM, "in")?.id).toBe(owner.inbound.registry.get(ROOM, "in")!.id);
    expect(rows(db)).toBe(written);
    expect(follower.said).toEqual([]);
  });

  it("leaves out state the other process has not taken up yet, and state from a user without the power", async () => {
    const db = openDatabase(":memory:");
    const key = randomBytes(32);
    const follower = processOn(db, key);
    await follower.outbound.followRoom(ROOM, [POWER, hookState("new", { name: "new", url: "http://127.0.0.1:9/new" })]);
    expect(follower.outbound.registry.forRoom(ROOM)).toEqual([]);
    expect(rows(db)).toBe(0);
    const owner = processOn(db, key);
    await owner.outbound.applyState(ROOM, hookState("ok", { name: "ok", url: "http://127.0.0.1:9/ok" }), "live");
    await follower.outbound.followRoom(ROOM, [POWER, hookState("ok", { name: "ok", url: "http://127.0.0.1:9/other" }, "@member:x")]);
    expect(follower.outbound.registry.forRoom(ROOM)).toEqual([]);
  });

  it("drops hooks removed from the state, cancelling nothing itself (the other process did)", async () => {
    const db = openDatabase(":memory:");
    const key = randomBytes(32);
    const owner = processOn(db, key);
    const follower = processOn(db, key);
    const a = hookState("a", { name: "a", url: "http://127.0.0.1:9/a" });
    const b = hookState("b", { name: "b", url: "http://127.0.0.1:9/b" });
    for (const event of [a, b]) await owner.outbound.applyState(ROOM, event, "live");
    await follower.outbound.followRoom(ROOM, [POWER, a, b]);
    expect(follower.outbound.registry.forRoom(ROOM).map((h) => h.name)).toEqual(["a", "b"]);
    const removed = hookState("b", {});
    await owner.outbound.applyState(ROOM, removed, "live");
    await follower.outbound.followRoom(ROOM, [POWER, a, removed]);
    expect(follower.outbound.registry.forRoom(ROOM).map((h) => h.name)).toEqual(["a"]);
    // The bot left the room: the state cannot be read, and nothing of the room is left.
    await follower.outbound.followRoom(ROOM, []);
    expect(follower.outbound.registry.forRoom(ROOM)).toEqual([]);
    expect(follower.cancelled).toEqual([]);
    expect(owner.cancelled.length).toBeGreaterThan(0);
  });
});
