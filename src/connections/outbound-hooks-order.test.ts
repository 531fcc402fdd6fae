// The accepted state is asynchronous (PostgreSQL): a room's steps that read or write it and
// change the outbound registry must not overtake each other.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { DeliveryQueue } from "../delivery/queue/queue.js";
import { SsrfGuard } from "../egress/ssrf.js";
import type { DirectMessenger } from "../matrix/direct-messenger.js";
import type { MatrixPort, StateEvent } from "../matrix/port.js";
import { createLogger } from "../observability/logger.js";
import { AcceptedHooksTable, type AcceptedHooksStore } from "../store/accepted-hooks-table.js";
import { openDatabase, type Db } from "../store/database.js";
import { HookTlsTable } from "../store/hook-tls-table.js";
import { OutboundHooksTable } from "../store/outbound-hooks-table.js";
import { SigningKeysTable } from "../store/signing-keys-table.js";
import { HeldStore } from "./held-store-fixture.js";
import { HookTls } from "./hook-tls.js";
import { LastFailures } from "./last-failures.js";
import { OUTBOUND_HOOK_EVENT_TYPE } from "./outbound-hook-state.js";
import { OutboundHooks } from "./outbound-hooks.js";

const ROOM = "!r:x";
const ADMIN = "@admin:x";

function processOn(db: Db, key: Buffer, accepted: AcceptedHooksStore): OutboundHooks {
  const matrix = {
    botUserId: "@webhooks:x",
    roomAuthority: async () => ({ powerLevels: { users: { [ADMIN]: 100 }, state_default: 50 }, privilegedCreators: [] }),
    sendNotice: async () => undefined,
  } as unknown as MatrixPort;
  return new OutboundHooks({
    accepted,
    matrix,
    messenger: { send: async () => undefined } as unknown as DirectMessenger,
    log: createLogger("silent"),
    table: new OutboundHooksTable(db, key),
    signingKeys: new SigningKeysTable(db, key),
    queue: { cancelHook: async () => 0 } as unknown as DeliveryQueue,
    signingKeyGraceMs: 0,
    guard: new SsrfGuard(["127.0.0.1/32"]),
    configuredMinimumLevel: null,
    tls: new HookTls(new HookTlsTable(db, key), new Map()),
    lastFailures: new LastFailures(),
  });
}

const hookState = (url: string): StateEvent => ({ type: OUTBOUND_HOOK_EVENT_TYPE, state_key: "ci", sender: ADMIN, content: { name: "ci", url }, event_id: `$${url}` });

/** Two appservice processes on one store; the second's reads of the accepted state can be held. */
function twoProcesses() {
  const db = openDatabase(":memory:");
  const key = randomBytes(32);
  const owner = processOn(db, key, new AcceptedHooksTable(db));
  const held = new HeldStore<AcceptedHooksStore>(new AcceptedHooksTable(db));
  const follower = processOn(db, key, held.store());
  return { owner, follower, held };
}

describe("OutboundHooks with a slow accepted state: each room's steps in order", () => {
  it("state applied while a follow's read is on its way wins over what the follow read", async () => {
    const { owner, follower, held } = twoProcesses();
    await owner.applyState(ROOM, hookState("http://127.0.0.1:9/old"), "live");
    const heldNow = held.hold("forRoom");
    const following = follower.followRoom(ROOM);
    await heldNow;
    // This process receives the room's next state itself.
    const applying = follower.applyState(ROOM, hookState("http://127.0.0.1:9/new"), "live");
    await new Promise((resolve) => setTimeout(resolve, 20)); // time for it to reach its store step
    held.release();
    await Promise.all([following, applying]);
    expect(follower.registry.get(ROOM, "ci")?.urls).toEqual(["http://127.0.0.1:9/new"]);
  });

  it("a room left while a follow's read is on its way stays without hooks", async () => {
    const { owner, follower, held } = twoProcesses();
    await owner.applyState(ROOM, hookState("http://127.0.0.1:9/ci"), "live");
    const heldNow = held.hold("forRoom");
    const following = follower.followRoom(ROOM);
    await heldNow;
    const leaving = follower.forgetRoom(ROOM);
    held.release();
    await Promise.all([following, leaving]);
    expect(follower.registry.forRoom(ROOM)).toEqual([]);
    expect(await held.inner.forRoom(ROOM)).toEqual([]);
  });
});
