// The pre-send Synapse module end to end: the shared Synapse loads it (global setup); a stand-in on the
// bridge's port answers its questions. No bridge runs here.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { startSynapse } from "../src/demo/synapse.js";
import { MatrixApiError, type MatrixEvent, type TestClient } from "../src/demo/test-client.js";
import { PRECHECK_PATH, PrecheckStandIn, verdict } from "./harness/precheck-bridge.js";
import { registerUser, uniqueName } from "./harness/users.js";

const HOOK_TYPE = "uk.half-shot.matrix-hookshot.outbound-hook";
const GATE = { name: "gate", url: "https://example.invalid/x", format: "tencent", phase: "before" };
const { bridgePort, precheckSecret, precheckRejectPolicyType, dataDir } = inject("synapse");

let bridge: PrecheckStandIn;
let alice: TestClient;
let bob: TestClient;
let gated: string;
let gateEventId: string;

beforeAll(async () => {
  bridge = await PrecheckStandIn.listen(bridgePort, precheckSecret);
  alice = (await registerUser(uniqueName("alice"))).client;
  bob = (await registerUser(uniqueName("bob"))).client;
  gated = await alice.createRoom({ invite: [bob.userId], name: "gated" });
  await bob.join(gated);
  gateEventId = await alice.sendStateEvent(gated, HOOK_TYPE, "gate", GATE);
});

afterAll(async () => {
  await bridge?.close();
});

const text = (body: string) => ({ msgtype: "m.text", body });

/** The send's error: it must fail. */
async function refused(send: Promise<unknown>): Promise<MatrixApiError> {
  const err = await send.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MatrixApiError);
  return err as MatrixApiError;
}

/** Bob never sees an event with this body: checked after a later message reached him, in /messages and /sync. */
async function bobNeverSees(roomId: string, body: string): Promise<void> {
  bridge.respondWith(() => verdict({ verdict: "allow" }));
  const marker = await alice.sendMessage(roomId, uniqueName("marker"));
  await bob.waitForEvent(roomId, (e) => e.event_id === marker);
  const bodies = (events: MatrixEvent[]) => events.map((e) => e.content?.body);
  expect(bodies((await bob.messages(roomId, { limit: 100 })).chunk)).not.toContain(body);
  const filter = JSON.stringify({ room: { rooms: [roomId], timeline: { limit: 100 } }, presence: { types: [] } });
  const sync = await bob.request<{ rooms?: { join?: Record<string, { timeline: { events: MatrixEvent[] } }> } }>(
    "GET",
    "/_matrix/client/v3/sync",
    undefined,
    { query: { filter, timeout: 0 } },
  );
  const timeline = sync.rooms?.join?.[roomId]?.timeline.events ?? [];
  expect(timeline.some((e) => e.event_id === marker)).toBe(true); // the sync did cover the room
  expect(bodies(timeline)).not.toContain(body);
}

const synapseLog = () => readFile(join(dataDir, "homeserver.log"), "utf8");

