// The store is asynchronous (PostgreSQL): a room's steps that read it and change the registry must
// not overtake each other. The store here answers what it read at once, but holds the answer back
// when told to, as a slow connection would.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { DirectMessenger } from "../matrix/direct-messenger.js";
import type { MatrixPort, StateEvent } from "../matrix/port.js";
import { createLogger } from "../observability/logger.js";
import { AcceptedHooksTable } from "../store/accepted-hooks-table.js";
import { openDatabase, type Db } from "../store/database.js";
import { InboundHooksTable, type InboundHooksStore } from "../store/inbound-hooks-table.js";
import { HeldStore } from "./held-store-fixture.js";
import { INBOUND_HOOK_EVENT_TYPE } from "./inbound-hook-state.js";
import { InboundHooks } from "./inbound-hooks.js";

const BOT = "@webhooks:x";
const ROOM = "!r:x";
const ADMIN = "@admin:x";

function processOn(db: Db, key: Buffer, table: InboundHooksStore = new InboundHooksTable(db, key)): InboundHooks {
  const matrix = {
    botUserId: BOT,
    roomAuthority: async () => ({ powerLevels: { users: { [ADMIN]: 100 }, state_default: 50 }, privilegedCreators: [] }),
    sendNotice: async () => undefined,
  } as unknown as MatrixPort;
  return new InboundHooks({
    matrix,
    messenger: { send: async () => undefined } as unknown as DirectMessenger,
    log: createLogger("silent"),
    accepted: new AcceptedHooksTable(db),
    table,
    configuredMinimumLevel: null,
    hookUrl: (secret) => `https://hooks.example/webhook/${secret}`,
    ghostUserId: (id) => `@webhook_${id}:x`,
    importAvatar: async () => "mxc://x/avatar",
    retireGhost: async () => undefined,
  });
}

const inboundState = (name: string, content: Record<string, unknown>): StateEvent => ({ type: INBOUND_HOOK_EVENT_TYPE, state_key: name, sender: ADMIN, content, event_id: `$${name}${JSON.stringify(content).length}` });

function twoProcesses() {
  const db = openDatabase(":memory:");
  const key = randomBytes(32);
  const owner = processOn(db, key);
  const held = new HeldStore(new InboundHooksTable(db, key));
  const follower = processOn(db, key, held.store());
  return { owner, follower, held };
}

describe("InboundHooks with a slow store: each room's steps in order", () => {
  it("a follow whose store read was overtaken by a removal does not put the hook back", async () => {
    const { owner, follower, held } = twoProcesses();
    await owner.applyState(ROOM, inboundState("ci", { name: "ci" }), "live");
    const heldNow = held.hold("forRoom");
    const first = follower.followRoom(ROOM);
    await heldNow; // it read the hook's record, and its answer is on the way
    await owner.applyState(ROOM, inboundState("ci", {}), "live");
    const second = follower.followRoom(ROOM);
    held.release();
    await Promise.all([first, second]);
    expect(follower.registry.forRoom(ROOM)).toEqual([]);
  });

  it("a follow asked while another waits joins it; one asked while one runs reads again", async () => {
    const { owner, follower, held } = twoProcesses();
    await owner.applyState(ROOM, inboundState("ci", { name: "ci" }), "live");
    const heldNow = held.hold("forRoom");
    const running = follower.followRoom(ROOM);
    await heldNow;
    const waiting = follower.followRoom(ROOM);
    expect(follower.followRoom(ROOM)).toBe(waiting);
    expect(follower.followRoom(ROOM)).toBe(waiting);
    held.release();
    await Promise.all([running, waiting]);
    expect(held.calls.get("forRoom")).toBe(2);
    expect(follower.registry.get(ROOM, "ci")?.id).toBe(owner.registry.get(ROOM, "ci")!.id);
  });

  it("state applied while a follow's read is on its way wins over what the follow read", async () => {
    const { owner, follower, held } = twoProcesses();
    await owner.applyState(ROOM, inboundState("ci", { name: "ci", msgtype: "m.notice" }), "live");
    const heldNow = held.hold("forRoom");
    const following = follower.followRoom(ROOM);
    await heldNow;
    // This process (an appservice process beside others) receives the room's next state itself.
    const applying = follower.applyState(ROOM, inboundState("ci", { name: "ci", msgtype: "m.text" }), "live");
    await new Promise((resolve) => setTimeout(resolve, 20)); // time for it to reach its store step
    held.release();
    await Promise.all([following, applying]);
    expect(follower.registry.get(ROOM, "ci")?.msgtype).toBe("m.text");
  });

  it("a room left while a follow's read is on its way stays without hooks", async () => {
    const { owner, follower, held } = twoProcesses();
    await owner.applyState(ROOM, inboundState("ci", { name: "ci" }), "live");
    const heldNow = held.hold("forRoom");
    const following = follower.followRoom(ROOM);
    await heldNow;
    follower.forgetRoom(ROOM);
    held.release();
    await following;
    await new Promise((resolve) => setImmediate(resolve)); // the drop queued after it
    expect(follower.registry.forRoom(ROOM)).toEqual([]);
  });

  it("a removal racing a rename of the same hook leaves neither in the registry nor the store", async () => {
    const { follower, held } = twoProcesses();
    await follower.applyState(ROOM, inboundState("ci", { name: "ci" }), "live");
    const hook = follower.registry.get(ROOM, "ci")!;
    const heldNow = held.hold("rename");
    const renaming = follower.rename(hook, "deploy");
    await heldNow;
    const removing = follower.remove(ROOM, "deploy");
    held.release();
    expect(await renaming).toBe(true);
    expect(await removing).toBe(true);
    expect(follower.registry.forRoom(ROOM)).toEqual([]);
    expect(await held.inner.forRoom(ROOM)).toEqual([]);
  });
});
