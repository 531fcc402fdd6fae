import { randomBytes } from "node:crypto";
import { describe, expect, it, vi } from "vitest";
import type { DirectMessenger } from "../matrix/direct-messenger.js";
import type { MatrixPort, StateEvent } from "../matrix/port.js";
import { createLogger } from "../observability/logger.js";
import { openDatabase } from "../store/database.js";
import { InboundHooksTable } from "../store/inbound-hooks-table.js";
import { INBOUND_HOOK_EVENT_TYPE } from "./inbound-hook-state.js";
import { InboundHooks } from "./inbound-hooks.js";

const BOT = "@webhooks:x";
const ROOM = "!r:x";

function setup() {
  const roomState = new Map<string, Record<string, unknown>>();
  const refuseState = new Set<string>();
  const notices: string[] = [];
  const dms: string[] = [];
  const retired: string[] = [];
  const matrix = {
    botUserId: BOT,
    roomAuthority: async () => ({ powerLevels: { users: { "@admin:x": 100 }, state_default: 50 }, privilegedCreators: [] }),
    sendNotice: async (_room: string, text: string) => void notices.push(text),
    // The room's current state content, as the homeserver would answer it.
    stateContent: async (_room: string, _type: string, key: string) => roomState.get(key) ?? null,
    setState: async (_room: string, _type: string, key: string) => {
      if (refuseState.has(key)) throw new Error("M_FORBIDDEN: not allowed");
      return `$state_${key}`;
    },
  } as unknown as MatrixPort;
  const hooks = new InboundHooks({
    matrix,
    table: new InboundHooksTable(openDatabase(":memory:"), randomBytes(32)),
    messenger: { send: async (_user: string, text: string) => void dms.push(text) } as unknown as DirectMessenger,
    configuredMinimumLevel: null,
    hookUrl: (secret) => `https://hooks.example/webhook/${secret}`,
    ghostUserId: (id) => `@webhook_${id}:x`,
    importAvatar: vi.fn(),
    retireGhost: async (hook) => void retired.push(hook.id),
    log: createLogger("silent"),
  });
  const state = (sender: string, name: string, content: Record<string, unknown>): StateEvent => ({ type: INBOUND_HOOK_EVENT_TYPE, state_key: name, sender, content });
  return { hooks, notices, dms, retired, state, roomState, refuseState };
}

describe("InboundHooks", () => {
  it("empties a renamed hook's old state, and tells the room how to when it cannot", async () => {
    const { hooks, notices, refuseState } = setup();
    await hooks.emptyOldName(ROOM, "old", "new");
    expect(notices).toEqual([]);
    refuseState.add("old");
    await hooks.emptyOldName(ROOM, "old", "new");
    expect(notices).toEqual([expect.stringMatching(/^Inbound hook "old" is now "new", but its state under the old name could not be removed \(M_FORBIDDEN: not allowed\)\. Send the state event .* state key "old" and empty content/)]);
  });

  it("builds the bot's writes from the hook as accepted, never from state written without the power", async () => {
    const { hooks, state, roomState } = setup();
    await hooks.applyState(ROOM, state("@admin:x", "ci", { name: "ci", msgtype: "m.text", permissions: { masquerade: false }, waitForComplete: true }), "live");
    const hook = hooks.registry.get(ROOM, "ci")!;
    // A member without the power writes over it: ignored by the bridge, still the room's current state.
    roomState.set("ci", { name: "ci", permissions: { masquerade: true }, transformationFunction: "result = 'x'", waitForComplete: true, hookId: "shown" });
    await hooks.applyState(ROOM, state("@member:x", "ci", roomState.get("ci")!), "live");
    expect(await hooks.contentWith(hook, { avatar: "mxc://x/a" })).toEqual({ name: "ci", msgtype: "m.text", permissions: { masquerade: false }, avatar: "mxc://x/a", waitForComplete: true, hookId: "shown" });
    expect(await hooks.contentWith(hook, { permissions: undefined })).toEqual({ name: "ci", msgtype: "m.text", waitForComplete: true, hookId: "shown" });
  });

  it("activates state set by an admin, and sends the URL by DM only", async () => {
    const { hooks, notices, dms, state } = setup();
    await hooks.applyState(ROOM, state("@admin:x", "ci", { name: "ci", hookId: "public-id" }), "live");
    const secret = /webhook\/([A-Za-z0-9_-]{22})/.exec(dms[0]!)![1]!;
    expect(await hooks.resolve(secret)).toMatchObject({ name: "ci", roomId: ROOM });
    expect(await hooks.resolve("public-id")).toBeNull();
    expect(notices).toEqual([`Inbound hook "ci" active. Its URL was sent to @admin:x in a direct message.`]);
  });

  it("ignores state from users without power, and invalid state", async () => {
    const { hooks, notices, state } = setup();
    await hooks.applyState(ROOM, state("@nobody:x", "ci", { name: "ci" }), "live");
    await hooks.applyState(ROOM, state("@admin:x", "x".repeat(33), { name: "x".repeat(33) }), "live");
    expect(hooks.registry.forRoom(ROOM)).toEqual([]);
    expect(notices[0]).toMatch(/needs power level 50 \(they have 0\)/);
    expect(notices[1]).toMatch(/33 characters long/);
  });

  it("renames keeping id and URL, expires, and removes (Hookshot's {disabled: true} too)", async () => {
    const { hooks, retired, state } = setup();
    const secret = await hooks.prepare(ROOM, "ci", "@admin:x");
    await hooks.applyState(ROOM, state(BOT, "ci", { name: "ci" }), "live");
    const hook = (await hooks.resolve(secret))!;
    expect(await hooks.rename(hook, "deploy")).toBe(true);
    await hooks.applyState(ROOM, state(BOT, "deploy", { name: "deploy", expirationDate: "2030-01-01T00:00:00Z" }), "live");
    await hooks.applyState(ROOM, state(BOT, "ci", {}), "live");
    expect(await hooks.resolve(secret, Date.parse("2029-12-31T00:00:00Z"))).toMatchObject({ id: hook.id, name: "deploy" });
    expect(await hooks.resolve(secret, Date.parse("2030-01-02T00:00:00Z"))).toBeNull();
    await hooks.applyState(ROOM, state(BOT, "deploy", { disabled: true }), "live");
    expect(await hooks.resolve(secret, 0)).toBeNull();
    expect(retired).toEqual([hook.id]);
  });
  it("while its room loads at start, a request to a stored hook waits for it instead of finding nothing", async () => {
    const { hooks, state } = setup();
    const secret = await hooks.prepare(ROOM, "ci", "@admin:x");
    let loaded!: () => void;
    const roomLoad = new Promise<void>((resolve) => (loaded = resolve));
    hooks.waitForRooms((roomId) => (roomId === ROOM ? roomLoad : null));
    const pending = hooks.resolve(secret);
    expect(pending).toBeInstanceOf(Promise);
    // The room's state is applied while the request waits (as the start-up load does).
    await hooks.applyState(ROOM, state(BOT, "ci", { name: "ci" }), "startup");
    loaded();
    expect(await pending).toMatchObject({ name: "ci", roomId: ROOM });
    // An unknown secret does not wait.
    expect(await hooks.resolve("x".repeat(43))).toBeNull();
  });
});