describe("the pre-send module on a real Synapse", () => {
  it("allow: asks the bridge once, with the secret and the event as built, and the message is delivered", async () => {
    bridge.respondWith(() => verdict({ verdict: "allow" }));
    const before = bridge.about(gated).length;
    const eventId = await alice.sendMessage(gated, "hello, gate");
    const seen = await bob.waitForEvent(gated, (e) => e.event_id === eventId);
    expect(seen.content).toEqual(text("hello, gate"));

    const asked = bridge.about(gated).slice(before);
    expect(asked).toHaveLength(1);
    const req = asked[0]!;
    expect(req.method).toBe("POST");
    expect(req.path).toBe(PRECHECK_PATH);
    expect(req.headers.authorization).toBe(`Bearer ${precheckSecret}`);
    expect(req.headers["content-type"]).toBe("application/json");
    expect(req.body).toEqual({
      event: { event_id: eventId, room_id: gated, sender: alice.userId, type: "m.room.message", content: text("hello, gate"), origin_server_ts: seen.origin_server_ts },
    });
  });

  it("reject: the sender's send fails with the bridge's reason, and no other member ever sees it", async () => {
    bridge.respondWith(() => verdict({ verdict: "reject", reason: "No links to that site, please" }));
    const before = bridge.about(gated).length;
    const err = await refused(alice.sendMessage(gated, "see evil.example"));
    expect(err.status).toBe(403);
    expect(err.errcode).toBe("M_FORBIDDEN");
    expect(JSON.parse(err.body).error).toBe("No links to that site, please");
    expect(bridge.about(gated).length - before).toBe(1); // asked once, by check_event_allowed only
    await bobNeverSees(gated, "see evil.example");
  });

  it("drop: Synapse offers no silent drop to modules, so the sender is refused with the reason and nobody sees it", async () => {
    bridge.respondWith(() => verdict({ verdict: "drop", reason: "dropped quietly" }));
    const err = await refused(alice.sendMessage(gated, "drop me"));
    expect(err.status).toBe(403);
    expect(JSON.parse(err.body).error).toBe("dropped quietly");
    await bobNeverSees(gated, "drop me");
  });

  it("rewrite: others receive the new content; room, sender, type and origin_server_ts stay", async () => {
    const replacement = { msgtype: "m.text", body: "I said something ***" };
    bridge.respondWith(() => verdict({ verdict: "rewrite", content: replacement }));
    const before = bridge.about(gated).length;
    const eventId = await alice.sendMessage(gated, "I said something rude");
    const seen = await bob.waitForEvent(gated, (e) => e.event_id === eventId);
    expect(seen.content).toEqual(replacement);
    expect(seen.sender).toBe(alice.userId);
    expect(seen.type).toBe("m.room.message");

    const asked = bridge.about(gated).slice(before);
    expect(asked).toHaveLength(1);
    expect(asked[0]!.body.event.origin_server_ts).toBe(seen.origin_server_ts);
    expect(asked[0]!.body.event.event_id).not.toBe(eventId); // a new event was built
    await bobNeverSees(gated, "I said something rude");
  });

  it("a connection closed before any answer (an idle keep-alive closed by the bridge) is tried once more", async () => {
    const before = bridge.about(gated).length;
    bridge.respondWith((req) => (bridge.about(gated).length === before + 1 ? "close" : verdict({ verdict: "reject", reason: "second try" })));
    const err = await refused(alice.sendMessage(gated, "asked twice"));
    expect(JSON.parse(err.body).error).toBe("second try");
    const asked = bridge.about(gated).slice(before);
    expect(asked.map((r) => r.body.event.event_id)).toEqual([asked[0]!.body.event.event_id, asked[0]!.body.event.event_id]);
  });

  it("stickers are asked about too (the default event types)", async () => {
    bridge.respondWith(() => verdict({ verdict: "reject", reason: "no stickers" }));
    const err = await refused(alice.sendEvent(gated, "m.sticker", { body: "cat", url: "mxc://localhost/cat", info: {} }));
    expect(JSON.parse(err.body).error).toBe("no stickers");
  });

  it("a bridge that hangs: after the module's timeout the message passes (on_bridge_failure: allow)", async () => {
    bridge.respondWith(() => "hang");
    const before = bridge.about(gated).length;
    const eventId = await alice.sendMessage(gated, "through after the deadline");
    expect((await bob.waitForEvent(gated, (e) => e.event_id === eventId)).content).toEqual(text("through after the deadline"));
    expect(bridge.about(gated).length - before).toBe(1);
    expect(await synapseLog()).toContain(`before-send check of ${bridge.about(gated).at(-1)!.body.event.event_id} in ${gated}: bridge failure (no answer within 5 s); on_bridge_failure=allow`);
  });

  it("a bridge that hangs, with on_bridge_failure: reject (the second module instance's event type): refused", async () => {
    bridge.respondWith(() => "hang");
    const before = bridge.about(gated).length;
    const err = await refused(alice.sendEvent(gated, precheckRejectPolicyType, { body: "held back" }));
    expect(err.status).toBe(403);
    expect(JSON.parse(err.body).error).toMatch(/message check is unavailable/);
    expect(bridge.about(gated).slice(before).map((r) => r.body.event.type)).toEqual([precheckRejectPolicyType]);
    await bobNeverSees(gated, "held back");
  });

  it("a bridge with another secret answers 401: the policy applies, a warning is logged, the secret never is", async () => {
    bridge.secret = "not-the-modules-secret";
    try {
      const before = bridge.about(gated).length;
      const eventId = await alice.sendMessage(gated, "sent despite the 401");
      await bob.waitForEvent(gated, (e) => e.event_id === eventId);
      const req = bridge.about(gated)[before]!;
      expect(req.headers.authorization).toBe(`Bearer ${precheckSecret}`);
      const log = await synapseLog();
      expect(log).toContain(`before-send check of ${req.body.event.event_id} in ${gated}: bridge failure (HTTP status 401, not 200); on_bridge_failure=allow`);
      expect(log).not.toContain(precheckSecret);
    } finally {
      bridge.secret = precheckSecret;
    }
  });

  it("an answer that is not a verdict is a bridge failure too", async () => {
    bridge.respondWith(() => verdict({ verdict: "maybe" }));
    const eventId = await alice.sendMessage(gated, "unknown verdict");
    await bob.waitForEvent(gated, (e) => e.event_id === eventId);
    expect(await synapseLog()).toContain("bridge failure (unknown verdict 'maybe')");
  });

  it("never asks about other event types, rooms without a before-hook, or after-hooks", async () => {
    bridge.respondWith(() => verdict({ verdict: "reject", reason: "must not be asked" }));
    const open = await alice.createRoom({ invite: [bob.userId] });
    await bob.join(open);
    const after = await alice.createRoom();
    await alice.sendStateEvent(after, HOOK_TYPE, "follow", { ...GATE, name: "follow", phase: "after" });
    const removed = await alice.createRoom();
    await alice.sendStateEvent(removed, HOOK_TYPE, "gate", GATE);
    await alice.sendStateEvent(removed, HOOK_TYPE, "gate", {}); // empty content removes the hook

    const before = bridge.requests.length;
    await alice.sendMessage(open, "no hook here");
    await alice.sendMessage(after, "after-hook only");
    await alice.sendMessage(removed, "hook removed");
    await alice.sendEvent(gated, "m.reaction", { "m.relates_to": { rel_type: "m.annotation", event_id: gateEventId, key: "👍" } });
    await alice.sendStateEvent(gated, "m.room.topic", "", { topic: "state is not asked about" });
    await bob.sendMessage(open, "nor here");
    expect(bridge.requests.length).toBe(before);
  });

  it("an invalid module config: Synapse refuses to start and says which key is wrong", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mwb-precheck-config-"));
    try {
      const start = startSynapse({
        dataDir: dir,
        pythonPath: [fileURLToPath(new URL("../synapse-module", import.meta.url))],
        modules: [{ module: "matrix_webhook_bridge_precheck.PrecheckModule", config: { bridge_url: "http://127.0.0.1:1", secret: "x", timeout_seconds: 0 } }],
      });
      const err = await start.then(
        () => null,
        (e: Error) => e,
      );
      expect(err?.message).toMatch(/Synapse exited during startup/);
      expect(err?.message).toContain("timeout_seconds must be a number in (0, 30]");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
