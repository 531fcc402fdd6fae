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
import { AcceptedHooksTable } from "../store/accepted-hooks-table.js";
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
  const accepted = new AcceptedHooksTable(db);
  const outbound = new OutboundHooks({
    accepted,
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
    matrix, messenger, log, accepted,
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
    await owner.outbound.applyState(ROOM, hookState("ci", { name: "ci", url: "http://127.0.0.1:9/ci", ordering: "strict" }), "live");
    await owner.inbound.applyState(ROOM, inboundState("in", { name: "in" }), "live");
    const written = rows(db);
    await follower.outbound.followRoom(ROOM);
    await follower.inbound.followRoom(ROOM);
    expect(follower.outbound.registry.get(ROOM, "ci")).toMatchObject({ id: owner.outbound.registry.get(ROOM, "ci")!.id, urls: ["http://127.0.0.1:9/ci"], ordering: "strict", stateEventId: "$ci3" });
    expect(follower.inbound.registry.get(ROOM, "in")?.id).toBe(owner.inbound.registry.get(ROOM, "in")!.id);
    expect(rows(db)).toBe(written);
    expect(follower.said).toEqual([]);
  });

  it("keeps what the other process kept when it ignored an update (invalid, or from a user without the power)", async () => {
    const db = openDatabase(":memory:");
    const key = randomBytes(32);
    const owner = processOn(db, key);
    const follower = processOn(db, key);
    await owner.outbound.applyState(ROOM, hookState("ci", { name: "ci", url: "http://127.0.0.1:9/ci" }), "live");
    await owner.outbound.applyState(ROOM, hookState("ci", { name: "ci", url: "not a url" }), "live");
    await owner.outbound.applyState(ROOM, hookState("ci", { name: "ci", url: "http://127.0.0.1:9/member" }, "@member:x"), "live");
    expect(owner.said.filter((text) => text.startsWith("Ignored"))).toHaveLength(2);
    await follower.outbound.followRoom(ROOM);
    expect(follower.outbound.registry.get(ROOM, "ci")?.urls).toEqual(["http://127.0.0.1:9/ci"]);
    expect(follower.outbound.registry.get(ROOM, "ci")?.id).toBe(owner.outbound.registry.get(ROOM, "ci")!.id);
  });

  it("drops hooks the other process removed, or all of a room it left, cancelling nothing itself (the other process did)", async () => {
    const db = openDatabase(":memory:");
    const key = randomBytes(32);
    const owner = processOn(db, key);
    const follower = processOn(db, key);
    for (const name of ["a", "b"]) await owner.outbound.applyState(ROOM, hookState(name, { name, url: `http://127.0.0.1:9/${name}` }), "live");
    await follower.outbound.followRoom(ROOM);
    expect(follower.outbound.registry.forRoom(ROOM).map((h) => h.name)).toEqual(["a", "b"]);
    await owner.outbound.applyState(ROOM, hookState("b", {}), "live");
    await follower.outbound.followRoom(ROOM);
    expect(follower.outbound.registry.forRoom(ROOM).map((h) => h.name)).toEqual(["a"]);
    await owner.outbound.forgetRoom(ROOM);
    await follower.outbound.followRoom(ROOM);
    expect(follower.outbound.registry.forRoom(ROOM)).toEqual([]);
    expect(follower.cancelled).toEqual([]);
    expect(owner.cancelled.length).toBeGreaterThan(0);
  });

  it("forgets, at the other process's next load of the room, a hook it no longer accepts (its sender lost the power meanwhile)", async () => {
    const db = openDatabase(":memory:");
    const key = randomBytes(32);
    const owner = processOn(db, key);
    const follower = processOn(db, key);
    const ci = hookState("ci", { name: "ci", url: "http://127.0.0.1:9/ci" }, "@former:x");
    const before: StateEvent = { ...POWER, content: { users: { [ADMIN]: 100, "@former:x": 50 }, state_default: 50 } };
    await owner.outbound.loadRoom(ROOM, [before, ci], "startup");
    await follower.outbound.followRoom(ROOM);
    expect(follower.outbound.registry.forRoom(ROOM).map((h) => h.name)).toEqual(["ci"]);
    const restarted = processOn(db, key);
    await restarted.outbound.loadRoom(ROOM, [POWER, ci], "startup");
    await follower.outbound.followRoom(ROOM);
    expect(follower.outbound.registry.forRoom(ROOM)).toEqual([]);
  });
});
